"""Electronic registered letters through AR24: client, crypto, tracking."""
