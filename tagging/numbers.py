"""Numbers with units in Chinese and English text, normalised (330 亿元 = 3.3e10 CNY)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

ZH_MULT = {"万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4, "千": 1e3}
EN_MULT = {"trillion": 1e12, "billion": 1e9, "million": 1e6, "thousand": 1e3, "hundred million": 1e8}
ZH_UNITS: dict[str, tuple[str, float]] = {
    "美元": ("USD", 1), "元": ("CNY", 1), "辆": ("count", 1), "家": ("count", 1), "个": ("count", 1),
    "条": ("count", 1), "项": ("count", 1), "座": ("count", 1), "所": ("count", 1), "台": ("count", 1),
    "套": ("count", 1), "部": ("count", 1), "件": ("count", 1), "户": ("count", 1), "人": ("count", 1),
    "名": ("count", 1), "吨": ("ton", 1), "亩": ("mu", 1), "千瓦时": ("kWh", 1), "度电": ("kWh", 1),
    "度": ("kWh", 1), "GWh": ("kWh", 1e6), "MWh": ("kWh", 1e3), "TWh": ("kWh", 1e9), "kWh": ("kWh", 1),
    "千瓦": ("other", 1), "平方米": ("other", 1), "%": ("%", 1), "％": ("%", 1),
    "个百分点": ("pp", 1), "倍": ("times", 1), "次": ("times", 1), "张": ("other-count", 1),
}
EN_UNITS: dict[str, tuple[str, float]] = {
    "yuan": ("CNY", 1), "rmb": ("CNY", 1), "us dollars": ("USD", 1), "u.s. dollars": ("USD", 1),
    "dollars": ("USD", 1), "usd": ("USD", 1), "%": ("%", 1), "percent": ("%", 1), "per cent": ("%", 1),
    "percentage points": ("pp", 1), "tons": ("ton", 1), "tonnes": ("ton", 1), "ton": ("ton", 1),
    "tonne": ("ton", 1), "mu": ("mu", 1), "gwh": ("kWh", 1e6), "kwh": ("kWh", 1), "mwh": ("kWh", 1e3),
    "twh": ("kWh", 1e9), "times": ("times", 1),
}
TARGET_UNITS = frozenset({"CNY", "USD", "%", "count", "mu", "ton", "kWh", "other"})

_NUM = r"(?<![\d.,])(\d+(?:,\d{3})*(?:\.\d+)?)"
_ZH = re.compile(
    _NUM + r"\s*(万亿|千亿|百亿|亿|千万|百万|万|千)?\s*("
    + "|".join(sorted(map(re.escape, ZH_UNITS), key=len, reverse=True)) + r")?"
)
_ZH_NOT_QTY = re.compile(r"\s*(?:年|月|日|时|号|季度|届|周|点|分|秒|—|-|~|～|℃|摄氏度|岁|级|大)")
_EN = re.compile(
    r"(US\$\s?|\$\s?|RMB\s?|CNY\s?)?" + _NUM + r"\s*(trillion|hundred million|billion|million|thousand)?\s*("
    + "|".join(sorted((re.escape(u) for u in EN_UNITS if u != "%"), key=len, reverse=True))
    + r")?\b(%)?",
    re.IGNORECASE,
)
_MONTHS = r"(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"
_EN_DATE_BEFORE = re.compile(_MONTHS + r"\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float
    unit: str | None  # CNY USD % count ton mu kWh other pp times other-count, or None for a bare number
    start: int
    end: int
    raw: str


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def _finite(value: float) -> bool:
    """A 400-digit "number" reads as float('inf'): no quantity (JSON, the API and charts refuse it)."""
    return math.isfinite(value) and value < 1e300


def is_year(raw: str) -> bool:
    return bool(re.fullmatch(r"(19|20)\d\d", raw))


# Amounts written in Chinese numerals (三百亿元, 两千万吨, 五个百分点): only before a unit of money,
# weight, area, energy or percentage points, where a bare 一/十 cannot be part of another word.
_CN_DIGITS = "零〇一二两三四五六七八九十"
_ZH_CN = re.compile(
    r"(?<![" + _CN_DIGITS + r"百千万亿第点])([" + _CN_DIGITS + r"百千万亿]+(?:点[" + _CN_DIGITS + r"]+[百千万亿]*)?)"
    r"(美元|元|吨|亩|千瓦时|度电|个百分点)")
_CN_MIN_VALUE = {"pp": 0.0}  # 一元, 五吨: too small to be a target, and 统一元器件 is not an amount


def _cn_number(raw: str) -> float | None:
    if not any(c in _CN_DIGITS for c in raw):
        return None  # 万元, 亿元 alone: a unit, not an amount
    import cn2an

    factor = 1.0
    decimal = re.fullmatch(r"(.+点[^百千万亿]+)([百千万亿]+)", raw)
    if decimal:  # 一点五亿: cn2an reads 一点五, the multiplier is ours
        raw, suffix = decimal.groups()
        if suffix not in ZH_MULT:
            return None
        factor = ZH_MULT[suffix]
    try:
        return float(cn2an.cn2an(raw, "normal")) * factor  # "normal" reads 两 as well
    except (ValueError, KeyError, IndexError):  # cn2an raises ValueError on malformed numerals
        return None


def zh_numeral_quantities(text: str) -> list[Quantity]:
    """Amounts in Chinese numerals followed by a unit, e.g. 三百亿元 = 3e10 CNY."""
    out: list[Quantity] = []
    for m in _ZH_CN.finditer(text):
        value = _cn_number(m.group(1))
        if value is None:
            continue
        unit, factor = ZH_UNITS[m.group(2)]
        value *= factor
        if not _finite(value) or value < _CN_MIN_VALUE.get(unit, 10):
            continue
        out.append(Quantity(value, unit, m.start(), m.end(), m.group()))
    return out


def zh_quantities(text: str) -> list[Quantity]:
    """Quantities in Arabic digits (with 万/亿 multipliers) and in Chinese numerals, in text order."""
    found = _zh_digit_quantities(text)
    if any(c in text for c in "十百千万亿两"):
        taken = [(q.start, q.end) for q in found]
        found += [q for q in zh_numeral_quantities(text)
                  if not any(q.start < end and start < q.end for start, end in taken)]
        found.sort(key=lambda q: q.start)
    return found


def _zh_digit_quantities(text: str) -> list[Quantity]:
    out: list[Quantity] = []
    for m in _ZH.finditer(text):
        num, mult, unit = m.group(1), m.group(2), m.group(3)
        if m.start() > 0 and text[m.start() - 1] in "第":
            continue
        if not mult and not unit:
            if _ZH_NOT_QTY.match(text, m.end()) or is_year(num) or not _finite(_num(num)):
                continue
            out.append(Quantity(_num(num), None, m.start(), m.end(), m.group()))
            continue
        if mult and not unit and _ZH_NOT_QTY.match(text, m.end()):
            continue
        value = _num(num) * (ZH_MULT[mult] if mult else 1)
        if unit:
            u, f = ZH_UNITS[unit]
            value *= f
        else:
            u = None
        if not _finite(value):
            continue
        out.append(Quantity(value, u, m.start(), m.end(), m.group()))
    return out


def en_quantities(text: str) -> list[Quantity]:
    out: list[Quantity] = []
    for m in _EN.finditer(text):
        cur, num, mult, unit, pct = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
        bare = not (mult or unit or pct)
        if bare and (_EN_DATE_BEFORE.search(text[max(0, m.start() - 12) : m.start()])
                     or re.search(r"(?:no\.|number)\s*$", text[max(0, m.start() - 8) : m.start()], re.I)):
            continue
        value = _num(num) * (EN_MULT[mult.lower()] if mult else 1)
        u: str | None = None
        if pct:
            u = "%"
        elif unit:
            u, f = EN_UNITS[re.sub(r"\s+", " ", unit.lower())]
            value *= f
        elif cur:
            u = "USD" if "$" in cur else "CNY"
        if u is None and not mult and is_year(num):
            continue
        if not _finite(value):
            continue
        end = m.end() if (unit or pct or mult or cur) else m.start(2) + len(num)
        out.append(Quantity(value, u, m.start(), end, text[m.start() : end]))
    return out
