"""The web app in headless Chromium, as an analyst uses it: log in, search, filter, read, add a source, preview.

Uses Debian's /usr/bin/chromium through playwright (never ``playwright install``).
Skips when it is missing, unless CHAINWATCH_REQUIRE_BROWSER=1. Screenshots go
to the test's tmp dir, and also to CW_SCREENSHOTS_DIR when set.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_seed import PASSWORD, seed_archive

import chainwatch.crawling
import chainwatch.sources
from chainwatch import users
from chainwatch.sources import DiscoveryReport

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _require_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is not installed"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed"
    if missing:
        if os.environ.get("CHAINWATCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{missing}, and CHAINWATCH_REQUIRE_BROWSER=1 requires it")
        pytest.skip(f"{missing} (set CHAINWATCH_REQUIRE_BROWSER=1 to make this a failure)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app, monkeypatch) -> Iterator[str]:
    _require_browser()
    import uvicorn

    from webapp.app import create_app

    def fake_test(ctx, url, **overrides):
        return DiscoveryReport(
            url=url, strategy="feed", site_name="开封市工业和信息化局", language="zh", feed_url=url + "rss.xml",
            links_found=[url + f"{i}.html" for i in range(24)],
            samples=[{"url": url + "1.html", "title": "开封市召开汽车零部件产业链推进会", "date": "2025-11-12",
                      "length": 1830, "first_lines": "11月12日，开封市召开汽车零部件产业链推进会，市长担任链长……"},
                     {"url": url + "2.html", "title": "开封成立农机装备产业联盟", "date": "2025-11-05",
                      "length": 1204, "first_lines": "11月5日，开封市农机装备产业联盟揭牌成立。"}])

    monkeypatch.setattr(chainwatch.sources, "test_source", fake_test)
    monkeypatch.setattr(chainwatch.crawling, "start_crawl_process", lambda ctx, keys=None: 4242)
    seed_archive(app.db)
    users.add_user(app.db, "analyst", PASSWORD, "editor")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        pg.base = server
        pg.errors = errors
        yield pg
        context.close()
        browser.close()


def _shot(pg, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("CW_SCREENSHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)


def test_analyst_journey(page, tmp_path) -> None:
    pg, base = page, page.base
    pg.goto(base + "/search")
    assert "/login" in pg.url
    _shot(pg, tmp_path, "01-login")
    pg.fill("input[name=username]", "analyst")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/search")
    _shot(pg, tmp_path, "02-search-empty")

    # Chinese words
    pg.fill("input[name=q]", "轴承")
    pg.press("input[name=q]", "Enter")
    pg.wait_for_selector("ol.hits")
    assert pg.locator("li.hit mark", has_text="轴承").count() >= 3
    assert pg.locator("p.also").count() >= 1  # a story reported by two sources, shown once
    _shot(pg, tmp_path, "03-search-zh")

    # English, stemmed
    pg.fill("input[name=q]", "bearings")
    pg.press("input[name=q]", "Enter")
    pg.wait_for_selector("ol.hits")
    assert pg.locator("li.hit h2", has_text="Luoyang sets target").count() == 1

    # A province filter finds a county-level article
    pg.fill("input[name=q]", "轴承")
    pg.press("input[name=q]", "Enter")
    pg.wait_for_selector("ol.hits")
    pg.fill("aside input[name=region]", "河南")
    pg.click("aside button[type=submit]")
    pg.wait_for_selector("ol.hits")
    assert "region=" in pg.url
    assert pg.locator("li.hit h2", has_text="孟津区").count() == 1
    _shot(pg, tmp_path, "04-search-region")

    # The article, its evidence highlighted
    pg.click("li.hit h2 a >> text=孟津区")
    pg.wait_for_selector("article.article")
    assert pg.locator("mark.mark-event").count() >= 1
    assert "到2026年培育规模以上轴承企业30家" in pg.locator("mark.mark-event").first.inner_text()
    _shot(pg, tmp_path, "05-article")

    # Alliances over time, targets by region
    pg.goto(base + "/events?type=alliance")
    assert pg.locator("svg.chart").count() == 1
    _shot(pg, tmp_path, "06-alliances")
    pg.goto(base + "/events?type=target")
    assert pg.locator("svg.chart rect").count() >= 3
    _shot(pg, tmp_path, "07-targets")

    # Add a source: the live test shows what would be crawled before anything is saved
    pg.goto(base + "/sources")
    pg.fill("input[name=url]", "http://127.0.0.1:9/kaifeng/")
    pg.click("form.addsource button[type=submit]")
    pg.wait_for_load_state()
    _shot(pg, tmp_path, "08-source-test")
    pg.wait_for_selector(".report")
    assert "开封成立农机装备产业联盟" in pg.locator(".report").inner_text()
    _shot(pg, tmp_path, "08-source-test")
    pg.fill(".saveform input[name=key]", "kaifeng-miit")
    pg.click(".saveform button[type=submit]")
    pg.wait_for_selector("p.ok")
    assert "kaifeng-miit" in pg.locator("table.grid").inner_text()
    _shot(pg, tmp_path, "09-sources")

    # A subscriber's digest
    pg.goto(base + "/digests/preview?email=li@example.org&period=2025-W42")
    frame = pg.frame_locator("iframe.digestframe")
    frame.locator("body").wait_for()
    assert "洛阳" in frame.locator("body").inner_text()
    _shot(pg, tmp_path, "10-digest")
    assert not [e for e in pg.errors if "Content Security Policy" not in e], pg.errors
