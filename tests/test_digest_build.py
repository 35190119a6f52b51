"""What a digest contains: filters, merged events, stories, labels, footer; and how it renders."""

from __future__ import annotations

from datetime import UTC, datetime

import factories as f
import pytest

from chainwatch import subscribers
from digests import service
from digests.build import build_digest, load_period
from digests.periods import parse_period
from digests.render import render
from storage.models import CrawlError, CrawlRun, CrawlRunSource

W45 = "2022-W45"


@pytest.fixture
def seeded(app):
    """A week in Henan and Jiangsu, plus noise outside the week and irrelevant articles."""
    with app.db.session() as s:
        gov, paper = f.source(s), f.source(s, "lyrb", "洛阳日报")
        alliance_story = f.story(s, "洛阳市成立轴承产业联盟")
        for i, src in enumerate((gov, paper, gov)):
            f.article(s, title=f"洛阳轴承产业联盟成立（转载{i}）", published=f.at(f"2022-11-{8 + i:02d}"), src=src,
                      story_row=alliance_story, regions=["410300"], chains=["bearings"],
                      events=[dict(type="alliance", name="洛阳市轴承产业联盟", region_code="410300",
                                   evidence="洛阳市轴承产业联盟今天成立")])
        other_story = f.story(s, "全省装备制造业大会")
        f.article(s, title="全省装备制造业大会召开", published=f.at("2022-11-10"), story_row=other_story,
                  regions=["410000"], chains=["robots"],
                  events=[dict(type="alliance", name="《洛阳市轴承产业联盟》", region_code=None, evidence="")])
        f.article(s, title="河南：到2025年超硬材料产业规模达到3300亿元", published=f.at("2022-11-09"),
                  regions=["410000"], chains=["superhard-materials"],
                  events=[dict(type="target", region_code="410000", metric="超硬材料产业规模", value=3.3e11,
                               unit="CNY", year=2025, evidence="到2025年，全省超硬材料产业规模达到3300亿元。")])
        f.article(s, title="巩义市推行链长制", published=None, fetched_at=f.at("2022-11-11"), regions=["410181"],
                  chains=["aluminum"], events=[dict(type="chain_chief", name="巩义市推行产业链链长制",
                                                    region_code="410181", evidence="")])
        f.article(s, title="苏州半导体产业新政", published=f.at("2022-11-09"), regions=["320500"],
                  chains=["semiconductors"])
        f.article(s, title="不相关的新闻", published=f.at("2022-11-09"), relevant=False)
        f.article(s, title="未判定的新闻", published=f.at("2022-11-09"), relevant=None)
        f.article(s, title="上周的新闻", published=f.at("2022-11-04"))
        # 16:30 UTC on Sunday 13th is Monday 14th 00:30 in Shanghai: next week there
        f.article(s, title="下周的新闻", published=datetime(2022, 11, 13, 16, 30, tzinfo=UTC))
    return app


def _digest(app, regions=(), chains=(), language="zh", period=W45, tz="Asia/Shanghai"):
    data = app.db.run(lambda s: load_period(s, parse_period(period), tz))
    from digests.build import Filters

    return build_digest(data, Filters.of(regions, chains), language)


def _titles(digest) -> set[str]:
    return {st.title for g in digest.regions for c in g.chains for st in c.stories}


def test_only_relevant_articles_of_the_local_week(seeded) -> None:
    d = _digest(seeded)
    assert _titles(d) == {"洛阳市成立轴承产业联盟", "全省装备制造业大会", "河南：到2025年超硬材料产业规模达到3300亿元",
                          "巩义市推行链长制", "苏州半导体产业新政"}
    assert d.article_count == 7 and d.story_count == 5
    # the week boundary is local: in London, the Monday-00:30-Shanghai article is still W45
    assert "下周的新闻" in _titles(_digest(seeded, tz="Europe/London"))


def test_province_filter_covers_its_cities_and_counties(seeded) -> None:
    d = _digest(seeded, regions=["410000"])
    assert "苏州半导体产业新政" not in _titles(d)
    assert {"洛阳市成立轴承产业联盟", "巩义市推行链长制", "全省装备制造业大会"} <= _titles(d)
    city = _digest(seeded, regions=["410300"])
    assert _titles(city) == {"洛阳市成立轴承产业联盟"}  # a city filter does not pull in province-wide news


def test_sector_covers_its_chains_and_chain_is_exact(seeded) -> None:
    assert _titles(_digest(seeded, chains=["equipment"])) == {"洛阳市成立轴承产业联盟", "全省装备制造业大会"}
    assert _titles(_digest(seeded, chains=["bearings"])) == {"洛阳市成立轴承产业联盟"}
    both = _digest(seeded, regions=["320000"], chains=["electronics"])
    assert _titles(both) == {"苏州半导体产业新政"}


