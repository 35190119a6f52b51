"""The web app (FastAPI + Jinja2) over the same core functions as the CLI."""
