"""chainwatch's own demo websites on loopback: the `./run demo` sources and the tests' web fixture.

    with DemoWeb(now=date(2026, 11, 10)) as web:
        for site in web.sites: print(site.key, site.url)
"""

from chainwatch.demosite.models import ArticleInfo, SiteInfo
from chainwatch.demosite.server import DemoWeb

__all__ = ["ArticleInfo", "DemoWeb", "SiteInfo"]
