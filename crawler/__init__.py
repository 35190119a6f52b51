"""The Scrapy project: settings, items, extraction, middlewares and pipelines."""
