"""crawler.textnorm: inline pinyin, script conversion, language, normalisation."""

from __future__ import annotations

import pytest

from crawler.textnorm import detect_language, normalize_for_analysis, strip_inline_pinyin, to_simplified


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("本報(bào)訊", "本報訊"),
        ("產(chǎn)業(yè)聯(lián)盟", "產業聯盟"),
        ("時(shí)間:2023-06-02", "時間:2023-06-02"),
        ("綠色（lǜ）發展", "綠色發展"),
    ],
)
def test_strip_inline_pinyin(raw: str, expected: str) -> None:
    assert strip_inline_pinyin(raw) == expected


@pytest.mark.parametrize(
    "keep",
    [
        "本報訊（記者 黃志強）",
        "(記者 王)",
        "聯盟(AI)成立",
        "蘋果(Apple)公司",
        "the (cafe) is open",
        "的(de)",  # no tone mark: could be genuine content
    ],
)
def test_strip_inline_pinyin_keeps_genuine_parentheses(keep: str) -> None:
    assert strip_inline_pinyin(keep) == keep


def test_to_simplified() -> None:
    assert to_simplified("產業聯盟") == "产业联盟"
    assert to_simplified("already simple 产业") == "already simple 产业"
    assert to_simplified("") == ""


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("四川省成立电子信息产业联盟，推动产业链协同发展。", "zh"),
        ("廣東省成立海洋裝備產業聯盟，推動產業鏈協同發展。", "zh-Hant"),
        ("Jiangsu will build twelve advanced manufacturing clusters by 2025 and the plan is ambitious.", "en"),
        ("東京都は新しい産業政策を発表しました。", "ja"),
        ("", "und"),
        ("12345 !!!", "und"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_chinese_with_some_english_terms_is_still_zh() -> None:
    assert detect_language("广东发布5G和AI产业政策，支持企业建设工业互联网平台。") == "zh"


def test_normalize_for_analysis() -> None:
    out = normalize_for_analysis("２０２５年，ＡＢＣ集團（廣東）產(chǎn)值：３％…")
    assert out == "2025年，ABC集团（广东）产值：3%…"
