"""Composing reminders: templates, the composer, MIME messages and the PDF statement."""
