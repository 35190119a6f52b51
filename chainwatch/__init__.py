"""chainwatch: the core functions that the CLI, the web app, the scheduler and the spiders share."""
