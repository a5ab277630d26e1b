"""The interactive email and the customer's page (until the portal is a service of its own)."""
