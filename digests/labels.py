"""Names for region codes and chain slugs, in Chinese or English.

The gazetteer (tagging.gazetteer) and the taxonomy (tagging.taxonomy) are built
by another area; until they exist, or when they lack an entry, these adapters
fall back to what the archive itself stores (ArticleRegion.name) and to the
reference chain table of the shared spec, and finally to the raw code or slug.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

# Reference taxonomy (spec/industry-chains.md): slug -> (sector, 中文, English). Sectors map to themselves.
REFERENCE_SECTORS: dict[str, tuple[str, str]] = {
    "materials": ("新材料", "new materials"),
    "automotive": ("汽车", "automotive"),
    "electronics": ("电子信息", "electronic information"),
    "equipment": ("先进装备", "advanced equipment"),
    "pharma": ("现代医药", "modern medicine"),
    "food": ("现代食品", "modern food"),
    "textiles": ("现代轻纺", "light industry and textiles"),
    "energy": ("新能源", "new energy"),
}
REFERENCE_CHAINS: dict[str, tuple[str, str, str]] = {
    "superhard-materials": ("materials", "超硬材料", "superhard materials"),
    "nylon-materials": ("materials", "尼龙新材料", "nylon new materials"),
    "aluminum": ("materials", "铝基新材料", "aluminum"),
    "advanced-alloys": ("materials", "先进合金材料", "advanced alloys"),
    "steel": ("materials", "钢铁", "iron and steel"),
    "refractories": ("materials", "耐火材料", "refractory materials"),
    "chemical-materials": ("materials", "化工新材料", "new chemical materials"),
    "new-energy-vehicles": ("automotive", "新能源汽车", "new energy vehicles"),
    "connected-vehicles": ("automotive", "智能网联汽车", "intelligent connected vehicles"),
    "power-batteries": ("automotive", "动力电池", "power batteries"),
    "auto-parts": ("automotive", "汽车零部件", "auto parts"),
    "semiconductors": ("electronics", "半导体", "semiconductors"),
    "displays-terminals": ("electronics", "新型显示和智能终端", "displays and smart terminals"),
    "sensors": ("electronics", "智能传感器", "smart sensors"),
    "computing": ("electronics", "先进计算", "advanced computing"),
    "software": ("electronics", "软件和信息技术服务", "software and IT services"),
    "communications": ("electronics", "5G通信", "5G and communications"),
    "artificial-intelligence": ("electronics", "人工智能", "artificial intelligence"),
    "digital-economy": ("electronics", "数字经济", "digital economy"),
    "agricultural-machinery": ("equipment", "农机装备", "agricultural machinery"),
    "bearings": ("equipment", "轴承", "bearings"),
    "robots": ("equipment", "机器人", "robots"),
    "tunnel-boring": ("equipment", "盾构装备", "tunnel boring machines"),
    "power-equipment": ("equipment", "电力装备", "power equipment"),
    "machine-tools": ("equipment", "数控机床", "CNC machine tools"),
    "mining-equipment": ("equipment", "矿山装备", "mining equipment"),
    "aerospace": ("equipment", "航空航天", "aerospace"),
    "rail-transit": ("equipment", "轨道交通装备", "rail transit equipment"),
    "biomedicine": ("pharma", "生物医药", "biomedicine"),
    "medical-devices": ("pharma", "医疗器械", "medical devices"),
    "tcm": ("pharma", "中医药", "traditional Chinese medicine"),
    "food-processing": ("food", "食品加工", "food processing"),
    "cold-chain-food": ("food", "冷链食品", "cold-chain food"),
    "textiles-apparel": ("textiles", "纺织服装", "textiles and apparel"),
    "home-furnishing": ("textiles", "现代家居", "home furnishing"),
    "photovoltaics": ("energy", "光伏", "photovoltaics"),
    "wind-power": ("energy", "风电", "wind power"),
    "hydrogen": ("energy", "氢能", "hydrogen energy"),
    "energy-storage": ("energy", "储能", "energy storage"),
}


@cache
def _gazetteer() -> Any | None:
    try:
        from tagging.gazetteer import Gazetteer  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return Gazetteer.default()
    except Exception:  # a half-built data file must not stop digests
        log.warning("gazetteer unavailable; region names come from the archive", exc_info=True)
        return None


@cache
def _taxonomy() -> Any | None:
    try:
        from tagging.taxonomy import Taxonomy  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return Taxonomy.default()
    except Exception:
        log.warning("taxonomy unavailable; chain names come from the reference table", exc_info=True)
        return None


def region_name(code: str, language: str, fallback: str | None = None) -> str:
    """Chinese name (zh) or pinyin (en) of a GB/T 2260 code."""
    gaz = _gazetteer()
    entry = None
    if gaz is not None:
        try:
            entry = gaz.get(code)
        except Exception:
            entry = None
    if entry is not None:
        if language == "en":
            # .en_name prefers an established English name; .pinyin may be a string or a tuple of spellings
            for attr in ("en_name", "pinyin"):
                value = _first(getattr(entry, attr, None))
                if value:
                    return value
        if value := _first(getattr(entry, "name", None)):
            return value
    return fallback or code


def _first(value: Any) -> str | None:
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    return str(value) if value else None


def region_known(code: str) -> bool | None:
    """True/False when the gazetteer can tell, None when there is no gazetteer."""
    gaz = _gazetteer()
    if gaz is None:
        return None
    try:
        return gaz.get(code) is not None
    except Exception:
        return None


def _taxonomy_entry(slug: str) -> Any | None:
    tax = _taxonomy()
    if tax is None:
        return None
    for accessor in ("get", "chain", "get_chain", "sector", "get_sector"):
        fn = getattr(tax, accessor, None)
        if callable(fn):
            try:
                entry = fn(slug)
            except (KeyError, LookupError, ValueError, TypeError):
                entry = None
            if entry is not None:
                return entry
    return None


def chain_name(slug: str, language: str) -> str:
    """Label of a chain or sector slug; the slug itself when nothing knows it."""
    entry = _taxonomy_entry(slug)
    if entry is not None:
        names = ("name_en", "en", "english") if language == "en" else ("name_zh", "zh", "name")
        for attr in names:
            value = entry.get(attr) if isinstance(entry, dict) else getattr(entry, attr, None)
            if isinstance(value, str) and value:
                return value
    if slug in REFERENCE_CHAINS:
        _, zh, en = REFERENCE_CHAINS[slug]
        return en if language == "en" else zh
    if slug in REFERENCE_SECTORS:
        zh, en = REFERENCE_SECTORS[slug]
        return en if language == "en" else zh
    return slug


def chain_known(slug: str) -> bool:
    return _taxonomy_entry(slug) is not None or slug in REFERENCE_CHAINS or slug in REFERENCE_SECTORS


def taxonomy_available() -> bool:
    return _taxonomy() is not None
