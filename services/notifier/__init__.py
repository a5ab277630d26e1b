"""The notifier service: reminders dispatched over email, SMS and letters, with proof and without double sends."""
