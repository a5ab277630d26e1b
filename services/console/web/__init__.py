"""The console's pages: FastAPI routes rendering Jinja2 templates over the read model."""
