"""Phone reminders: call tasks for collectors."""
