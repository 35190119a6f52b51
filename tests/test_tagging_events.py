"""Events: new alliances (not existing ones), targets (not achieved figures), numbers, dates."""

from __future__ import annotations

import datetime as dt

import pytest

from tagging import Tagger
from tagging.normalize import normalize_text
from tagging.numbers import en_quantities, zh_quantities

D = dt.date(2023, 9, 20)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.default()


def targets(tagger: Tagger, title: str, text: str, **kw) -> set[tuple]:
    a = tagger.analyze(title, text, published=kw.pop("published", D), **kw)
    return {(e.value, e.unit, e.year) for e in a.events_of("target")}


def alliances(tagger: Tagger, title: str, text: str, **kw):
    return tagger.analyze(title, text, published=D, **kw).events_of("alliance")


# -- numbers -------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "value", "unit"), [
    ("2万亿元", 2e12, "CNY"), ("450亿元", 4.5e10, "CNY"), ("12万辆", 1.2e5, "count"), ("3.5%", 3.5, "%"),
    ("80万吨", 8e5, "ton"), ("2000亩", 2000, "mu"), ("30亿千瓦时", 3e9, "kWh"), ("60亿美元", 6e9, "USD"),
])
def test_zh_numbers(raw: str, value: float, unit: str) -> None:
    (q,) = zh_quantities(raw)
    assert q.value == pytest.approx(value) and q.unit == unit


@pytest.mark.parametrize(("raw", "value", "unit"), [
    ("330 billion yuan", 3.3e11, "CNY"), ("1.2 trillion yuan", 1.2e12, "CNY"), ("250,000 tons", 2.5e5, "ton"),
    ("12%", 12, "%"), ("US$ 3 billion", 3e9, "USD"), ("20 GWh", 2e7, "kWh"),
])
def test_en_numbers(raw: str, value: float, unit: str) -> None:
    (q,) = en_quantities(raw)
    assert q.value == pytest.approx(value) and q.unit == unit


@pytest.mark.parametrize(("raw", "value", "unit"), [
    ("三百亿元", 3e10, "CNY"), ("两千亿元", 2e11, "CNY"), ("一千二百万吨", 1.2e7, "ton"), ("一点五亿元", 1.5e8, "CNY"),
    ("五个百分点", 5, "pp"), ("三百亩", 300, "mu"), ("十亿美元", 1e9, "USD"),
])
def test_zh_numbers_in_chinese_numerals(raw: str, value: float, unit: str) -> None:
    (q,) = zh_quantities(raw)
    assert q.value == pytest.approx(value) and q.unit == unit and q.raw == raw


@pytest.mark.parametrize("text", [
    "统一元器件标准", "万元以下", "打造万亿级产业集群", "第三百元", "一二三亿元", "十十亿元", "单一元素",
])
def test_chinese_numeral_lookalikes_are_not_amounts(text: str) -> None:
    assert zh_quantities(text) == []


def test_lost_numbers_yield_nothing() -> None:
    assert en_quantities("output increased% year on year, to not less than%.") == []
    assert zh_quantities("同比增长%，年月日") == []


# -- targets -------------------------------------------------------------------
def test_target_versus_achieved_zh(tagger: Tagger) -> None:
    text = ("2022年，全市电子信息产业营业收入达到820亿元，同比增长9.5%。今年前8个月，全市新增规模以上企业45家。\n\n"
            "根据某市电子信息产业集群行动方案，到2026年，全市电子信息产业营业收入突破2000亿元，"
            "年均增长15%以上，培育营业收入超10亿元企业20家。")
    got = targets(tagger, "某市电子信息产业集群方案印发", text, source_region="430100")
    assert got == {(2e11, "CNY", 2026), (15.0, "%", 2026), (20.0, "count", 2026)}


def test_target_in_chinese_numerals(tagger: Tagger) -> None:
    text = ("会议指出，到2027年，全市新能源汽车产业规模力争突破三千亿元，"
            "单位工业增加值能耗较2022年下降五个百分点。去年全市新能源汽车产量达到十二万辆。")
    got = targets(tagger, "某市新能源汽车产业三年行动计划出台", text, source_region="410100")
    assert (3e11, "CNY", 2027) in got


def test_this_year_resolved_against_published_date(tagger: Tagger) -> None:
    text = "前三季度全市工业投资增长18.2%。第四季度，全市将全力冲刺：力争全年工业投资增长15%以上，新增规上企业200家。"
    got = targets(tagger, "某市工业经济稳中有进", text, source_region="410300", published=dt.date(2024, 10, 30))
    assert got == {(15.0, "%", 2024), (200.0, "count", 2024)}