def test_alliance_reported_many_times_appears_once_with_every_source(seeded) -> None:
    d = _digest(seeded)
    assert len(d.alliances) == 1
    a = d.alliances[0]
    assert a.name == "洛阳市轴承产业联盟" and a.region_code == "410300"
    assert len(a.sources) == 4  # three reposts in one story + the same name in another story
    assert {s.source for s in a.sources} == {"河南省人民政府", "洛阳日报"}


def test_story_entry_lists_all_its_sources_once(seeded) -> None:
    d = _digest(seeded)
    entries = [st for g in d.regions for c in g.chains for st in c.stories if st.title == "洛阳市成立轴承产业联盟"]
    assert len(entries) == 1 and len(entries[0].sources) == 3
    counts = {c.key: (c.stories, c.articles) for c in d.region_counts}
    assert counts["410300"] == (1, 3)
    assert {c.key for c in d.chain_counts} >= {"bearings", "robots", "semiconductors"}


def test_targets_and_chain_chief(seeded) -> None:
    d = _digest(seeded)
    (t,) = d.targets
    assert (t.region_code, t.value, t.year) == ("410000", 3.3e11, 2025)
    (c,) = d.chain_chief
    assert c.name == "巩义市推行产业链链长制"
    zh, en = render(d), render(_digest(seeded, language="en"))
    assert "3300亿元" in zh.text and "2025年" in zh.text and "到2025年，全省超硬材料产业规模达到3300亿元。" in zh.html
    assert "330 billion yuan" in en.text and "by 2025" in en.text


def test_a_story_reposted_without_its_region_shows_its_target_once(app) -> None:
    """The English repost of a story misses the region and words the metric its own way; another city's
    identical figure is a different target."""
    with app.db.session() as s:
        story = f.story(s, "成都9个产业集群今年产值达3300亿元")
        f.article(s, title="成都9个产业集群今年产值达3300亿元", published=f.at("2022-11-08"), story_row=story,
                  regions=["510100"], chains=["robots"],
                  events=[dict(type="target", region_code="510100", metric="产业集群产值", value=3.3e11,
                               unit="CNY", year=2022, evidence="9个产业集群今年产值达到3300亿元。")])
        f.article(s, title="Chengdu clusters to reach 330 billion yuan", published=f.at("2022-11-09"),
                  story_row=story, src=f.source(s, "en-news", "English News"), regions=[], chains=["robots"],
                  events=[dict(type="target", region_code=None, metric="output of industrial clusters",
                               value=3.3e11, unit="cny", year=2022, evidence="to reach 330 billion yuan")])
        f.article(s, title="绵阳产业集群产值达3300亿元", published=f.at("2022-11-10"), regions=["510700"],
                  chains=["robots"],
                  events=[dict(type="target", region_code="510700", metric="产业集群产值", value=3.3e11,
                               unit="CNY", year=2022, evidence="绵阳产业集群产值达到3300亿元。")])
    d = _digest(app)
    by_region = {t.region_code: t for t in d.targets}
    assert len(d.targets) == 2 and set(by_region) == {"510100", "510700"}
    assert len(by_region["510100"].sources) == 2 and len(by_region["510700"].sources) == 1


def test_alliance_reposted_in_traditional_characters_appears_once(app) -> None:
    with app.db.session() as s:
        story = f.story(s, "四川省成立储能产业联盟")
        f.article(s, title="四川省儲能產業聯盟成立", published=f.at("2022-11-08"), story_row=story,
                  src=f.source(s, "hant", "華夏產經網"), regions=["510000"], chains=["robots"],
                  events=[dict(type="alliance", name="四川省儲能產業聯盟", region_code="510000", evidence="")])
        f.article(s, title="四川省储能产业联盟成立", published=f.at("2022-11-09"), story_row=story,
                  regions=["510000"], chains=["robots"],
                  events=[dict(type="alliance", name="四川省储能产业联盟", region_code="510000",
                               evidence="四川省储能产业联盟在成都成立。")])
    (a,) = _digest(app).alliances
    assert a.name == "四川省储能产业联盟" and len(a.sources) == 2 and a.day.isoformat() == "2022-11-08"


def test_targets_set_by_one_sentence_show_it_once(app) -> None:
    sentence = "到2025年，全市智能终端产业规模突破5000亿元，手机本地配套率达到30%。"
    with app.db.session() as s:
        f.article(s, title="郑州智能终端产业规划", published=f.at("2022-11-08"), regions=["410100"],
                  chains=["robots"],
                  events=[dict(type="target", region_code="410100", metric=m, value=v, unit=u, year=2025,
                               evidence=sentence)
                          for m, v, u in (("智能终端产业规模", 5e11, "CNY"), ("手机本地配套率", 30.0, "%"))])
    d = _digest(app)
    assert len(d.targets) == 2
    out = render(d)
    assert out.text.count(sentence) == 1 and out.html.count(sentence) == 1
    assert "5000亿元" in out.text and "30%" in out.text


