"""Subject regions: hierarchy, ambiguity, organisations, bylines, passing mentions, three scripts."""

from __future__ import annotations

import datetime as dt

import pytest

from tagging import Tagger
from tagging.normalize import normalize_text

D = dt.date(2023, 5, 10)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.default()


def codes(tagger: Tagger, title: str, text: str, **kw) -> list[str]:
    return [r.code for r in tagger.analyze(title, text, published=D, **kw).regions]


def test_county_level_city_under_prefecture_most_specific_only(tagger: Tagger) -> None:
    text = ("5月8日，河南省巩义市召开耐火材料产业链推进会。巩义市耐火材料产业基础雄厚，"
            "全市将加快产业集群发展，主要指标高于郑州市平均水平。")
    assert codes(tagger, "巩义市推进耐火材料产业链发展", text) == ["410181"]


def test_jilin_city_versus_jilin_province(tagger: Tagger) -> None:
    city = "吉林省吉林市化工新材料产业链推进会召开。吉林市将打造千亿级产业集群。"
    assert codes(tagger, "吉林市推进化工新材料产业链", city) == ["220200"]
    prov = "吉林省印发汽车产业集群发展方案，全省将加快建设长春、四平等地的零部件配套体系。"
    assert codes(tagger, "吉林省发布汽车产业集群方案", prov) == ["220000"]


@pytest.mark.parametrize(("text", "code"), [
    ("Taizhou, in Zhejiang province, held a pharmaceutical chain meeting in Jiaojiang district. "
     "Taizhou will expand its drug industry.", "331000"),
    ("Taizhou city of jiangsu province promoted its medical industry cluster in Hailing district. "
     "Taizhou will expand the cluster.", "321200"),
    ("Suzhou, a city in northern anhui, set up a textile industry alliance in Yongqiao district.", "341300"),
    ("Fuzhou in eastern jiangxi implemented the chain leader system; Linchuan district joined.", "361000"),
    ("Fuzhou, the capital of Fujian province, held an industrial chain conference.", "350100"),
])
def test_ambiguous_romanised_cities_decided_by_context(tagger: Tagger, text: str, code: str) -> None:
    assert codes(tagger, "Industrial chain news", text, language="en") == [code]


def test_place_in_organisation_or_byline_is_not_the_subject(tagger: Tagger) -> None:
    text = ("（来源：洛阳日报）5月6日，临清市轴承产业联盟成立，聊城市工业和信息化局负责同志出席。"
            "临清市轴承企业将抱团发展。（记者 王某 通讯员 开封市融媒中心）")
    got = codes(tagger, "临清市轴承产业联盟成立", text)
    assert got == ["371581"]


def test_passing_mentions_and_venue_do_not_become_subjects(tagger: Tagger) -> None:
    text = ("河南省印发新材料产业集群行动计划。会议在郑州召开。全省将推动新乡、许昌、平顶山、焦作等地"
            "错位发展，到2025年全省新材料产业营业收入突破8000亿元。")
    assert codes(tagger, "我省印发新材料产业集群行动计划", text, source_region="410000") == ["410000"]


def test_source_region_resolves_our_city(tagger: Tagger) -> None:
    text = "我市召开重点产业链链长制推进会，全市12条重点产业链全面推行链长制。"
    assert codes(tagger, "全市产业链工作推进会召开", text, source_region="410300") == ["410300"]


def test_common_words_are_not_places(tagger: Tagger) -> None:
    text = "朝阳产业发展迅速，新兴产业集群加快壮大，合作共赢，推动乡村振兴。"
    assert codes(tagger, "新兴产业集群发展", text) == []


def test_traditional_chinese_converted_to_simplified(tagger: Tagger) -> None:
    raw_title = "臨清市軸承產(chǎn)業(yè)聯(lián)盟成立"
    raw = "5月6日,臨清市軸承產(chǎn)業(yè)聯(lián)盟成立大會在煙店鎮舉行,聊城市工業和信息化局有關負責同志出席。"
    title, text = normalize_text(raw_title, "zh-Hant"), normalize_text(raw, "zh-Hant")
    assert "(" not in title and "产业联盟" in title
    assert codes(tagger, title, text) == ["371581"]


def test_english_suffix_forms(tagger: Tagger) -> None:
    text = ("The Gongyi City industrial economy meeting was held. Gongyi City in Henan will keep growth; "
            "its output is above the average of Zhengzhou City.")
    assert codes(tagger, "Gongyi: industrial economy", text, language="en") == ["410181"]
    text2 = "Henan Province issued a plan for 28 key industrial chains; Luoyang and Xinxiang are named as examples."
    assert codes(tagger, "Henan Province plan", text2, language="en") == ["410000"]


def test_person_names_in_english_are_not_counties(tagger: Tagger) -> None:
    text = "Liaocheng held an industrial chain meeting. Director Chen Xi and reporter Wang Yanfei attended."
    assert codes(tagger, "Liaocheng chain meeting", text, language="en") == ["371500"]


def test_region_evidence_and_offsets(tagger: Tagger) -> None:
    text = "导语。\n\n襄阳市出台新能源汽车产业行动方案。"
    a = tagger.analyze("产业新闻", text, published=D)
    r = a.regions[0]
    assert r.code == "420600" and r.level == "prefecture"
    assert text[r.start : r.end] == "襄阳市" and r.evidence == "襄阳市出台新能源汽车产业行动方案。"
    b = tagger.analyze("襄阳出台新能源汽车方案", "方案明确了发展重点。", published=D)
    assert b.regions[0].start is None and b.regions[0].end is None
