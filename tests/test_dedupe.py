"""One story, many copies: reposts, traditional-character copies and machine translations join one story;
articles that merely share a topic do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chainwatch import dedupe
from chainwatch.archive import PageRecord, store_page
from crawler.textnorm import detect_language, normalize_for_analysis
from storage.models import Source
from tagging import Tagger

DAY = datetime(2023, 3, 6, 2, tzinfo=UTC)

ZH_STORY = """新华社讯 3月5日，襄阳市召开新能源汽车产业链推进大会，市委书记担任产业链链长。
会议提出，到2025年全市新能源汽车产业规模达到1200亿元，整车产能达到60万辆，动力电池产能达到80吉瓦时。
襄阳市将围绕整车、动力电池、电机电控三个环节，实施强链补链延链工程，引进配套企业150家以上。
会议还成立了襄阳市新能源汽车产业联盟，首批成员单位48家，涵盖整车企业、零部件企业、高校和科研院所。
市经信局负责人表示，今年将推动20个重点项目开工建设，总投资超过300亿元，力争产业链本地配套率提高到55%。"""

# the same story reposted by another site: a new lead and a footer of its own
ZH_REPOST = """来源：湖北日报 编辑：李明
3月5日，襄阳市召开新能源汽车产业链推进大会，市委书记担任产业链链长。
会议提出，到2025年全市新能源汽车产业规模达到1200亿元，整车产能达到60万辆，动力电池产能达到80吉瓦时。
襄阳市将围绕整车、动力电池、电机电控三个环节，实施强链补链延链工程，引进配套企业150家以上。
会议还成立了襄阳市新能源汽车产业联盟，首批成员单位48家，涵盖整车企业、零部件企业、高校和科研院所。
市经信局负责人表示，今年将推动20个重点项目开工建设，总投资超过300亿元，力争产业链本地配套率提高到55%。
本文转载自湖北日报，版权归原作者所有。"""

ZH_TRADITIONAL = """3月5日，襄陽市召開新能源汽車產業鏈推進大會，市委書記擔任產業鏈鏈長。
會議提出，到2025年全市新能源汽車產業規模達到1200億元，整車產能達到60萬輛，動力電池產能達到80吉瓦時。
襄陽市將圍繞整車、動力電池、電機電控三個環節，實施強鏈補鏈延鏈工程，引進配套企業150家以上。
會議還成立了襄陽市新能源汽車產業聯盟，首批成員單位48家，涵蓋整車企業、零部件企業、高校和科研院所。
市經信局負責人表示，今年將推動20個重點項目開工建設，總投資超過300億元，力爭產業鏈本地配套率提高到55%。"""

EN_TRANSLATION = """On March 5, Xiangyang city held the new energy vehicle industrial chain promotion conference, the
municipal party secretary serve as chain length. The meeting put forward, by 2025 the city new energy automobile
industry scale to reach 120 billion yuan, vehicle production capacity to reach 600,000 units, power battery capacity
reach 80 GWh. Xiangyang will around the vehicle, power battery, motor electric control three links, implement strong
chain complement chain extend chain project, introduce more than 150 supporting enterprises. The meeting also set up
Xiangyang new energy vehicle industry alliance, the first batch of 48 member units. This year will promote 20 key
projects start construction, total investment more than 30 billion yuan."""

# a second Chinese story and its loose English translation with hardly any figures in common
ZH_CHAIN_CHIEF = """湖北省日前印发《湖北省重点产业链链长制实施方案》，在全省16条重点产业链全面推行链长制，
由省领导担任链长。方案明确，16条重点产业链包括集成电路、新型显示、生物医药、新能源汽车、智能网联汽车、
光通信、北斗导航、高端装备等，每条产业链明确1家牵头部门。链长每年至少召开2次专题会议，协调解决产业链
发展中的重大问题，推动链主企业带动上下游企业协同发展，加快实现产业链现代化。"""

EN_CHAIN_CHIEF = """Hubei province recently issued the implementation plan of the chain length system of key industrial
chains, in the province of 16 key industrial chains fully implement the chain length system, provincial leaders serve as
chain length. The plan clear, key industrial chains include integrated circuits, new display, biological medicine, new
energy vehicles, intelligent connected vehicles, optical communication, Beidou navigation, high-end equipment and so on,
each industrial chain clear one lead department. The chain length at least hold special meetings every year."""

# same region and industry, another story
EN_OTHER_STORY = """Xiangyang city signed agreements with three power battery makers on Monday. The projects will add
battery cell and pack production lines in the high-tech zone, officials said, and create about 2,000 jobs. The city
government will provide land and training support. Construction is expected to start in the second half of the year,
and the first line should begin trial production within eighteen months of the groundbreaking ceremony."""

ZH_OTHER_STORY = """3月8日，襄阳市新能源汽车产业链专班深入高新区调研动力电池项目建设情况。调研组先后来到多家企业，
详细了解项目进度、用工需求和配套需求。调研组指出，要加快项目建设进度，强化要素保障，推动整车企业与本地
零部件企业对接合作，提升本地配套水平，为全市新能源汽车产业高质量发展提供有力支撑。"""


# a company's own note that names the province's chains: shares the topic, not the story
EN_COMPANY_NOTE = """Wuhan Guangxin Technology was elected a vice chairman unit of the Hubei province industry alliance
on Tuesday. The company supplies integrated circuits, new display modules and optical communication devices to
customers at home and abroad. Its chairman said the company would deepen cooperation with members of the alliance."""


@pytest.fixture
def archive(any_db):
    db = any_db
    with db.session() as s:
        sources = [Source(key=k, name=k, home_url=f"http://{k}.example/") for k in ("gov", "paper", "en", "hant")]
        s.add_all(sources)
    tagger = Tagger.default()
    counter = iter(range(1, 1000))

    def store(text: str, *, source: int = 1, title: str = "", published: datetime = DAY) -> tuple[str, int]:
        normalized = normalize_for_analysis(text)
        language = detect_language(text)
        url = f"http://site{source}.example/{next(counter)}.html"
        record = PageRecord(source_id=source, url=url, final_url=url, title=title, text=text,
                            text_normalized=normalized, language=language, published=published)
        analysis = tagger.analyze(title, normalized, language=language, published=published.date())
        result = db.run(lambda s: store_page(s, record, analysis))
        return result.status, result.story_id

    return store


def test_repost_with_its_own_lead_and_footer_joins_the_story(archive) -> None:
    _, story = archive(ZH_STORY, title="襄阳召开新能源汽车产业链推进大会")
    status, repost_story = archive(ZH_REPOST, source=2, title="襄阳新能源汽车产业规模2025年将达1200亿元")
    assert (status, repost_story) == ("duplicate", story)


def test_traditional_copy_joins_the_story(archive) -> None:
    _, story = archive(ZH_STORY, title="襄阳召开新能源汽车产业链推进大会")
    assert archive(ZH_TRADITIONAL, source=4, title="襄陽召開新能源汽車產業鏈推進大會") == ("duplicate", story)


def test_machine_translation_sharing_figures_joins_the_story(archive) -> None:
    _, story = archive(ZH_STORY, title="襄阳召开新能源汽车产业链推进大会")
    title = "Xiangyang: new energy vehicle industry to reach 120 billion yuan by 2025"
    assert archive(EN_TRANSLATION, source=3, title=title, published=DAY + timedelta(days=2)) == ("duplicate", story)


def test_translation_with_few_figures_joins_by_region_and_chains(archive) -> None:
    _, story = archive(ZH_CHAIN_CHIEF, title="湖北16条重点产业链全面推行链长制")
    sig_zh = dedupe.signature(normalize_for_analysis(ZH_CHAIN_CHIEF), "zh")
    sig_en = dedupe.signature(EN_CHAIN_CHIEF, "en")
    assert len(set(sig_zh.facts) & set(sig_en.facts)) < dedupe.MIN_SHARED_FACTS  # figures alone can't tell
    title = "Hubei: 16 key industrial chains fully implement chain length system"
    assert archive(EN_CHAIN_CHIEF, source=3, title=title, published=DAY + timedelta(days=1)) == ("duplicate", story)


def test_same_place_and_industry_is_not_the_same_story(archive) -> None:
    _, story = archive(ZH_STORY, title="襄阳召开新能源汽车产业链推进大会")
    status, other = archive(EN_OTHER_STORY, source=3, title="Xiangyang signs three battery projects")
    assert status == "new" and other != story
    status, other_zh = archive(ZH_OTHER_STORY, source=2, title="襄阳市调研动力电池项目建设")
    assert status == "new" and other_zh not in (story, other)


def test_a_note_sharing_only_the_topic_is_a_new_story(archive) -> None:
    _, story = archive(ZH_CHAIN_CHIEF, title="湖北16条重点产业链全面推行链长制")
    status, other = archive(EN_COMPANY_NOTE, source=3, title="Guangxin elected vice chairman unit of alliance",
                            published=DAY + timedelta(days=1))
    assert status == "new" and other != story


def test_translation_months_later_is_a_new_story(archive) -> None:
    _, story = archive(ZH_CHAIN_CHIEF, title="湖北16条重点产业链全面推行链长制")
    status, later = archive(EN_CHAIN_CHIEF, source=3, title="Hubei chain length system",
                            published=DAY + timedelta(days=dedupe.FACT_MAX_DAYS + 30))
    assert status == "new" and later != story


def test_short_texts_only_match_exactly(archive) -> None:
    short = "襄阳市召开新能源汽车产业链推进大会。"
    _, story = archive(short, title="短讯")
    assert archive(short, source=2, title="短讯") == ("duplicate", story)
    status, other = archive("襄阳市召开集成电路产业链推进大会。", source=2, title="短讯")
    assert status == "new" and other != story


def test_signature_is_bit_for_bit_what_stored_archives_hold() -> None:
    """The vectorised MinHash gives datasketch's values (affine32, sha1_hash32) and the same band keys,
    so articles stored before it still match new ones; pinned values guard against a datasketch change."""
    from datasketch import MinHash

    for text, language in ((ZH_STORY, "zh"), (ZH_TRADITIONAL, "zh-Hant"), (EN_TRANSLATION, "en"),
                           ("Ｃａｆｅ́，（ｅ́）：１２３％！①㈱ｶﾞ " * 12 + ZH_REPOST, None)):
        sig = dedupe.signature(text, language)
        reference = MinHash(num_perm=dedupe.NUM_PERM, seed=dedupe.SEED, scheme=dedupe.SCHEME)
        reference.update_batch([g.encode("utf-8") for g in dedupe.shingles(text)])
        assert sig.minhash == reference.hashvalues.astype("<u4").tobytes()
    sig = dedupe.signature(ZH_STORY, "zh")
    assert sig.content_hash == "f94b4d7e1aca7b38ad69ac68c331647fe1002f73bf42f090999daaa5b4a15a29"
    assert sig.minhash[:16].hex() == "52c650025e830b007642d8000ccefc00"
    assert sig.buckets()[:2] == [(0, -4270158172662302467), (1, -385598041524545884)]
