"""Pure rules of the notifier: penalties, statements of open items, delivery decisions."""
