"""Quantified goals ("到2025年…突破500亿元", "by 2025 ... exceed 100 billion yuan"), not achieved figures.

A running *frame* walks through the article: goal markers (到2025年, 力争, 目标, 将, by 2025,
strive, will) open a goal frame with its year; past markers (2021年 before the publication
year, 前三季度, 同比, last year, in the first three quarters) open a past frame. A sentence
that starts with a date or "会上/At the meeting" closes the frame. Inside a goal frame, a
quantity counts when it stands in value position (the object of its clause, not a modifier
like "10 billion level enterprises" or "5家企业"), and no clause-level achieved marker
(同比, 已, 累计, 签约, signed, year on year) precedes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..numbers import TARGET_UNITS, Quantity, en_quantities, zh_quantities
from ..sentences import Span, clauses

_ZH_GOAL = re.compile(r"力争|力促|争取|目标|确保|预计到|计划到|规划|提出|将|要|突破|不低于|保持在|稳定在|提高到|提升到")
_ZH_GOAL_STRONG = re.compile(r"力争|力促|争取|目标|确保|预计到|计划到|提出")
_ZH_GOAL_WEAK = re.compile(r"(?<![即])将(?!近)")
_ZH_PAST = re.compile(r"前三季度|上半年|前两个月|一季度|[1一][—\-－~至][0-9一二三四五六七八九十]+月|今年以来|去年|上年|截至|截止")
_ZH_STRONG_ACHIEVED = re.compile(r"同比|比上年|较上年|已经|已|累计|首次|首批|签约|签署|入盟|成为")
_ZH_WEAK_ACHIEVED = re.compile(r"完成|实现")
_ZH_NEUTRAL = re.compile(r"目前|现有|当前|现已")
_ZH_YEAR = re.compile(r"(到|至|截至|截止)?(\d{4})年(底|末|前)?")
_ZH_THIS_YEAR = re.compile(r"今年|全年|本年度|年内")
_ZH_NEXT_YEAR = re.compile(r"明年")
_ZH_DATE_START = re.compile(r"^(?:\d{4}年)?\d{1,2}月\d{1,2}日|^\d{1,2}日|^会上|^会议(?!提出|要求|明确)")
_ZH_TAIL = re.compile(r"(?:以上|左右|以内|上下|之内|多|余)?(?:[，。；、,;：:！!？?）)\s]|$|的目标|目标)")

_EN_GOAL = re.compile(r"\b(?:strive|strives|striving|aim|aims|target|targets|plan to|plans to|expected to|is set to)\b",
                      re.I)
_EN_GOAL_WEAK = re.compile(r"\b(?:will|to reach|to exceed|to achieve|to build|to increase|should)\b", re.I)
_EN_PAST = re.compile(r"\b(?:first (?:three|two) quarters|first half|last year|previous year|january to|"
                      r"since the implementation)\b", re.I)
_EN_STRONG_ACHIEVED = re.compile(r"\b(?:year on year|year-on-year|signed|already|so far|has reached|have reached|"
                                 r"has achieved|achieved|up \d|joined|became|first batch)\b", re.I)
_EN_NEUTRAL = re.compile(r"\b(?:at present|currently|now has|has gathered)\b", re.I)
_EN_YEAR = re.compile(r"\b(by|in|until|before|since|of)?\s*(?:the end of\s+)?((?:19|20)\d\d)\b", re.I)
_EN_THIS_YEAR = re.compile(r"\bthis year\b", re.I)
_EN_NEXT_YEAR = re.compile(r"\bnext year\b", re.I)
_EN_DATE_START = re.compile(r"^(?:on|in)\s+(?:january|february|march|april|may|june|july|august|september|october|"
                            r"november|december)\b|^at the meeting|^during the", re.I)
_EN_TAIL = re.compile(r"\s*(?:[,.;:)]|$|(?:by|in|this|and|or|to|above|or more|respectively|year|per|from)\b)", re.I)
_EN_COUNT_VERB = re.compile(r"\b(?:cultivate|cultivating|build|building|add|adding|new|introduce|attract|create|form|"
                            r"foster|nurture|establish|construct|develop|reached|reach|reaches|exceed|exceeds|"
                            r"to)\s+(?:more than\s+|at least\s+|over\s+)?$", re.I)
_EN_COUNT_NOUN = re.compile(r"^\s+(?:[a-z-]+\s+){0,4}?(?:enterprises|companies|firms|projects|platforms|clusters|"
                            r"parks|bases|workshops|factories|plants|centers|centres|products|brands)\b", re.I)
_EN_COUNT_TAIL = re.compile(r"^\s*(?:[;.,]|$)")
_EN_WITH = re.compile(r"\d+\s+(?:[a-z-]+\s+){0,4}?(?:enterprises|companies|firms)\s+with\b[^,;]*$", re.I)
_ZH_STRIP = re.compile(r"^(?:根据.*?，|到\d{4}年(?:底|末)?|力争|力促|争取|全市|全省|全区|全县|今年|全年|方案提出|计划提出|"
                       r"规划提出|提出|其中|推动|同时|和|及)+")
_ZH_VERB_END = re.compile(r"(?:力争|突破|达到|超过|超|增长|提高到|提升到|提高|保持在|稳定在|不低于|为|达|实现|新增|培育|建成|建设|引进培育|引进|新建)+$")


# How far around a figure its clause is read (markers, metric, "by 2025" after it). Real clauses
# are far shorter; the bound keeps a flattened table (thousands of figures, no punctuation) linear.
_WINDOW = 300


@dataclass(slots=True)
class TargetHit:
    value: float
    unit: str
    year: int | None
    metric: str
    start: int
    end: int
    sentence: Span
    in_title: bool


@dataclass(slots=True)
class _Frame:
    mode: str | None = None  # goal | past | None
    year: int | None = None
    strong: bool = False  # a goal frame with a year or an explicit goal word outlives its sentence


def find_targets(sentences: list[Span], *, english: bool, pub_year: int | None, in_title: bool) -> list[TargetHit]:
    frame = _Frame()
    out: list[TargetHit] = []
    last_para = -1
    for sent in sentences:
        if sent.para != last_para:
            last_para = sent.para
        date_start = _EN_DATE_START if english else _ZH_DATE_START
        if date_start.search(sent.text):
            frame = _Frame()
        for clause in clauses(sent):
            _scan_clause(clause, sent, frame, out, english=english, pub_year=pub_year, in_title=in_title)
        if frame.mode == "goal" and not (frame.strong or frame.year is not None):
            frame = _Frame()
    return out


def _markers(text: str, english: bool, pub_year: int | None) -> list[tuple[int, str, int | None]]:
    """(position, kind, year) for frame-setting markers in a clause; kind in goal/past/neutral/year."""
    ev: list[tuple[int, str, int | None]] = []
    inside_title = [(m.start(), m.end()) for m in re.finditer(r"《[^》]*》|“[^”]*(?:方案|计划|规划|plan)[^”]*”", text)]

    def hidden(pos: int) -> bool:
        return any(a <= pos < b for a, b in inside_title)

    if english:
        for m in _EN_YEAR.finditer(text):
            if hidden(m.start()):
                continue
            prep, y = (m.group(1) or "").lower(), int(m.group(2))
            if prep in ("by", "until", "before"):
                ev.append((m.start(), "goal", y))
            elif prep == "since":
                ev.append((m.start(), "past", None))
            else:
                ev.append((m.start(), _year_kind(y, pub_year), y))
        for rx, kind in ((_EN_GOAL, "goal"), (_EN_GOAL_WEAK, "goal-weak"), (_EN_PAST, "past"),
                         (_EN_NEUTRAL, "neutral")):
            ev.extend((m.start(), kind, None) for m in rx.finditer(text) if not hidden(m.start()))
        ev.extend((m.start(), "year", pub_year) for m in _EN_THIS_YEAR.finditer(text))
        ev.extend((m.start(), "goal", pub_year + 1 if pub_year else None) for m in _EN_NEXT_YEAR.finditer(text))
    else:
        for m in _ZH_YEAR.finditer(text):
            if hidden(m.start()):
                continue
            prep, y = m.group(1), int(m.group(2))
            if prep in ("到", "至"):
                ev.append((m.start(), "goal", y))
            elif prep in ("截至", "截止"):
                ev.append((m.start(), "past", y))
            else:
                ev.append((m.start(), _year_kind(y, pub_year), y))
        for rx, kind in ((_ZH_GOAL_STRONG, "goal"), (_ZH_GOAL_WEAK, "goal-weak"), (_ZH_PAST, "past"),
                         (_ZH_NEUTRAL, "neutral")):
            ev.extend((m.start(), kind, None) for m in rx.finditer(text) if not hidden(m.start()))
        ev.extend((m.start(), "year", pub_year) for m in _ZH_THIS_YEAR.finditer(text))
        ev.extend((m.start(), "goal", pub_year + 1 if pub_year else None) for m in _ZH_NEXT_YEAR.finditer(text))
    ev.sort(key=lambda x: x[0])
    return ev


_YEAR_AHEAD = re.compile(r"\bby (?:the end of )?((?:19|20)\d\d)\b|到((?:19|20)\d\d)年", re.I)


def _year_ahead(rest: str) -> int | None:
    m = _YEAR_AHEAD.search(rest)
    return int(m.group(1) or m.group(2)) if m else None


def _year_kind(y: int, pub_year: int | None) -> str:
    if pub_year is None:
        return "year"
    if y < pub_year:
        return "past"
    if y > pub_year:
        return "goal"
    return "year"


def _apply(frame: _Frame, kind: str, year: int | None) -> None:
    if kind == "goal":
        frame.mode = "goal"
        frame.strong = True
        if year is not None:
            frame.year = year
    elif kind == "goal-weak":
        if frame.mode != "goal":
            frame.mode = "goal"
            frame.strong = False
    elif kind == "past":
        frame.mode = "past"
        frame.year = year
        frame.strong = False
    elif kind == "neutral":
        frame.mode = None
        frame.year = None
        frame.strong = False
    elif kind == "year":
        frame.year = year


def _scan_clause(clause: Span, sent: Span, frame: _Frame, out: list[TargetHit], *, english: bool,
                 pub_year: int | None, in_title: bool) -> None:
    text = clause.text
    markers = _markers(text, english, pub_year)
    quantities = en_quantities(text) if english else zh_quantities(text)
    mi = 0
    for q in quantities:
        while mi < len(markers) and markers[mi][0] < q.start:
            _apply(frame, markers[mi][1], markers[mi][2])
            mi += 1
        if frame.mode != "goal":
            continue
        unit = _accept(text, q, quantities, english)
        if unit is None:
            continue
        before = text[max(0, q.start - _WINDOW) : q.start]
        if english:
            if _EN_STRONG_ACHIEVED.search(before):
                continue
        else:
            if _ZH_STRONG_ACHIEVED.search(before):
                continue
            if _ZH_WEAK_ACHIEVED.search(before) and not _ZH_GOAL.search(before):
                continue
        ahead = clause.start - sent.start + q.end
        year = frame.year if frame.year is not None else _year_ahead(sent.text[ahead : ahead + _WINDOW])
        out.append(TargetHit(q.value, unit, year, _metric(before, english), clause.start + q.start,
                             clause.start + q.end, sent, in_title))
    for kind_pos in markers[mi:]:
        _apply(frame, kind_pos[1], kind_pos[2])


def _accept(text: str, q: Quantity, all_q: list[Quantity], english: bool) -> str | None:
    """The target unit of a quantity in value position, or None."""
    after = text[q.end : q.end + _WINDOW]
    if not english:
        if q.unit not in TARGET_UNITS:
            return None
        return q.unit if _ZH_TAIL.match(after) else None
    if (q.unit is None and q.raw.strip().isdigit()) or (q.unit is None and re.fullmatch(r"[\d,]+", q.raw.strip())):
        before = text[max(0, q.start - _WINDOW) : q.start]
        if _EN_COUNT_VERB.search(before) and (_EN_COUNT_NOUN.match(after) or _EN_COUNT_TAIL.match(after)):
            return "count"
        if _EN_COUNT_TAIL.match(after) and re.search(r"[A-Za-z]\s+$", before) and not re.search(
            r"\b(?:in|on|of|at|for|than|to|from|about|around|nearly|and|the|a|an)\s+$", before, re.I
        ):
            return "count"
        return None
    if q.unit not in TARGET_UNITS:
        return None
    if not _EN_TAIL.match(after):
        return None
    # "cultivate 5 enterprises with output value of more than 5 billion yuan": a modifier
    if q.unit in ("CNY", "USD") and _EN_WITH.search(text[max(0, q.start - _WINDOW) : q.start]):
        return None
    return q.unit


# "strives to make the ... scale of more than": the words around a metric that are not the metric
_EN_METRIC_HEAD = re.compile(r"^(?:strives?|striving|aims?|plans?|seeks?|will|to|make|makes|its|their|the|and|that)\s+",
                             re.I)
_EN_METRIC_SUBJECT = re.compile(  # "Hefei strives to", "Xiangyang City will": the region, not the metric
    r"^(?:[A-Z][\w-]*\s+){1,3}(?:city\s+|province\s+|county\s+|district\s+)?(?=(?:strives?|aims?|plans?|seeks?|will)\s)",
    re.I)
_EN_METRIC_TAIL = re.compile(
    r"\s+(?:to|will|of|reached|reach|exceed|more than|around|about|above|at least|not less than)$", re.I)


def _until_stable(rx: re.Pattern[str], s: str) -> str:
    while (cut := rx.sub("", s)) != s:
        s = cut
    return s


def _metric(before: str, english: bool) -> str:
    s = before.strip(" ，,;；:：“”\"")
    if english:
        s = re.sub(r"^(?:and|by \d{4}|according to the [^,]*)\s+", "", s, flags=re.I)
        s = _until_stable(_EN_METRIC_TAIL, s)
        if len(s) > 60:  # keep the last words whole: "strives to ... scale", not "s to ... scale"
            s = s[-60:]
            s = s.split(" ", 1)[1] if " " in s else s
        return _until_stable(_EN_METRIC_HEAD, _EN_METRIC_SUBJECT.sub("", s.strip()))
    s = _ZH_STRIP.sub("", s)
    s = _ZH_VERB_END.sub("", s)
    return s[-30:]
