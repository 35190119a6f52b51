#!/usr/bin/env python3
"""Build tagging/data/gazetteer.json.gz from maintained data.

Sources:
- the division table shipped by the ``cpca`` package (0.5.5): ``cpca/resources/adcodes.csv``
  (12-digit codes whose first six digits are GB/T 2260) and ``cpca/resources/56_nations.csv``
  (the ethnic-group names stripped from autonomous-division names). The CSVs are read
  directly: importing cpca pulls pandas and breaks on recent setuptools.
- ``pypinyin`` for the romanised forms.
- ``jieba``'s dictionary (dict.txt) to flag short names that are also common words
  (新兴, 合作, 振兴 ...): those are kept in the data but matched only in full form.
- ``tagging/data/gazetteer_patches.yaml``: sourced corrections for divisions changed after
  cpca's data, conventional English names and the province abbreviations.

Usage: pip install pypinyin cpca --no-deps  (the ``tools`` extra), then
       python scripts/build_gazetteer.py [--cpca-dir DIR] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tagging" / "data"
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
SUFFIXES = [
    "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "自治旗",
    "地区", "林区", "新区", "省", "市", "县", "区", "盟", "旗",
]
# A short name that is a common word in jieba's dictionary with at least this frequency
# (and not tagged as a place name) is matched only in full form.
COMMON_WORD_FREQ = 300


def find_cpca_dir(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("cpca")  # locate without importing (no pandas needed)
    if spec is None or not spec.submodule_search_locations:
        sys.exit("cpca is not installed: pip install cpca --no-deps, or pass --cpca-dir")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


def level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def load_nations(path: Path) -> list[str]:
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: set[str] = set()
    for n in names:
        out.add(n)
        if n.endswith("族"):
            out.add(n[:-1])
    return sorted(out, key=len, reverse=True)


def short_names(name: str, level: str, nations: list[str]) -> list[str]:
    base = name
    for suf in SUFFIXES:
        if base.endswith(suf) and len(base) > len(suf):
            base = base[: -len(suf)]
            break
    # strip ethnic-group names repeatedly: 恩施土家族苗族 -> 恩施
    changed = True
    while changed:
        changed = False
        for n in nations:
            if base.endswith(n) and len(base) - len(n) >= 2:
                base = base[: -len(n)]
                changed = True
                break
    out = []
    if base != name and len(base) >= 2:
        out.append(base)
    return out


def load_jieba_dict() -> dict[str, tuple[int, str]]:
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        return {}
    p = Path(next(iter(spec.submodule_search_locations))) / "dict.txt"
    out: dict[str, tuple[int, str]] = {}
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3:
                out[parts[0]] = (int(parts[1]), parts[2])
    return out


def is_common_word(alias: str, level: str, words: dict[str, tuple[int, str]]) -> bool:
    """County short names that jieba knows as frequent common words (新兴, 振兴, 合作, 前进).

    Provinces and prefectures are never flagged from jieba (its tags for city names are
    unreliable: 合肥 'n', 开封 'v'); the few risky ones are listed in tagging/data/regions.yaml.
    """
    if level != "county" or alias not in words:
        return False
    freq, tag = words[alias]
    return tag not in ("ns", "nr", "nrt") and freq >= COMMON_WORD_FREQ


def romanise(chinese: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    sylls = [s.replace("v", "u").replace("ü", "u") for s in lazy_pinyin(chinese, style=Style.NORMAL)]
    if not sylls or not all(re.fullmatch(r"[a-z]+", s) for s in sylls):
        return []
    plain = "".join(sylls)
    forms = [plain.capitalize()]
    # Xi'an style apostrophe before a syllable that starts with a vowel
    if any(s[0] in "aoe" for s in sylls[1:]):
        forms.append(_apostrophised(sylls).capitalize())
    return forms


def _apostrophised(sylls: list[str]) -> str:
    out = sylls[0]
    for s in sylls[1:]:
        out += ("'" + s) if s[0] in "aoe" else s
    return out


def build(cpca_dir: Path, patches_path: Path) -> dict:
    nations = load_nations(cpca_dir / "56_nations.csv")
    words = load_jieba_dict()
    patches = yaml.safe_load(patches_path.read_text(encoding="utf-8"))
    rows: dict[str, dict] = {}
    with (cpca_dir / "adcodes.csv").open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            code, name = rec["adcode"][:6], rec["name"].strip()
            if name in PLACEHOLDERS or not re.fullmatch(r"\d{6}", code):
                continue
            rows[code] = {"code": code, "name": name, "level": level_of(code)}
    for d in patches.get("divisions", []):
        rows[d["code"]] = {"code": d["code"], "name": d["name"], "level": d["level"], "parent": d["parent"],
                           "source": d["source"]}
    replaced: dict[str, str] = {}
    for d in patches.get("divisions", []):
        for old in d.get("replaces", []):
            replaced[old] = d["code"]

    def parent_of(code: str) -> str | None:
        lvl = level_of(code)
        if lvl == "province":
            return None
        if lvl == "county" and code[:4] + "00" in rows:
            return code[:4] + "00"
        prov = code[:2] + "0000"
        return prov if prov in rows else None

    english = {str(k): v for k, v in (patches.get("english") or {}).items()}
    abbr = {str(k): v for k, v in (patches.get("abbreviations") or {}).items()}
    out = []
    for code in sorted(rows):
        r = rows[code]
        shorts = short_names(r["name"], r["level"], nations)
        safe = [s for s in shorts if not is_common_word(s, r["level"], words)]
        common = [s for s in shorts if s not in safe]
        base = shorts[0] if shorts else r["name"]
        pinyin = romanise(base)
        entry = {
            "code": code,
            "name": r["name"],
            "level": r["level"],
            "parent": r.get("parent") or parent_of(code),
            "short": safe,
            "common_word_short": common,
            "pinyin": pinyin,
            "english": english.get(code, []),
        }
        if code in abbr:
            entry["abbr"] = abbr[code]
        if code in replaced:
            entry["replaced_by"] = replaced[code]
        if r.get("source"):
            entry["source"] = r["source"]
        out.append(entry)
    return {
        "source": "cpca 0.5.5 resources/adcodes.csv + 56_nations.csv; pypinyin; jieba dict.txt; "
        "tagging/data/gazetteer_patches.yaml",
        "generated_by": "scripts/build_gazetteer.py",
        "regions": out,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpca-dir", help="folder holding adcodes.csv (default: the installed cpca package)")
    ap.add_argument("--patches", default=str(DATA / "gazetteer_patches.yaml"))
    ap.add_argument("--out", default=str(DATA / "gazetteer.json.gz"))
    args = ap.parse_args()
    data = build(find_cpca_dir(args.cpca_dir), Path(args.patches))
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    with gzip.GzipFile(args.out, "wb", mtime=0) as fh:  # mtime=0: reproducible bytes
        fh.write(raw)
    levels: dict[str, int] = {}
    for r in data["regions"]:
        levels[r["level"]] = levels.get(r["level"], 0) + 1
    print(f"wrote {args.out}: {len(data['regions'])} divisions {levels}")


if __name__ == "__main__":
    main()
