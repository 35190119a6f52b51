"""Scrapy settings for chainwatch.

``chainwatch crawl`` overrides the CHAINWATCH_* and politeness values from the
user's configuration (chainwatch.crawling.scrapy_settings); ``scrapy crawl news``
from the repository root uses these defaults and reads the same configuration
file and environment in the components that need it.
"""

BOT_NAME = "chainwatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# Resolved addresses are checked again at connection time (DNS rebinding): crawler/resolver.py
TWISTED_DNS_RESOLVER = "crawler.resolver.GuardedResolver"

# Politeness
ROBOTSTXT_OBEY = True
USER_AGENT = "chainwatch/0.1 (+admin@example.org; regional industrial-policy news monitor)"
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# Limits: a hung or endless page, a gzip bomb or a 200 MB page cannot stall or swamp a crawl.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Exponential backoff between retries (crawler.middlewares.BackoffRetryMiddleware); Retry-After wins.
CHAINWATCH_RETRY_BACKOFF_BASE = 1.0
CHAINWATCH_RETRY_BACKOFF_MAX = 60.0

# Scrapy 2.19 opens a remote-control endpoint and a telnet console by default; chainwatch needs neither.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

COOKIES_ENABLED = False
# Items processed at once per response. Scrapy (2.13+) starts this many asyncio tasks for every
# response whose callback returns anything and keeps them all until the response's last item has
# gone through the pipelines; with the default 100, an article (one item) cost 100 tasks, ~1 ms of
# CPU to create, and ~280 articles waiting in the pipelines kept ~28,000 finished tasks alive for
# the garbage collector to walk (full collections: 2.0 s per 1,000 pages, 0.9 s with 4). Callbacks
# yield one item at most (articles); requests are scheduled synchronously, whatever this value.
CONCURRENT_ITEMS = 4
# Conditional requests through Scrapy's HTTP cache (crawler.httpcache): feeds, sitemaps and listing pages.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "crawler.httpcache.EntryPagePolicy"
HTTPCACHE_STORAGE = "crawler.httpcache.SharedFilesystemCacheStorage"
HTTPCACHE_DIR = "httpcache"  # chainwatch crawl puts it under CHAINWATCH_HOME/cache
HTTPCACHE_EXPIRATION_SECS = 0
HTTPCACHE_GZIP = True
HTTPCACHE_IGNORE_HTTP_CODES = [301, 302, 303, 307, 308, 404, 410, 429, 500, 502, 503, 504]
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
# chainwatch configures logging itself; Scrapy must not add a second root handler.
LOG_INSTALL_ROOT_HANDLER = False
# Pages that are not articles (PDFs, empty pages) are expected and recorded in url_states: not warnings.
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.NetGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.LoopAwareRedirectMiddleware": 600,
}

ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 100,
    "crawler.pipelines.AnalyzePipeline": 200,
    "crawler.pipelines.StorePipeline": 300,
}

EXTENSIONS = {
    "crawler.extensions.CrawlRunRecorder": 100,
    "crawler.extensions.ProgressReporter": 200,
}

# chainwatch's own settings; None means "read the chainwatch configuration" (config file + environment).
CHAINWATCH_DATABASE_URL = None
CHAINWATCH_ALLOW_PRIVATE_NETWORKS = None
CHAINWATCH_PROGRESS = False          # print progress lines to stderr (chainwatch crawl turns it on)
CHAINWATCH_PROGRESS_INTERVAL = 5.0
CHAINWATCH_MAX_PAGES = 20            # listing pages per section when a source sets none
CHAINWATCH_RETRY_BUDGET = 3          # crawls that may retry a transiently failing page
CHAINWATCH_TAGGING = True            # run the tagger in the pipeline
CHAINWATCH_CPU_PROCESSES = -1        # worker processes for extraction and tagging; -1: one per core (max 4), 0: threads
CHAINWATCH_RUN_ID = None             # set by chainwatch crawl so the summary can be read back
