#!/usr/bin/env python3
"""Run the tagger over an evaluation corpus and score it with the corpus's score.py.

Measurement only: the tagger sees each article's title and body, normalised as the crawler
normalises (inline pinyin removed, traditional converted to simplified), the published date
and the source's region (looked up from the site's name in the gazetteer, as a source's
configured region would be). Gold answers are never read here; score.py reads them.

    python scripts/eval_tagging.py [CORPUS] [--out OUT.jsonl] [--score-py PATH] [--verbose]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tagging import Tagger
from tagging.gazetteer import Gazetteer
from tagging.normalize import normalize_text, original_form

DEFAULT_CORPUS = Path("/work/shared/eval/corpus")
DEFAULT_URL_STYLE = "/news/{id}.html"


def article_path(site: dict, art: dict) -> str:
    """Same rule as mockweb.article_path: the article's own path wins over the site's url_style."""
    p = art.get("path")
    if p:
        p = str(p).strip()
        return p if p.startswith("/") else "/" + p
    style = site.get("url_style") or DEFAULT_URL_STYLE
    y, mo, d = [*str(art.get("published") or "0000-00-00")[:10].split("-"), "00", "00"][:3]
    out = (style.replace("{yyyymmdd}", y + mo + d).replace("{yyyymm}", y + mo).replace("{yyyy}", y)
           .replace("{mm}", mo).replace("{dd}", d).replace("{id}", str(art.get("id"))))
    return out if out.startswith("/") else "/" + out


def site_region(gaz: Gazetteer, site: dict) -> str | None:
    """The region a source is about, from its name (河南产业新闻网 -> 410000), as configured for a source."""
    name = normalize_text(str(site.get("name") or ""), site.get("lang"))
    for i in range(len(name)):  # leftmost-longest Chinese place name; romanised company names are not places
        for j in range(min(len(name), i + 12), i + 1, -1):
            regions = [r for r in gaz.find(name[i:j]) if r.level != "county" or r.name == name[i:j]]
            if regions and "\u4e00" <= name[i] <= "\u9fff":
                return regions[0].code  # find() sorts provinces first
    return None


def export_record(tagger: Tagger, site: dict, art: dict, src_region: str | None) -> dict:
    lang = art.get("lang") or site.get("lang")
    title = normalize_text(art.get("title") or "", lang)
    text = normalize_text(art.get("body") or "", lang)
    published = dt.date.fromisoformat(str(art["published"])[:10]) if art.get("published") else None
    a = tagger.analyze(title, text, language=lang, published=published, source_region=src_region)
    return {
        "url": article_path(site, art),
        "title": art.get("title"),
        "text": art.get("body"),
        "language": lang,
        "published": art.get("published"),
        "relevant": a.relevant,
        "regions": [r.code for r in a.regions],
        "chains": [c.slug for c in a.chains],
        # names as written in the article's own script (FORMAT.md), found back through the normalisation
        "alliances": [{"name": _as_written(art, lang, e.name or ""), "region": e.region_code,
                       "date": e.date.isoformat() if e.date else None} for e in a.events_of("alliance")],
        "targets": [{"region": e.region_code, "metric": e.metric, "value": e.value, "unit": e.unit, "year": e.year}
                    for e in a.events_of("target")],
        "duplicate_of": None,
    }


def _as_written(art: dict, lang: str | None, name: str) -> str:
    for field in ("body", "title"):
        form = original_form(art.get(field) or "", lang, name)
        if form != name or name in (art.get(field) or ""):
            return form
    return name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    ap.add_argument("--out", default="/tmp/chainwatch_eval_tagging.jsonl")
    ap.add_argument("--score-py", default=None, help="default: ../score.py next to the corpus")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    corpus = Path(args.corpus)
    sites = {s["key"]: s for s in json.loads((corpus / "sites.json").read_text(encoding="utf-8"))}
    tagger = Tagger.default()
    regions = {k: site_region(tagger.gazetteer, s) for k, s in sites.items()}
    with open(args.out, "w", encoding="utf-8") as fh:
        for p in sorted((corpus / "articles").glob("*.json")):
            art = json.loads(p.read_text(encoding="utf-8"))
            site = sites[art["site"]]
            fh.write(json.dumps(export_record(tagger, site, art, regions[art["site"]]), ensure_ascii=False) + "\n")
    score_py = Path(args.score_py) if args.score_py else corpus.parent / "score.py"
    cmd = [sys.executable, str(score_py), str(corpus), args.out]
    if args.verbose:
        cmd.append("--verbose")
    if args.json:
        cmd += ["--json", args.json]
    print("source regions:", regions, file=sys.stderr)
    return subprocess.call(cmd)


if __name__ == "__main__":
    raise SystemExit(main())
