"""Regions an article is about: place mentions, their context, disambiguation and selection."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .gazetteer import EN_SUFFIXES, LEVEL_RANK, Gazetteer, en_key
from .matcher import DictScanner
from .sentences import Span, sentence_at

DATA_DIR = Path(__file__).resolve().parent / "data"
TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.5
CONTEXT_FACTOR = {"subject": 1.0, "venue": 0.3, "list": 0.3, "org": 0.0, "byline": 0.0, "qualifier": 0.0}
_EN_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_PAREN = re.compile(r"[（(][^（()）]{0,60}[)）]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# "Suzhou, a city in northern anhui", "Fuzhou in eastern jiangxi", "Taizhou city of jiangsu"
_EN_QUALIFIER_GAP = re.compile(
    r"(?:,\s*)?(?:(?:a|the)\s+)?(?:[a-z-]+\s+){0,3}?(?:in|of)\s+(?:the\s+)?"
    r"(?:(?:north|south|east|west|central|northern|southern|eastern|western|north-?eastern|north-?western|"
    r"south-?eastern|south-?western)\s+)?")


@dataclass(slots=True)
class Mention:
    codes: list[str]
    start: int
    end: int
    in_title: bool
    kind: str  # full | short | en | en_suffix | anaphor
    para: int = 0
    context: str = "subject"
    anaphor: str | None = None  # province | city | county (for kind == "anaphor")
    anaphor_mine: bool = False  # 我省/本市: the publisher's own region
    code: str | None = None
    supports: list[str] = field(default_factory=list)

    @property
    def weight(self) -> float:
        base = TITLE_WEIGHT if self.in_title else (LEAD_WEIGHT if self.para == 0 else 1.0)
        return base * CONTEXT_FACTOR.get(self.context, 1.0)


@dataclass(frozen=True, slots=True)
class RegionRules:
    common_word_aliases: frozenset[str]
    en_stop: frozenset[str]
    zh_org_after: tuple[str, ...]
    en_org_heads: frozenset[str]
    en_org_stop: frozenset[str]
    byline_markers: tuple[str, ...]
    zh_venue_before: frozenset[str]
    zh_venue_after: tuple[str, ...]
    en_venue_verbs: frozenset[str]
    zh_list_after: tuple[str, ...]
    anaphors: dict[str, str]
    en_anaphors: list[tuple[str, str]]

    @classmethod
    def from_file(cls, path: Path) -> RegionRules:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
        ana = {w: level for level, words in d["anaphors"].items() for w in words}
        en_ana = sorted(((w.lower(), level) for level, words in d["en_anaphors"].items() for w in words),
                        key=lambda x: -len(x[0]))
        return cls(
            common_word_aliases=frozenset(d["common_word_aliases"]),
            en_stop=frozenset(en_key(w) for w in d["en_stop"]),
            zh_org_after=tuple(sorted(d["zh_org_after"], key=len, reverse=True)),
            en_org_heads=frozenset(d["en_org_heads"]),
            en_org_stop=frozenset(d["en_org_stop"]),
            byline_markers=tuple(d["byline_markers"]),
            zh_venue_before=frozenset(d["zh_venue_before"]),
            zh_venue_after=tuple(d["zh_venue_after"]),
            en_venue_verbs=frozenset(d["en_venue_verbs"]),
            zh_list_after=tuple(sorted(d["zh_list_after"], key=len, reverse=True)),
            anaphors=ana,
            en_anaphors=en_ana,
        )


@lru_cache(maxsize=4)
def default_rules(path: str = str(DATA_DIR / "regions.yaml")) -> RegionRules:
    return RegionRules.from_file(Path(path))


class RegionFinder:
    """Finds place mentions (Chinese or romanised) and picks the subject regions."""

    def __init__(self, gazetteer: Gazetteer, rules: RegionRules | None = None) -> None:
        self.gaz = gazetteer
        self.rules = rules or default_rules()
        entries: dict[str, object] = {}
        for alias, cands in gazetteer.zh_aliases.items():
            kinds = [(c, k) for c, k in cands if not (k == "short" and alias in self.rules.common_word_aliases)]
            if kinds:
                entries[alias] = kinds
        for word, level in self.rules.anaphors.items():
            entries[word] = ("anaphor", level)
        self._zh = DictScanner(entries)

    # -- mention finding --------------------------------------------------
    def mentions(self, text: str, *, in_title: bool, english: bool, paras: list[Span] | None = None) -> list[Mention]:
        found = self._en_mentions(text, in_title) if english else self._zh_mentions(text, in_title)
        if paras:
            for m in found:
                p = sentence_at(paras, m.start)
                m.para = p.para if p else 0
        return found

    def _zh_mentions(self, text: str, in_title: bool) -> list[Mention]:
        out: list[Mention] = []
        for s, e, v in self._zh.scan(text):
            if isinstance(v, tuple):
                word = text[s:e]
                out.append(Mention([], s, e, in_title, "anaphor", anaphor=v[1],
                                   anaphor_mine=word[0] in "我本"))
                continue
            codes = [c for c, _ in v]
            kind = "full" if any(k == "full" for _, k in v) else "short"
            if kind == "full":
                codes = [c for c, k in v if k == "full"]
            out.append(Mention(list(dict.fromkeys(codes)), s, e, in_title, kind))
        for m in out:
            if m.kind != "anaphor":
                m.context = self._zh_context(text, m, out)
        return out

    def _en_mentions(self, text: str, in_title: bool) -> list[Mention]:
        toks = [(m.start(), m.end(), m.group()) for m in _EN_TOKEN.finditer(text)]
        low = text.lower()
        out: list[Mention] = []
        i = 0
        while i < len(toks):
            hit = None
            for n in (2, 1):
                if i + n > len(toks):
                    continue
                key = en_key("".join(t[2] for t in toks[i : i + n]))
                if key in self.gaz.en_aliases and (n == 2 or key not in self.rules.en_stop):
                    hit = (n, key)
                    break
            if hit is None:
                i += 1
                continue
            n, key = hit
            s, e = toks[i][0], toks[i + n - 1][1]
            codes = list(self.gaz.en_aliases[key])
            kind = "en"
            j = i + n
            for k in (2, 1):
                if j + k <= len(toks):
                    suf = " ".join(t[2].lower() for t in toks[j : j + k])
                    if suf in EN_SUFFIXES:
                        levels = EN_SUFFIXES[suf]
                        narrowed = [c for c in codes if self.gaz.get(c).level in levels]  # type: ignore[union-attr]
                        if narrowed:
                            codes = narrowed
                        e = toks[j + k - 1][1]
                        kind = "en_suffix"
                        j += k
                        break
            out.append(Mention(codes, s, e, in_title, kind))
            i = j
        for phrase, level in self.rules.en_anaphors:
            for m in re.finditer(r"\b" + re.escape(phrase) + r"\b", low):
                if not any(x.start <= m.start() < x.end for x in out):
                    out.append(Mention([], m.start(), m.end(), in_title, "anaphor", anaphor=level,
                                       anaphor_mine=phrase.startswith("our")))
        out.sort(key=lambda m: m.start)
        for m in out:
            if m.kind != "anaphor":
                m.context = self._en_context(text, toks, m, out)
        return out

    # -- context ---------------------------------------------------------
    def _in_byline(self, text: str, m: Mention) -> bool:
        for p in _PAREN.finditer(text, max(0, m.start - 60), min(len(text), m.end + 60)):
            if p.start() <= m.start and m.end <= p.end():
                inner = p.group().lower()
                if any(b in inner for b in self.rules.byline_markers):
                    return True
        line_start = max(text.rfind("\n", 0, m.start), text.rfind("。", 0, m.start)) + 1
        head = text[line_start : m.start].strip().lower()
        return head.startswith(("来源", "(来源", "（来源", "source:"))

    def _zh_context(self, text: str, m: Mention, all_m: list[Mention]) -> str:
        after = text[m.end : m.end + 12]
        if self._in_byline(text, m):
            return "byline"
        # an organisation: 聊城市工业和信息化局, 湖北日报; allow a short gap (郑州市公安局)
        for k in range(0, 4):
            if any(after[k:].startswith(o) for o in self.rules.zh_org_after) and all(
                _CJK.match(ch) for ch in after[:k]
            ):
                return "org"
        # all_m is in text order (the scanner's): the first mention after this one, by binary search
        i = bisect.bisect_left(all_m, m.end, key=lambda x: x.start)
        nxt = next((all_m[j] for j in range(i, len(all_m)) if all_m[j].kind != "anaphor"), None)
        if nxt is not None and nxt.start == m.end and m.codes and nxt.codes and self._qualifies(m, nxt):
            nxt.supports.extend(m.codes)
            return "qualifier"
        before = text[max(0, m.start - 1) : m.start]
        if before in self.rules.zh_venue_before:
            window = re.split(r"[，。；,;！？]", text[m.end : m.end + 20])[0]
            if any(v in window for v in self.rules.zh_venue_after):
                return "venue"
        if text[m.end : m.end + 1] == "、" or text[m.start - 1 : m.start] == "、":
            neighbours = [x for x in all_m if x is not m and x.kind != "anaphor"
                          and (x.end + 1 == m.start or m.end + 1 == x.start)]
            if neighbours:
                return "list"
        if any(after.startswith(w) for w in self.rules.zh_list_after[:-1]):
            return "list"
        return "subject"

    def _qualifies(self, parent: Mention, child: Mention) -> bool:
        return any(self.gaz.is_ancestor(p, c) for p in parent.codes for c in child.codes)

    def _en_context(self, text: str, toks: list[tuple[int, int, str]], m: Mention, all_m: list[Mention]) -> str:
        if self._in_byline(text, m):
            return "byline"
        idx = next(i for i, t in enumerate(toks) if t[0] >= m.start)
        end_idx = next((i for i, t in enumerate(toks) if t[1] >= m.end), idx)
        # organisation: a head noun within a few words, before any verb/preposition or punctuation
        for j in range(end_idx + 1, min(len(toks), end_idx + 7)):
            gap = text[toks[j - 1][1] : toks[j][0]]
            if re.search(r"[,.;:!?()“”\"]", gap):
                break
            w = toks[j][2].lower()
            if w in self.rules.en_org_heads:
                return "org"
            if w in self.rules.en_org_stop and j > end_idx + 1:
                break
        # qualifier: "Gongyi City in Henan", "Taizhou, Jiangsu"
        prev = [x for x in all_m if x.end <= m.start and x.kind != "anaphor"]
        if prev:
            p = prev[-1]
            gap = text[p.end : m.start].strip().lower()
            if (gap in ("in", ",", "of") or _EN_QUALIFIER_GAP.fullmatch(gap + " ")) and self._qualifies(m, p):
                p.supports.extend(m.codes)
                return "qualifier"
        if idx >= 2:
            w1, w2 = toks[idx - 1][2].lower(), toks[idx - 2][2].lower()
            if w1 in ("in", "at") and (w2 in self.rules.en_venue_verbs or w2 == "held"):
                return "venue"
        nxt = [x for x in all_m if x.start >= m.end and x.kind != "anaphor"]
        for other in (prev[-1] if prev else None, nxt[0] if nxt else None):
            if other is None:
                continue
            a, b = (other, m) if other.end <= m.start else (m, other)
            gap = text[a.end : b.start].strip().lower()
            if gap in (",", "and", ", and", "、"):
                return "list"
        if re.match(r"\s*(?:and other|and so on|etc)", text[m.end : m.end + 20], re.I):
            return "list"
        return "subject"

    # -- resolution and selection -----------------------------------------
    def resolve(self, mentions: list[Mention], source_region: str | None) -> None:
        """Pick one code per explicit mention, dropping unsupported weak ones (codes=[])."""
        gaz = self.gaz
        explicit = [m for m in mentions if m.kind != "anaphor" and m.codes]
        src_prov = gaz.province_of(source_region) if source_region else None

        # Support of a code from the other mentions, summed per distinct code set: a page that
        # names its city ten thousand times costs as much as one that names it ten times.
        groups: dict[tuple[str, ...], int] = {}
        for o in explicit:
            if len(o.codes) <= 3:
                groups[tuple(o.codes)] = groups.get(tuple(o.codes), 0) + 1

        def contribution(c: str, codes: tuple[str, ...]) -> float:
            if c in codes and len(codes) == 1:
                return 3
            if set(gaz.ancestors(c)) & set(codes) or any(gaz.is_ancestor(c, x) for x in codes):
                return 2
            prov = gaz.province_of(c)
            if any(gaz.province_of(x) == prov for x in codes):
                return 1 / len(codes)
            return 0.0

        def support(c: str, m: Mention) -> float:
            s = 0.0
            own = tuple(m.codes)
            for codes, n in groups.items():
                if codes == own:
                    n -= 1  # not m itself
                if n > 0:
                    s += n * contribution(c, codes)
            if c in m.supports:
                s += 3
            if source_region:
                if gaz.related(c, source_region):
                    s += 1.5
                elif src_prov and gaz.province_of(c) == src_prov:
                    s += 0.5
            return s

        for m in explicit:
            scored = []
            for c in m.codes:
                r = gaz.get(c)
                if r is None:
                    continue
                sup = support(c, m)
                weak = r.level == "county" and (
                    m.kind in ("short", "en") or (len(m.codes) > 1 and m.kind != "en_suffix")
                )
                if weak and sup < 2:
                    continue
                scored.append((sup, -LEVEL_RANK[r.level], c))
            if not scored:
                if len(m.codes) <= 3:
                    groups[tuple(m.codes)] -= 1  # dropped: supports nothing from now on
                m.codes = []
                continue
            scored.sort(reverse=True)
            m.code = scored[0][2]

    def select(
        self, mentions: list[Mention], source_region: str | None
    ) -> tuple[list[tuple[str, float]], dict[str, Mention]]:
        gaz = self.gaz
        scores: dict[str, float] = {}
        first: dict[str, Mention] = {}
        for m in mentions:
            if m.code is None:
                continue
            scores[m.code] = scores.get(m.code, 0.0) + m.weight
            f = first.get(m.code)
            if f is None or (f.context != "subject" and m.context == "subject"):
                first[m.code] = m
        # anaphors
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        src = gaz.get(source_region) if source_region else None
        for m in mentions:
            if m.kind != "anaphor" or m.anaphor is None:
                continue
            code = self._anaphor_target(m, ranked, src)
            if code:
                m.code = code
                scores[code] = scores.get(code, 0.0) + min(m.weight, 1.0 if not m.in_title else TITLE_WEIGHT)
                first.setdefault(code, m)
        if not scores:
            return [], first
        # ties go to the higher level: "Fuzhou ... Linchuan district" is about the city
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], LEVEL_RANK[gaz.get(kv[0]).level]))  # type: ignore[union-attr]
        top_score = ranked[0][1]
        if top_score <= 0:
            return [], first
        chosen: list[str] = []
        for code, sc in ranked:
            if sc < 0.5 * top_score or sc <= 0:
                break
            # most specific only: a region related to a chosen one (its ancestor or descendant) is
            # dropped; "河南省巩义市" already gave the qualifier's weight to the county.
            if not any(gaz.related(c, code) for c in chosen):
                chosen.append(code)
        out = [(c, scores[c] / top_score) for c in chosen]
        out.sort(key=lambda x: (-LEVEL_RANK[gaz.get(x[0]).level], -x[1]))  # type: ignore[union-attr]
        return out, first

    def _anaphor_target(self, m: Mention, ranked: list[tuple[str, float]], src) -> str | None:
        gaz = self.gaz
        if m.anaphor == "province":
            if m.anaphor_mine and src is not None:
                return gaz.province_of(src.code)
            for c, _ in ranked:
                p = gaz.province_of(c)
                if p:
                    return p
            return gaz.province_of(src.code) if src is not None else None
        if m.anaphor in ("city", "county"):
            if m.anaphor_mine and src is not None and src.level != "province":
                return src.code
            for c, _ in ranked:
                r = gaz.get(c)
                if r and (r.level == "prefecture" or (r.level == "county" and r.name.endswith(("市", "县")))):
                    return c
            if src is not None and src.level != "province":
                return src.code
        return None
