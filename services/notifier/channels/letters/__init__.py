"""Postal and registered letters: the letter's PDF, and the print room's file drop."""
