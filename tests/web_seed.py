"""A small, realistic archive for search, web and browser tests.

Simplified, traditional and English articles; regions with their ancestors
(a county article is found under its province); chains; alliances, targets and
chain-chief events with evidence offsets; a story reported by two sources.
``hostile=True`` adds an article and a source whose title and name are markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from chainwatch.search import index_article
from storage.db import Database
from storage.models import Article, ArticleChain, ArticleRegion, Event, Source, Story, Subscriber

XSS_TITLE = "<script>alert(1)</script>轴承新闻"
XSS_SOURCE = "<img src=x onerror=alert(2)>日报"
XSS_SUBSCRIBER = "<b onmouseover=alert(3)>王</b>"

REGIONS = {
    "410000": ("河南省", 1), "410300": ("洛阳市", 2), "410308": ("孟津区", 3), "410100": ("郑州市", 2),
    "320000": ("江苏省", 1), "320200": ("无锡市", 2), "330000": ("浙江省", 1), "330200": ("宁波市", 2),
    "440000": ("广东省", 1), "440300": ("深圳市", 2),
}


def _ancestors(code: str) -> list[str]:
    out = []
    if not code.endswith("00"):
        out.append(code[:4] + "00")
    if not code.endswith("0000"):
        out.append(code[:2] + "0000")
    return [c for c in out if c in REGIONS]


@dataclass
class Seeded:
    sources: dict[str, int] = field(default_factory=dict)
    articles: dict[str, int] = field(default_factory=dict)
    stories: dict[str, int] = field(default_factory=dict)


SOURCES = [
    ("luoyang-daily", "洛阳日报", "https://www.lyd.com.cn/", "zh", "410300"),
    ("henan-miit", "河南省工业和信息化厅", "https://gxt.henan.gov.cn/", "zh", "410000"),
    ("hk-economic", "香港經濟日報", "https://www.hket.com/", "zh-Hant", None),
    ("china-daily", "China Daily", "https://www.chinadaily.com.cn/", "en", None),
    ("ningbo-news", "宁波日报", "http://www.cnnb.com.cn/", "zh", "330200"),
]

# key, source, story, title, text, published, language, regions, chains, events
# events: (type, evidence, fields)
ARTICLES = [
    ("ly-alliance", "luoyang-daily", "alliance", "洛阳成立轴承产业联盟 力争2025年产值突破500亿元",
     "10月15日，洛阳轴承产业联盟在洛阳市正式成立，首批成员单位68家。根据规划，到2025年全市轴承产业产值突破500亿元。"
     "市委书记担任轴承产业链链长，统筹推进产业链招商。",
     datetime(2025, 10, 15, 2, 0, tzinfo=UTC), "zh", ["410300"], [("bearings", "equipment", "轴承产业")],
     [("alliance", "洛阳轴承产业联盟在洛阳市正式成立", {"name": "洛阳轴承产业联盟", "region_code": "410300",
                                            "event_date": date(2025, 10, 15)}),
      ("target", "到2025年全市轴承产业产值突破500亿元", {"metric": "轴承产业产值", "value": 5e10, "unit": "CNY",
                                              "year": 2025, "region_code": "410300"})]),
    ("ly-alliance-repost", "henan-miit", "alliance", "洛阳轴承产业联盟成立",
     "洛阳轴承产业联盟在洛阳市正式成立，首批成员单位68家。到2025年全市轴承产业产值突破500亿元。",
     datetime(2025, 10, 16, 1, 0, tzinfo=UTC), "zh", ["410300"], [("bearings", "equipment", "轴承产业")],
     [("alliance", "洛阳轴承产业联盟在洛阳市正式成立", {"name": "洛阳轴承产业联盟", "region_code": "410300",
                                            "event_date": date(2025, 10, 15)})]),
    ("mengjin", "luoyang-daily", "mengjin", "孟津区出台轴承产业高质量发展实施方案",
     "孟津区近日印发轴承产业高质量发展实施方案，提出到2026年培育规模以上轴承企业30家，建设精密轴承产业园。",
     datetime(2025, 11, 3, 3, 0, tzinfo=UTC), "zh", ["410308"], [("bearings", "equipment", "轴承企业")],
     [("target", "到2026年培育规模以上轴承企业30家", {"metric": "规模以上轴承企业", "value": 30.0, "unit": "count",
                                           "year": 2026, "region_code": "410308"})]),
    ("wuxi-chief", "hk-economic", "wuxi", "無錫市推行新能源汽車產業鏈鏈長制",
     "無錫市日前推行新能源汽車產業鏈鏈長制，由市長擔任鏈長，推動整車與零部件企業協同發展。",
     datetime(2025, 9, 20, 4, 0, tzinfo=UTC), "zh-Hant", ["320200"], [("new-energy-vehicles", "automotive", "新能源汽車")],
     [("chain_chief", "由市長擔任鏈長", {"name": "無錫市新能源汽車產業鏈鏈長制", "region_code": "320200",
                                  "event_date": date(2025, 9, 20)})]),
    ("en-bearing", "china-daily", "en-bearing", "Luoyang sets target for bearings output",
     "Luoyang, a city in Henan province, aims to lift the output of its bearing industry to 50 billion yuan by 2025, "
     "local authorities said. Bearings makers in the city formed an industry alliance.",
     datetime(2025, 10, 18, 8, 0, tzinfo=UTC), "en", ["410300"], [("bearings", "equipment", "bearing industry")],
     [("target", "output of its bearing industry to 50 billion yuan by 2025",
       {"metric": "bearing output", "value": 5e10, "unit": "CNY", "year": 2025, "region_code": "410300"})]),
    ("ningbo-semi", "ningbo-news", "ningbo", "宁波集成电路产业联盟揭牌",
     "宁波市集成电路产业联盟11月8日揭牌成立，联盟将围绕芯片设计、制造、封测开展协同攻关。",
     datetime(2025, 11, 8, 2, 0, tzinfo=UTC), "zh", ["330200"], [("semiconductors", "electronics", "集成电路")],
     [("alliance", "宁波市集成电路产业联盟11月8日揭牌成立", {"name": "宁波市集成电路产业联盟", "region_code": "330200",
                                                "event_date": date(2025, 11, 8)})]),
    ("zz-robot", "henan-miit", "zz-robot", "郑州市机器人产业发展目标发布",
     "郑州市提出，到2025年机器人产业规模达到200亿元，引育机器人整机企业20家。",
     datetime(2024, 12, 2, 2, 0, tzinfo=UTC), "zh", ["410100"], [("robots", "equipment", "机器人产业")],
     [("target", "到2025年机器人产业规模达到200亿元", {"metric": "机器人产业规模", "value": 2e10, "unit": "CNY",
                                             "year": 2025, "region_code": "410100"})]),
    ("sz-nev", "ningbo-news", "sz-nev", "深圳新能源汽车产业链再添新成员",
     "深圳市新能源汽车产业链链主企业带动上下游企业集聚发展，全年产量有望继续增长。",
     datetime(2025, 8, 1, 2, 0, tzinfo=UTC), "zh", ["440300"], [("new-energy-vehicles", "automotive", "新能源汽车")],
     []),
]

HOSTILE = ("xss", "xss-source", "xss", "<script>alert(1)</script>轴承新闻",
           "标题里有脚本的轴承新闻 <script>alert('body')</script> 结束。",
           datetime(2025, 7, 1, 2, 0, tzinfo=UTC), "zh", ["410300"], [("bearings", "equipment", "轴承")], [])


def _span(text: str, evidence: str) -> tuple[int | None, int | None]:
    i = text.find(evidence)
    return (i, i + len(evidence)) if i >= 0 else (None, None)


def seed_archive(db: Database, hostile: bool = False, subscribers: bool = True) -> Seeded:
    import opencc

    t2s = opencc.OpenCC("t2s")
    out = Seeded()
    articles = [*ARTICLES, HOSTILE] if hostile else ARTICLES
    sources = [*SOURCES, ("xss-source", XSS_SOURCE, "https://xss.example/", "zh", None)] if hostile else SOURCES
    with db.session() as s:
        for key, name, home, lang, region in sources:
            src = Source(key=key, name=name, home_url=home, language=lang, region_code=region,
                         strategy="feed", enabled=True, listing_urls=[], allow_patterns=[], deny_patterns=[],
                         discovery={})
            s.add(src)
            s.flush()
            out.sources[key] = src.id
        for key, src_key, story_key, title, body, published, lang, regions, chains, events in articles:
            story_id = out.stories.get(story_key)
            if story_id is None:
                story = Story(title=title, published=published, article_count=0)
                s.add(story)
                s.flush()
                story_id = out.stories[story_key] = story.id
            story = s.get(Story, story_id)
            story.article_count += 1
            url = f"https://{src_key}.example/{key}.html"
            art = Article(source_id=out.sources[src_key], url=url, canonical_url=url, final_url=url, title=title,
                          published=published, language=lang, text=body, text_normalized=t2s.convert(body),
                          content_hash=key.ljust(16, "0"), story_id=story_id, relevant=True,
                          fetched_at=published)
            s.add(art)
            s.flush()
            if story.first_article_id is None:
                story.first_article_id = art.id
            out.articles[key] = art.id
            for code in regions:
                name, level = REGIONS[code]
                start, end = _span(body, name[:2])
                s.add(ArticleRegion(article_id=art.id, code=code, role="subject", level=level, name=name,
                                    score=1.0, evidence=name[:2] if start is not None else None,
                                    start=start, end=end))
                for anc in _ancestors(code):
                    aname, alevel = REGIONS[anc]
                    s.add(ArticleRegion(article_id=art.id, code=anc, role="ancestor", level=alevel, name=aname))
            for slug, sector, evidence in chains:
                start, end = _span(body, evidence)
                s.add(ArticleChain(article_id=art.id, slug=slug, sector=sector, score=1.0, evidence=evidence,
                                   start=start, end=end))
            for etype, evidence, fields in events:
                start, end = _span(body, evidence)
                s.add(Event(article_id=art.id, story_id=story_id, type=etype, evidence=evidence, start=start,
                            end=end, **fields))
            s.flush()
            index_article(s, art)
        if subscribers:
            s.add(Subscriber(email="li@example.org", name="李明", regions=["410000"], chains=["bearings"],
                             language="zh", unsubscribe_token="tok-li"))
            if hostile:
                s.add(Subscriber(email="x@example.org", name=XSS_SUBSCRIBER, regions=[], chains=[],
                                 language="en", unsubscribe_token="tok-x"))
    return out


# --------------------------------------------------------------------------- web test helpers

PASSWORD = "correct horse battery staple"
ROLES = ("reader", "editor", "admin")


@dataclass
class Web:
    client: object  # fastapi.testclient.TestClient
    ctx: object  # chainwatch.context.AppContext
    seeded: Seeded


def make_web(ctx, hostile: bool = True) -> Web:
    """A seeded archive, one user per role (named after the role), and a TestClient on the app."""
    from fastapi.testclient import TestClient

    from chainwatch import users
    from webapp.app import create_app

    seeded = seed_archive(ctx.db, hostile=hostile)
    for role in ROLES:
        users.add_user(ctx.db, role, PASSWORD, role)
    return Web(TestClient(create_app(ctx), follow_redirects=False), ctx, seeded)


def form_token(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    client.cookies.clear()
    token = form_token(client.get("/login").text)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                    "next": "/search"})
    assert r.status_code == 303, r.text[:500]
    return client.get("/api/me").json()["csrf_token"]
