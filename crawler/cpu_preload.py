"""Imported by multiprocessing's fork server only (crawler.resources names it): loads what the
crawl's CPU workers need before the server forks them. Importing it anywhere else would load the
tagger and jieba into that process for nothing."""

from crawler.cpu_worker import preload

preload()
