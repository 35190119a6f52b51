"""Scrapy spiders. `scrapy list` finds them through crawler.settings.SPIDER_MODULES."""
