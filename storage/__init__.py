"""Storage: the SQLAlchemy schema, sessions and Alembic migrations. Imports nothing from the crawler or web app."""
