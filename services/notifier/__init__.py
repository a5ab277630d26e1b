"""The notifier service.

Reminders dispatched over email, SMS and letters, with proof and without double sends.
"""
