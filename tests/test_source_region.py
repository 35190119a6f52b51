"""A city bureau's site writes 我市 and 全市 for its own city: adding it sets the source's region, and
its articles are tagged with that city."""

from __future__ import annotations

from chainwatch.sources import DiscoveryReport, get_source, save_source
from tagging import Tagger

ARTICLE = ("全市工业经济运行会议召开。会议指出，今年全市规模以上工业增加值增长6%，"
           "我市将加快推进智能传感器、新能源汽车等重点产业链建设，力争全年新增规上工业企业300家。")


def _save(db, name: str, **overrides):
    url = "http://bureau.example.gov.cn/"
    report = DiscoveryReport(url=url, strategy="listing", listing_urls=[url], site_name=name)
    return save_source(db, url, report, **overrides)


def test_bureau_site_gets_its_city_and_articles_follow(db) -> None:
    src = _save(db, "首页 - 郑州市工业和信息化局")
    assert (src.name, get_source(db, src.key).region_code) == ("郑州市工业和信息化局", "410100")
    tagged = Tagger.default().analyze("全市工业经济运行会议召开", ARTICLE, language="zh",
                                      source_region=src.region_code)
    assert [r.code for r in tagged.regions] == ["410100"]
    untagged = Tagger.default().analyze("全市工业经济运行会议召开", ARTICLE, language="zh")
    assert "410100" not in [r.code for r in untagged.regions]


def test_the_users_region_wins_and_a_plain_name_sets_none(db) -> None:
    assert _save(db, "郑州市工业和信息化局", region_code="410181", key="a").region_code == "410181"
    assert _save(db, "China Regional Business Daily", key="b").region_code is None