def test_a_huge_week_lists_the_best_sourced_stories_and_says_how_many_more(seeded) -> None:
    from digests.build import Filters

    data = seeded.db.run(lambda s: load_period(s, parse_period(W45), "Asia/Shanghai"))
    full = build_digest(data, Filters(), "zh")
    capped = build_digest(data, Filters(), "zh", max_stories=2)
    assert full.omitted_stories == 0 and full.story_count > 2
    assert capped.story_count == full.story_count and capped.omitted_stories == full.story_count - 2
    assert "洛阳市成立轴承产业联盟" in _titles(capped)  # three sources: kept
    assert len(_titles(capped)) == 2 and capped.alliances == full.alliances
    out = render(capped)
    assert f"另有 {capped.omitted_stories} 条" in out.text and f"另有 {capped.omitted_stories} 条" in out.html
    assert "more stories" in render(build_digest(data, Filters(), "en", max_stories=2)).text


def test_labels_follow_the_language(seeded) -> None:
    zh, en = render(_digest(seeded)), render(_digest(seeded, language="en"))
    assert "新成立的产业联盟" in zh.html and "量化目标" in zh.html and "链长制动态" in zh.html
    assert "洛阳市" in zh.text and "轴承" in zh.text
    assert "New industry alliances" in en.html and "Chain-chief system news" in en.html
    assert "Luoyang" in en.text and "bearings" in en.text
    assert zh.subject.startswith("产业链政策周报 2022-W45") and en.subject.startswith("Industry-chain policy weekly")


def test_footer_lists_sources_that_failed_this_week(seeded) -> None:
    with seeded.db.session() as s:
        broken, fine = f.source(s, "broken", "某市工信局"), f.source(s, "fine", "好网站")
        run = CrawlRun(started_at=f.at("2022-11-08"), status="finished")
        s.add(run)
        s.flush()
        s.add_all([CrawlRunSource(run_id=run.id, source_id=broken.id, pages_fetched=0, errors=3),
                   CrawlRunSource(run_id=run.id, source_id=fine.id, pages_fetched=40, errors=1),
                   CrawlError(run_id=run.id, source_id=broken.id, url="http://broken.example/", kind="dns",
                              message="no such host", at=f.at("2022-11-08"))])
    d = _digest(seeded)
    assert [x.name for x in d.failed_sources] == ["某市工信局"]
    assert "某市工信局" in render(d).text and "本期抓取失败的来源" in render(d).html
    assert _digest(seeded, period="2022-W46").failed_sources == []


def test_empty_week_says_so_in_one_line(seeded) -> None:
    d = _digest(seeded, period="2022-W40")
    assert d.is_empty
    out = render(d)
    assert "本期（2022-W40）没有新的相关报道。" in out.text
    assert "新成立的产业联盟" not in out.html and "统计" not in out.text.split("--")[0]
    body = [line for line in out.text.split("--")[0].splitlines() if line.strip()]
    assert len(body) == 2  # the title line and the one sentence


def test_crawled_markup_and_line_breaks_are_harmless(app) -> None:
    with app.db.session() as s:
        f.article(s, title="<script>alert(1)</script>Title\r\nBcc: evil@x", published=f.at("2022-11-08"),
                  url="javascript:alert(2)//x", events=[dict(type="alliance", name="<b>联盟</b>\nX-Evil: 1")])
    d = _digest(app)
    out = render(d)
    assert "<script>" not in out.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert "<b>联盟</b>" not in out.html
    assert 'href="javascript:' not in out.html
    assert "\nBcc:" not in out.text and "\nX-Evil" not in out.text
    assert "\n" not in out.subject and "script" not in out.subject


def test_preview_writes_html_and_finds_the_latest_period(seeded) -> None:
    assert service.latest_period_with_content(seeded) == "2022-W46"  # the Monday-00:30 article
    path = service.preview(seeded)
    assert path == seeded.config.home / "previews" / "digest-2022-W46-all.html"
    assert path.read_text().startswith("<!DOCTYPE html>") and "下周的新闻" in path.read_text()
    assert "洛阳市轴承产业联盟" in service.preview(seeded, period=W45).read_text()
    sub = subscribers.add(seeded, "reader@example.org", regions="320000", language="en")
    out = seeded.config.home / "x" / "mine.html"
    assert service.preview(seeded, period=W45, subscriber_email=sub.email, out=out) == out
    html = out.read_text()
    assert "苏州半导体产业新政" in html and "洛阳" not in html
    assert f"/unsubscribe/{sub.unsubscribe_token}" in html


@pytest.mark.parametrize(("regions", "chains"), [
    ((), ()), (("410000",), ()), ((), ("equipment",)), (("410000", "320500"), ("bearings", "electronics")),
    (("999999",), ()),
])
def test_indexed_selection_matches_the_per_article_rule(seeded, regions, chains) -> None:
    from digests.build import Filters

    data = seeded.db.run(lambda s: load_period(s, parse_period(W45), "Asia/Shanghai"))
    filters = Filters.of(regions, chains)
    assert data.select(filters) == [a for a in data.articles if filters.accepts(a)]
