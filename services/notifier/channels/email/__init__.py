"""Email over SMTP, and the bounces (delivery status notifications) mail systems post back."""
