"""Industry alliances founded in the article (成立/揭牌/组建/启动; established, set up, inaugurated)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..sentences import Span

_ZH_NAME_END = re.compile(r"(?:产业链|产业|行业|创新|发展|技术)?(?:联盟|协会)(?!成员|会员|理事|秘书|章程|副)")
_ZH_TRIGGER = re.compile(r"成立大会|揭牌成立|正式成立|宣告成立|成立仪式|揭牌仪式|揭牌|成立|组建|启动|挂牌")
_ZH_EXISTING = re.compile(r"成立于|成立以来|成立\d+周年|成立.{0,3}周年|已成立|早已|此前成立|去年成立|成立后")
_ZH_RANGE = re.compile(r"(?:从|自)\d{1,2}月\d{1,2}日(?:开始|起|以来)|相继|先后|陆续")
_ZH_DATE = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日|(?<![\d月])(\d{1,2})日(?!报)")
_ZH_INDUSTRY = re.compile(r"产业|行业|技术|创新|制造|材料|装备|汽车|医药|食品|能源|电子|信息")
_ZH_GENERIC_START = re.compile(r"^(?:\d+|[一二三四五六七八九十两几多各该本全我其这此首个大家批]|产业|行业)")
_ZH_BOUNDARY = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9（）()]|随着|标志着|加入|成为|围绕|依托|推动|组建|成立|由|在|与|和|的|是|为|将|了|据|日")

_EN_ALLIANCE = re.compile(r"\b(alliance)\b(?!s)", re.I)
_EN_TRIGGER_AFTER = re.compile(
    r"^[^.;]{0,60}?\b(?:was|were|is|has been|had been)?\s*(?:officially\s+)?(?:established|set up|founded|launched|"
    r"inaugurated|unveiled|formed)\b|^\s*(?:founding|inaugural|establishment|launch|unveiling)\s+"
    r"(?:conference|meeting|ceremony|assembly)", re.I)
_EN_TRIGGER_BEFORE = re.compile(
    r"(?:founding|inaugural|establishment|launch|unveiling)\s+(?:conference|meeting|ceremony|assembly)\s+of\s+(?:the\s+)?$|"
    r"(?:establishment|founding|launch|inauguration)\s+of\s+(?:the\s+)?$|(?:launched|unveiled|set up|established|"
    r"inaugurated|founded)\s+(?:the\s+)?$", re.I)
_EN_EXISTING = re.compile(r"since its (?:establishment|founding)|anniversary|established in (?:19|20)\d\d|"
                          r"was founded in (?:19|20)\d\d", re.I)
_EN_STOP = frozenset(["the", "a", "an", "of", "on", "in", "at", "by", "to", "for", "with", "from", "that", "this", "its", "their", "his", "our", "as", "was", "is", "are", "were", "will", "has", "have", "had", "first", "joined", "joining", "member", "members", "unit", "units", "vice", "chairman", "elected", "group", "which", "who", "after", "before"])
_EN_SMALL = frozenset({"and", "of", "the", "for", "in"})
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_EN_MONTH = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
_EN_DATE = re.compile(r"\b(" + "|".join(_EN_MONTH) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+((?:19|20)\d\d))?", re.I)
_EN_RANGE = re.compile(r"\bfrom\s+(?:" + "|".join(_EN_MONTH) + r")|\bone after another\b|\bsuccessively\b", re.I)


@dataclass(slots=True)
class AllianceHit:
    name: str
    start: int
    end: int
    sentence: Span
    date: dt.date | None
    in_title: bool


def find_alliances(sentences: list[Span], *, english: bool, published: dt.date | None, in_title: bool,
                   region_starts: dict[int, int]) -> list[AllianceHit]:
    """region_starts: start offset -> end offset of place mentions, used to start names at a place."""
    out: list[AllianceHit] = []
    for sent in sentences:
        found = _en_names(sent) if english else _zh_names(sent, region_starts)
        if not found:
            continue
        ranged = bool((_EN_RANGE if english else _ZH_RANGE).search(sent.text)) and len(found) > 1
        for name, s, e, triggered in found:
            if not triggered:
                continue
            date = None if ranged else _date_before(sent, s, english, published)
            out.append(AllianceHit(name, s, e, sent, date, in_title))
    return out


def _zh_names(sent: Span, region_starts: dict[int, int]) -> list[tuple[str, int, int, bool]]:
    t = sent.text
    out: list[tuple[str, int, int, bool]] = []
    for m in _ZH_NAME_END.finditer(t):
        end = m.end()
        if "联盟" not in m.group() and "协会" in m.group():
            continue
        # start at the nearest place mention reachable without punctuation, else at a boundary
        start = None
        lo = max(0, m.start() - 24)
        for pos in range(m.start() - 1, lo - 1, -1):
            ch = t[pos]
            if not re.match(r"[\u4e00-\u9fffA-Za-z0-9]", ch):
                break
            if sent.start + pos in region_starts:
                start = pos
                break
        if start is None:
            seg = t[lo : m.start()]
            cut = 0
            for b in _ZH_BOUNDARY.finditer(seg):
                cut = b.end()
            start = lo + cut
        name = t[start:end]
        if len(name) - len(m.group()) < 2 or _ZH_GENERIC_START.match(name) or not _ZH_INDUSTRY.search(name):
            continue
        rest = t[end:]
        clause_rest = re.split(r"[，。；！？,;]", rest)[0]
        before = t[max(0, start - 8) : start]
        triggered = bool(_ZH_TRIGGER.search(clause_rest)) or ("随着" in before and rest.startswith("的成立"))
        if not triggered:
            # "X联盟、Y联盟……相继召开成立大会": the trigger ends the enumeration
            listed = re.match(r"^(?:、[^，。；]*?)+", rest)
            if listed and _ZH_TRIGGER.search(rest[listed.end() : listed.end() + 15]):
                triggered = True
        if triggered and _ZH_EXISTING.search(rest[:12]):
            triggered = False
        out.append((name, sent.start + start, sent.start + end, triggered))
    return out


def _en_names(sent: Span) -> list[tuple[str, int, int, bool]]:
    t = sent.text
    out: list[tuple[str, int, int, bool]] = []
    for m in _EN_ALLIANCE.finditer(t):
        words = list(_EN_WORD.finditer(t, 0, m.start()))
        name_words: list[re.Match[str]] = []
        for w in reversed(words):
            gap = t[w.end() : (name_words[0].start() if name_words else m.start())]
            if gap.strip() not in ("",):
                break
            lw = w.group().lower()
            if lw in _EN_STOP:
                break
            name_words.insert(0, w)
        while name_words and name_words[0].group().lower() in ("and", "of"):
            name_words.pop(0)
        if not name_words or not any(w.group().lower() in ("industry", "industrial", "chain") for w in name_words):
            continue
        if len(name_words) < 2 or name_words[0].group().lower() in ("industry", "industrial"):
            continue
        s = name_words[0].start()
        raw = t[s : m.end()]
        name = " ".join(_title(w) for w in raw.split())
        after = t[m.end() :]
        before = t[max(0, s - 60) : s]
        triggered = bool(_EN_TRIGGER_AFTER.search(after) or _EN_TRIGGER_BEFORE.search(before))
        if _EN_EXISTING.search(after[:60]) or re.match(r"\s*\(", after):
            triggered = False
        out.append((name, sent.start + s, sent.start + m.end(), triggered))
    return out


def _title(w: str) -> str:
    return w.lower() if w.lower() in _EN_SMALL else w[:1].upper() + w[1:]


def _date_before(sent: Span, start: int, english: bool, published: dt.date | None) -> dt.date | None:
    t = sent.text
    rel = start - sent.start
    best = None
    rx = _EN_DATE if english else _ZH_DATE
    for m in rx.finditer(t):
        if m.start() > rel + 80:
            break
        best = m
        if m.start() > rel:
            break
    if best is None or published is None:
        return None
    try:
        if english:
            month = _EN_MONTH.index(best.group(1).lower()) + 1
            day = int(best.group(2))
            year = int(best.group(3)) if best.group(3) else None
        elif best.group(2):
            year = int(best.group(1)) if best.group(1) else None
            month, day = int(best.group(2)), int(best.group(3))
        else:
            year, month, day = None, published.month, int(best.group(4))
        if year is None:
            year = published.year
            d = dt.date(year, month, day)
            if d > published + dt.timedelta(days=7):
                d = dt.date(year - 1, month, day)
            return d
        return dt.date(year, month, day)
    except ValueError:
        return None
