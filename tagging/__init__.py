"""Tagging: regions, industry chains, relevance and events from article text. Knows nothing of Scrapy."""

from .analyzer import Analysis, ChainTag, EventTag, RegionTag, Tagger

__all__ = ["Analysis", "ChainTag", "EventTag", "RegionTag", "Tagger"]
