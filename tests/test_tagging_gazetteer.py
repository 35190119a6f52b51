"""Gazetteer and taxonomy data: built from cpca's table, hierarchy, lookups."""

from __future__ import annotations

import pytest

from tagging.gazetteer import Gazetteer
from tagging.taxonomy import Taxonomy


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.default()


def test_covers_every_level_of_the_mainland(gaz: Gazetteer) -> None:
    levels = {"province": 0, "prefecture": 0, "county": 0}
    for r in gaz:
        levels[r.level] += 1
    assert levels["province"] == 34
    assert levels["prefecture"] > 330
    assert levels["county"] > 2800


def test_hierarchy_of_county_level_city(gaz: Gazetteer) -> None:
    assert gaz.ancestors("410181") == ["410100", "410000"]
    assert "410181" in gaz.descendants("410100")
    assert "410181" in gaz.descendants("410000")
    assert gaz.get("410181").level == "county"


@pytest.mark.parametrize("query", ["河南", "河南省", "豫", "Henan", "henan province", "410000", "410000000000"])
def test_find_province_forms(gaz: Gazetteer, query: str) -> None:
    assert gaz.find(query)[0].code == "410000"


@pytest.mark.parametrize(("query", "code"), [
    ("洛阳", "410300"), ("洛阳市", "410300"), ("Luoyang", "410300"), ("luoyang", "410300"),
    ("Gongyi City", "410181"), ("Liaocheng", "371500"), ("Inner Mongolia", "150000"), ("Shaanxi", "610000"),
])
def test_find_names(gaz: Gazetteer, query: str, code: str) -> None:
    assert gaz.find(query)[0].code == code


def test_ambiguous_romanisation_returns_all(gaz: Gazetteer) -> None:
    assert {r.code for r in gaz.find("Taizhou")} >= {"321200", "331000"}
    assert {r.code for r in gaz.find("Fuzhou")} >= {"350100", "361000"}


def test_patched_division_resolves_to_new_code(gaz: Gazetteer) -> None:
    assert gaz.find("孟津区")[0].code == "410308"
    assert gaz.get("410322").code == "410308"  # 孟津县 -> 孟津区 (2021)
    assert gaz.ancestors("410308") == ["410300", "410000"]


def test_taxonomy_resolve_and_sectors() -> None:
    tax = Taxonomy.default()
    assert tax.sector_of("bearings") == "equipment"
    assert tax.resolve("轴承") == ["bearings"]
    assert tax.resolve("Bearings") == ["bearings"]
    got = tax.resolve("materials")
    assert got[0] == "materials" and "superhard-materials" in got
    assert tax.resolve("新能源汽车") == ["new-energy-vehicles"]


def test_every_chain_maps_to_the_reference_slugs() -> None:
    ref = {"materials", "automotive", "electronics", "equipment", "pharma", "food", "textiles", "energy"}
    tax = Taxonomy.default()
    assert set(tax.sectors) == ref
    assert len(tax.chains) == 39


@pytest.mark.parametrize("name, code", [
    ("郑州市工业和信息化局", "410100"),  # a city bureau
    ("河南省郑州市人民政府", "410100"),  # province then city: the most specific
    ("南京市江宁区人民政府", "320115"),
    ("洛阳日报", "410300"),  # a city paper by its short name
    ("河南产业新闻网", "410000"),  # 河南 is also a county in Qinghai: the province wins
    ("吉林市人民政府", "220200"),  # the city, not the province of the same name
    ("中原网", None),  # a county's short name is a word here
    ("朝阳区政府", None),  # two districts of that name
    ("華夏產經網", None),
    ("China Regional Business Daily", None),
])
def test_leading_region_of_a_site_name(gaz: Gazetteer, name: str, code: str | None) -> None:
    assert gaz.leading_region(name) == code
