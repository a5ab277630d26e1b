"""SMS through Twilio, and Twilio's signed status callbacks."""
