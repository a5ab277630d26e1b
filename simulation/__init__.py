"""A synthetic ERP history and a simulated-time run of Relance: the demo and the system test."""
