"""Postal and registered letters through Maileva, and their tracking."""
