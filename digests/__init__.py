"""Weekly digests: build (query) -> render (Jinja2) -> deliver (SMTP or outbox) -> record."""
