"""Decode fetched HTML bytes to text, distrusting what the page declares.

Chinese sites routinely declare one charset and send another (a GBK page
behind a ``utf-8`` header, a UTF-8 page with a stale ``gb2312`` meta tag), so
the declared encodings are tried in the usual order (override, BOM, HTTP
header, ``<meta>``, detection) and the result is checked: when it is full of
replacement characters or mojibake, the common alternatives are tried and the
cleanest decoding is kept.  Nothing here raises on bad bytes.
"""

from __future__ import annotations

import codecs
import re

# The GB family is decoded as its superset GB18030, Big5 as its Hong Kong
# superset: pages labelled GB2312 or Big5 often use characters beyond them.
_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "big5": "big5hkscs",
    "big-5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "cp950": "big5hkscs",
    # WHATWG: browsers read latin-1 and ascii labels as windows-1252.
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}

_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "unicode_escape", "raw_unicode_escape",
                           "punycode", "idna", "undefined", "charmap"})

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-:.]+)", re.I)
# Covers both <meta charset="x"> and <meta http-equiv=Content-Type content="text/html; charset=x">.
_META_CHARSET = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-:.]+)", re.I)
_META_SNIFF_BYTES = 8192

# Alternatives tried when the declared charset decodes badly.
_FALLBACKS: tuple[str, ...] = ("utf-8", "gb18030", "big5hkscs")

# Characters that a correct decoding of a text page almost never produces:
# replacement char, C1 controls, private use area, and the Latin-1 letters
# that UTF-8 read as cp1252 turns into ("Ã", "â€").
_SUSPECT = re.compile("[\ufffd\x80-\x9f\ue000-\uf8ff]|[ÃÂâ][\xa0-\xbf\u0152-\u0178\u02c6\u02dc\u2013-\u203a\u20ac\u2122]")


def normalize_encoding_name(name: str | None) -> str | None:
    """Return a Python codec name for a declared charset label, or None if unknown."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    codec = info.name
    # Python codecs that are no web charset: a page cannot ask to be read as escape sequences,
    # punycode or base64 (those are not even text encodings for bytes.decode).
    if codec in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return None
    # codecs.lookup canonicalises e.g. "gb2312" itself; map the result again.
    return _ALIASES.get(codec, codec)


def _badness(text: str) -> int:
    return len(_SUSPECT.findall(text))


def _too_bad(bad: int, text: str) -> bool:
    """True if the share of suspect characters is more than noise.

    A page cut off inside a multibyte character legitimately ends in one
    replacement character, so a couple are tolerated.
    """
    # Each non-ASCII character takes 2-4 UTF-8 bytes: a cheap count of them.
    non_ascii = (len(text.encode("utf-8", "surrogatepass")) - len(text)) // 2
    return bad > max(2, 0.005 * non_ascii)


def _decode(body: bytes, encoding: str) -> tuple[str, int]:
    try:
        text = body.decode(encoding, errors="replace")
    except (LookupError, UnicodeError):
        return "", 1 << 30
    return text, _badness(text)


def _declared(body: bytes, content_type: str | None) -> list[str]:
    """Encodings named by the HTTP header and the <meta> tags, in that order."""
    found: list[str] = []
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m:
            found.append(m.group(1))
    m = _META_CHARSET.search(body[:_META_SNIFF_BYTES])
    if m:
        found.append(m.group(1).decode("ascii", "ignore"))
    names = [normalize_encoding_name(n) for n in found]
    return [n for n in names if n]


def _detect(body: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional at runtime; the fallbacks still run
        return None
    try:
        best = from_bytes(body[:65536]).best()
    except Exception:  # a detector bug must not stop a crawl
        return None
    return normalize_encoding_name(best.encoding) if best else None


def _is_utf8_with_multibyte(body: bytes) -> bool:
    """Strict UTF-8 that holds non-ASCII text: GBK or Big5 bytes practically never pass."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        # A page truncated mid-character still counts if only the tail is broken.
        try:
            body[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def decode_html(body: bytes, content_type: str | None = None, override: str | None = None) -> tuple[str, str]:
    """Decode ``body`` and return ``(text, encoding used)``; never raises on bad bytes."""
    if not body:
        return "", "utf-8"
    forced = normalize_encoding_name(override)
    if forced:
        return _decode(body, forced)[0], forced
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return _decode(body[len(bom) :], enc)[0], enc

    declared = _declared(body, content_type)
    first = declared[0] if declared else (_detect(body) or "utf-8")
    text, bad = _decode(body, first)
    # A page that is valid UTF-8 but declares a legacy charset is UTF-8: the
    # legacy decoders accept almost any byte pair and would yield mojibake
    # without any replacement character.
    if first != "utf-8" and _is_utf8_with_multibyte(body):
        return _decode(body, "utf-8")[0], "utf-8"
    if not _too_bad(bad, text):
        return text, first

    best_text, best_enc, best_bad = text, first, bad
    tried = {first}
    for enc in (*declared[1:], *_FALLBACKS, _detect(body)):
        if not enc or enc in tried:
            continue
        tried.add(enc)
        cand, cand_bad = _decode(body, enc)
        if cand_bad < best_bad:
            best_text, best_enc, best_bad = cand, enc, cand_bad
    return best_text, best_enc