def test_target_english_will_versus_increased(tagger: Tagger) -> None:
    text = ("In 2022, the city's new materials industry output value reached 48 billion yuan, increased 8.2% over last "
            "year. In the first half of this year, output increased%.\n\nAccording to the plan, by 2025 the city will "
            "strive to new materials output value of more than 100 billion yuan, cultivate 8 enterprises with output "
            "value of more than 5 billion yuan, and the proportion increased to%.")
    got = targets(tagger, "Jiaozuo: new materials industry to exceed 100 billion yuan by 2025", text, language="en")
    assert got == {(1e11, "CNY", 2025), (8.0, "count", 2025)}


def test_traditional_chinese_targets(tagger: Tagger) -> None:
    raw = "百色市鋁產(chǎn)業(yè)2022年產值達到1100億元。會議提出,到2026年,全市鋁產業總產值達到1800億元,再生鋁產能達到120萬噸。"
    got = targets(tagger, "百色打造鋁產業集群", normalize_text(raw, "zh-Hant"))
    assert got == {(1.8e11, "CNY", 2026), (1.2e6, "ton", 2026)}


def test_size_labels_and_frequencies_are_not_targets(tagger: Tagger) -> None:
    text = "某市打造千亿级铝产业集群，链长每年至少召开2次专题会议，每季度开展一次运行分析。"
    assert targets(tagger, "某市打造千亿级产业集群", text) == set()


# -- alliances -----------------------------------------------------------------
def test_new_alliance_with_date_and_region(tagger: Tagger) -> None:
    (a,) = alliances(tagger, "宿州市鞋服产业联盟成立",
                     "9月18日，宿州市鞋服产业联盟成立大会在埇桥区召开，46家企业成为首批会员单位。")
    assert a.name == "宿州市鞋服产业联盟" and a.region_code == "341300" and a.date == dt.date(2023, 9, 18)
    assert a.start is not None and a.evidence.startswith("9月18日")


def test_existing_alliance_is_not_new(tagger: Tagger) -> None:
    text = ("某市召开产业链推进会。成立于2019年的洛阳市轴承产业联盟介绍了经验，"
            "洛阳市机器人产业联盟副理事长单位作了发言。")
    assert alliances(tagger, "某市召开产业链推进会", text) == []


def test_several_alliances_founded_one_after_another(tagger: Tagger) -> None:
    text = ("9月19日下午，随着湖北省现代医药产业联盟的成立，全省6大产业联盟全部揭牌。"
            "从9月5日开始，湖北省新材料产业联盟、湖北省电子信息产业联盟、湖北省现代食品产业联盟相继召开成立大会。")
    got = {(a.name, a.date) for a in alliances(tagger, "全省6大产业联盟全部揭牌", text)}
    assert got == {("湖北省现代医药产业联盟", dt.date(2023, 9, 19)), ("湖北省新材料产业联盟", None),
                   ("湖北省电子信息产业联盟", None), ("湖北省现代食品产业联盟", None)}


def test_english_alliance_established(tagger: Tagger) -> None:
    text = ("On September 12, the changzhou new energy storage industry alliance was established in wujin district. "
            "The existing Jiangsu Photovoltaic Industry Alliance joined the meeting.")
    (a,) = alliances(tagger, "Changzhou new energy storage industry alliance set up", text, language="en")
    assert a.name == "Changzhou New Energy Storage Industry Alliance"
    assert a.region_code == "320400" and a.date == dt.date(2023, 9, 12)


def test_english_existing_alliance_in_title_is_not_new(tagger: Tagger) -> None:
    got = alliances(tagger, "Group elected vice chairman unit of Henan New Materials Industry Alliance",
                    "The group took part in the annual meeting of the alliance.", language="en")
    assert got == []


def test_to_dict_is_json_ready(tagger: Tagger) -> None:
    import json

    a = tagger.analyze("宿州市鞋服产业联盟成立", "9月18日，宿州市鞋服产业联盟成立，到2025年产值达到300亿元。", published=D)
    d = json.loads(json.dumps(a.to_dict(), ensure_ascii=False))
    assert d["version"] == a.version and d["events"][0]["date"] == "2023-09-18"


def test_english_metric_keeps_whole_words(tagger: Tagger) -> None:
    title = "Hefei issues new energy vehicle industry chain plan"
    for text in ("By 2025, Hefei strives to new energy vehicle related industry scale of more than 100 billion yuan. "
                 "The city will build the new energy vehicle industry chain and industrial cluster.",
                 "Hefei will strive to make the new energy vehicle related industry scale exceed 100 billion yuan by "
                 "2025. The city will build the new energy vehicle industry chain and industrial cluster.",
                 "In the next three years, following the plan for the new energy vehicle industry chain that the "
                 "municipal government issued, Hefei strives to new energy vehicle related industry scale of more "
                 "than 100 billion yuan by 2025."):
        a = tagger.analyze(title, text, language="en")
        (t,) = [e for e in a.events if e.type == "target"]
        assert (t.value, t.metric) == (1e11, "new energy vehicle related industry scale")
