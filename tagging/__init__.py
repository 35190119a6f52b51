"""Tagging: regions, industry chains, relevance and events from article text. Knows nothing of Scrapy."""
