"""Quantities written the way readers write them: 3.3e11 CNY is 3300亿元 in Chinese, 330 billion yuan in English.

Event values are stored in base units (yuan, dollars, tons, mu, kWh, a plain
count or a percentage); units arrive as the tagger's codes or as Chinese words.
"""

from __future__ import annotations

import math

# unit code -> canonical unit
_UNIT_ALIASES = {
    "cny": "cny", "rmb": "cny", "yuan": "cny", "元": "cny", "人民币": "cny",
    "usd": "usd", "$": "usd", "dollar": "usd", "美元": "usd",
    "%": "pct", "pct": "pct", "percent": "pct", "百分比": "pct",
    "count": "count", "个": "count", "家": "count", "项": "count", "家/个": "count",
    "mu": "mu", "亩": "mu",
    "ton": "ton", "tons": "ton", "t": "ton", "吨": "ton",
    "kwh": "kwh", "千瓦时": "kwh", "度": "kwh",
}
# Chinese magnitude words, largest first
_ZH_MAGNITUDES = ((1e12, "万亿"), (1e8, "亿"), (1e4, "万"))
_EN_MAGNITUDES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))
_ZH_UNITS = {"cny": "元", "usd": "美元", "mu": "亩", "ton": "吨", "kwh": "千瓦时"}
_EN_UNITS = {"cny": "yuan", "usd": "US dollars", "mu": "mu", "ton": "tons", "kwh": "kWh"}


def canonical_unit(unit: str | None) -> str | None:
    if not unit:
        return None
    key = unit.strip()
    return _UNIT_ALIASES.get(key.lower(), _UNIT_ALIASES.get(key))


def _num(x: float, digits: int = 2) -> str:
    """Up to ``digits`` decimals, trailing zeros dropped: 330.0 -> 330, 1.25 -> 1.25."""
    text = f"{round(x, digits):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _grouped(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 1000 else _num(x)


def format_zh(value: float, unit: str | None) -> str:
    return _format(value, unit, "zh")


def format_en(value: float, unit: str | None) -> str:
    return _format(value, unit, "en")


def format_quantity(value: float | None, unit: str | None, language: str, metric: str | None = None) -> str:
    """The value as a reader writes it; '' when there is no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _format(float(value), unit, language, metric)


def _format(value: float, unit: str | None, language: str, metric: str | None = None) -> str:
    kind = canonical_unit(unit)
    if kind == "pct":
        return f"{_num(value, 2)}%"
    if kind == "count":
        if language == "en":
            return _grouped(value)
        # 家 counts enterprises and institutions; 个 everything else
        word = "家" if metric and any(w in metric for w in ("企业", "公司", "机构", "平台", "园区")) else "个"
        return _zh_magnitude(value) + word
    if language == "en":
        return _en_magnitude(value) + (" " + _EN_UNITS[kind] if kind in _EN_UNITS else _raw_unit(unit))
    return _zh_magnitude(value) + (_ZH_UNITS[kind] if kind in _ZH_UNITS else (unit or "").strip())


def _raw_unit(unit: str | None) -> str:
    return f" {unit.strip()}" if unit and unit.strip() else ""


def _zh_magnitude(value: float) -> str:
    for size, word in _ZH_MAGNITUDES:
        if abs(value) >= size:
            return _num(value / size) + word
    return _num(value)


def _en_magnitude(value: float) -> str:
    for size, word in _EN_MAGNITUDES:
        if abs(value) >= size:
            return f"{_num(value / size)} {word}"
    return _grouped(value)
