"""Industry chains and relevance: terms, sector rule, exclusions, application markets, negatives."""

from __future__ import annotations

import datetime as dt

import pytest

from tagging import Tagger
from tagging.normalize import normalize_text

D = dt.date(2023, 6, 1)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.default()


def slugs(tagger: Tagger, title: str, text: str, **kw) -> set[str]:
    return {c.slug for c in tagger.analyze(title, text, published=D, **kw).chains}


def test_chains_and_sector_rule(tagger: Tagger) -> None:
    text = ("某省印发先进制造业集群方案，重点培育新材料、新能源汽车、电子信息三大产业集群，"
            "其中新材料集群聚焦超硬材料和耐火材料产业链。")
    got = slugs(tagger, "某省产业集群方案印发", text)
    # 新材料 is named with its chains -> chains only; 电子信息 has none of its chains -> sector
    assert got == {"superhard-materials", "refractories", "new-energy-vehicles", "electronics"}


def test_sector_only_when_no_chain_named(tagger: Tagger) -> None:
    got = slugs(tagger, "新材料产业联盟成立", "河南省新材料产业联盟在郑州揭牌成立，推动产业链协同发展。")
    assert got == {"materials"}


def test_application_markets_are_not_chains(tagger: Tagger) -> None:
    text = ("某市铝产业链行动计划提出，重点发展航空航天用铝合金，推动碳纤维在风电叶片、轨道交通等领域的推广应用，"
            "打造千亿级产业集群。")
    got = slugs(tagger, "某市打造铝产业集群", text)
    assert "aluminum" in got
    assert not got & {"aerospace", "wind-power", "rail-transit"}


def test_english_terms_and_bearing_in_mind(tagger: Tagger) -> None:
    text = ("Bearing in mind the needs of enterprises, the city industrial chain plan focuses on robots, "
            "new energy vehicles and smart sensors, facing aerospace and other application areas.")
    got = slugs(tagger, "City issues industrial chain plan", text, language="en")
    assert got == {"robots", "new-energy-vehicles", "sensors"}


def test_bearings_named_in_english(tagger: Tagger) -> None:
    got = slugs(tagger, "Linqing bearing industry alliance set up",
                "The bearing industry alliance of Linqing city was established to build an industrial cluster.",
                language="en")
    assert got == {"bearings"}


def test_traditional_chinese_chains(tagger: Tagger) -> None:
    raw = "柳州市新能源汽車產業鏈推進會召開,汽車零部件本地配套率提高,打造產業集群。"
    got = slugs(tagger, normalize_text("柳州市新能源汽車產業鏈", "zh-Hant"), normalize_text(raw, "zh-Hant"))
    assert got == {"new-energy-vehicles", "auto-parts"}


@pytest.mark.parametrize(("title", "text", "lang"), [
    ("寒潮来袭 某市最低气温降至零下8℃", "受冷空气影响，某市将迎来寒潮天气，气象台发布预警，工业企业要注意用电安全。", "zh"),
    ("区人民医院新院区开诊 设置床位600张", "新院区配备医疗设备300台，开设临床科室30个，力争明年开放床位800张。", "zh"),
    ("中职学校新增工业机器人专业", "全市中职学校今年招生2万人，新增新能源汽车运用与维修、工业机器人技术应用等专业。", "zh"),
    ("高速连环追尾 多车受损", "今天上午高速公路发生连环追尾事故，交警部门到场处置，未造成人员死亡。", "zh"),
    ("Students win robot contest", "Students of a middle school won the robot contest held at the city sports "
     "center; the school will hold the next match in spring.", "en"),
    ("Company holds autumn sports games", "More than 300 employees took part in tug-of-war and relay race at "
     "the sports games of the group.", "en"),
])
def test_negatives_are_not_relevant_and_have_no_chains(tagger: Tagger, title: str, text: str, lang: str) -> None:
    a = tagger.analyze(title, text, language=lang, published=D)
    assert not a.relevant
    assert a.chains == [] and a.events == []


def test_relevant_policy_article(tagger: Tagger) -> None:
    a = tagger.analyze("某市推行链长制", "某市在12条重点产业链全面推行链长制，由市领导担任链长，"
                       "实行一链一策，到2025年重点产业链营业收入突破3000亿元。", published=D)
    assert a.relevant and a.relevance_score > 0.5
    assert [e.type for e in a.events if e.type == "chain_chief"] == ["chain_chief"]


def test_chain_evidence_offsets(tagger: Tagger) -> None:
    text = "会议强调产业链协同。\n\n重点发展智能传感器产业链。"
    a = tagger.analyze("某市召开产业链会议", text, published=D)
    c = next(c for c in a.chains if c.slug == "sensors")
    assert c.sector == "electronics" and text[c.start : c.end] == "智能传感器"
    assert c.evidence == "重点发展智能传感器产业链。"


def test_user_extends_taxonomy_without_code(tmp_path) -> None:
    import yaml

    from tagging.taxonomy import DEFAULT_PATH, Taxonomy

    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["chains"]["bearings"]["zh"].append("滚动体")
    p = tmp_path / "chains.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    t = Tagger(taxonomy=Taxonomy.from_file(p))
    a = t.analyze("某县滚动体产业集群", "某县滚动体产业集群加快发展，产业链不断完善。", published=D)
    assert {c.slug for c in a.chains} == {"bearings"}
