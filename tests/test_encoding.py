"""crawler.encoding.decode_html: declared, lying and broken charsets."""

from __future__ import annotations

import codecs

from crawler.encoding import decode_html

TEXT = "江苏省发布新能源汽车产业发展规划，推动产业链上下游协同。"
META_GBK = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head>'
META_UTF8 = '<html><head><meta charset="utf-8"></head>'


def page(head: str) -> str:
    return f"{head}<body><p>{TEXT * 3}</p></body></html>"


def test_meta_only_gbk_is_read_as_gb18030() -> None:
    text, enc = decode_html(page(META_GBK).encode("gbk"))
    assert enc == "gb18030"
    assert TEXT in text


def test_header_charset_wins_over_detection() -> None:
    text, enc = decode_html(page("<html>").encode("gbk"), "text/html; charset=GBK")
    assert enc == "gb18030" and TEXT in text


def test_utf8_header_over_gbk_bytes_is_corrected() -> None:
    text, enc = decode_html(page(META_UTF8).encode("gbk"), "text/html; charset=utf-8")
    assert enc == "gb18030"
    assert TEXT in text and "\ufffd" not in text


def test_gbk_meta_over_utf8_bytes_is_corrected() -> None:
    text, enc = decode_html(page(META_GBK).encode("utf-8"))
    assert enc == "utf-8"
    assert TEXT in text


def test_big5_is_read_as_big5hkscs() -> None:
    body = '<meta charset="big5"><p>廣東成立海洋裝備產業聯盟，推動產業鏈協同。</p>'.encode("big5")
    text, enc = decode_html(body)
    assert enc == "big5hkscs"
    assert "產業聯盟" in text


def test_bom_beats_declared_charset() -> None:
    body = codecs.BOM_UTF8 + page(META_GBK).encode("utf-8")
    text, enc = decode_html(body, "text/html; charset=gbk")
    assert enc == "utf-8" and TEXT in text and not text.startswith("\ufeff")


def test_override_beats_everything() -> None:
    _, enc = decode_html(page(META_UTF8).encode("utf-8"), "text/html; charset=utf-8", override="gbk")
    assert enc == "gb18030"


def test_truncated_multibyte_character_keeps_declared_charset() -> None:
    body = page(META_GBK).encode("gbk")
    cut = body[: body.index("协同".encode("gbk")) + 1]  # inside a two-byte character
    text, enc = decode_html(cut)
    assert enc == "gb18030"
    assert "产业链上下游" in text


def test_garbage_and_empty_never_raise() -> None:
    assert decode_html(b"") == ("", "utf-8")
    text, _ = decode_html(bytes(range(256)) * 20, "text/html; charset=x-unknown-thing")
    assert isinstance(text, str)
    text, _ = decode_html(b"%PDF-1.7\n\xe2\xe3\xcf\xd3\n", "application/pdf")
    assert isinstance(text, str)
