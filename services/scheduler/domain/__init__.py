"""Pure scheduling rules: scenarios, assignment, business calendars and step progress."""
