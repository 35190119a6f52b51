"""Near-duplicate detection: MinHash signatures and an LSH index kept in the database.

A story reposted on another site keeps most of its character 3-grams (after the
text is normalised to simplified Chinese without inline pinyin), even with a new
lead or other boilerplate; MinHash estimates that overlap and banding turns the
search for candidates into ``BANDS`` indexed lookups, whatever the archive's size.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SEED = 20221103
SCHEME = "affine32"  # pinned: stored signatures must stay comparable across datasketch upgrades
# A candidate is the same story when the estimated Jaccard similarity reaches this.
CROSS_SOURCE_THRESHOLD = 0.5
SAME_SOURCE_THRESHOLD = 0.85  # one site's own pages share boilerplate; ask for more
MIN_SHINGLES = 30  # below this, only exact duplicates count

_NON_CJK = re.compile(r"[^\u3400-\u9fff\uf900-\ufaff]+")
_DROP = re.compile(r"[\W_]+", re.UNICODE)
_WORD = re.compile(r"[a-z0-9]+")


# Translations share no words with their original, but they keep its figures: 3300亿元 is
# "330 billion yuan". Articles are also indexed by pairs of their normalised figures.
FACT_BAND = 1000  # lsh_bands.band value of the fact-pair rows
MAX_FACTS = 12
MIN_SHARED_FACTS = 3
FACT_CONTAINMENT = 0.5  # shared figures / figures of the article with fewer
FACT_MAX_DAYS = 45  # a translation appears within weeks of its original
# A translation with few figures still names the same places and industries: the tagger's regions
# and chains join the figures as "topic" tokens, indexed as region x (pair of chains or figures).
TOPIC_BAND = 1001
TOPIC_REGIONS = 2  # anchors use the weightiest regions ...
TOPIC_ITEMS = 5  # ... and the weightiest chains and largest figures
TOPIC_MIN_SHARED = 4
TOPIC_CONTAINMENT = 0.75  # shared tokens / tokens of the article with fewer
TOPIC_AGREEMENT = 0.6  # shared tokens / tokens of the article with more


@dataclass(frozen=True)
class Signature:
    content_hash: str
    minhash: bytes | None  # NUM_PERM uint32, little endian; None when the text is too short
    shingle_count: int
    facts: tuple[str, ...] = ()

    # The buckets are worked out once per signature (the store's lookup and its insert both read them)
    # and travel with it when it is pickled: a crawl worker computes them, not the crawl process.
    def buckets(self) -> list[tuple[int, int]]:
        cached = self.__dict__.get("_buckets")
        if cached is None:
            cached = tuple(band_buckets(self.minhash)) if self.minhash else ()
            object.__setattr__(self, "_buckets", cached)
        return list(cached)

    def fact_buckets(self) -> list[tuple[int, int]]:
        cached = self.__dict__.get("_fact_buckets")
        if cached is None:
            cached = tuple(fact_pair_buckets(self.facts) + topic_buckets(self.facts))
            object.__setattr__(self, "_fact_buckets", cached)
        return list(cached)

    def with_topics(self, analysis: Any) -> Signature:
        """This signature with the tagger's regions and chains added to its facts (idempotent)."""
        if analysis is None or any(_is_topic(f) for f in self.facts):
            return self
        topics = [f"r:{r.code}" for r in analysis.regions[:3]] + [f"c:{c.slug}" for c in analysis.chains[:8]]
        return replace(self, facts=self.facts + tuple(topics))


def fact_keys(text: str, language: str | None) -> tuple[str, ...]:
    """Normalised figures with units (value to 3 significant digits), the largest first."""
    from tagging.numbers import en_quantities, zh_quantities

    quantities = en_quantities(text) if (language or "").startswith("en") else zh_quantities(text)
    facts: dict[str, float] = {}
    for q in quantities:
        if q.unit is None and q.value < 100:
            continue  # small bare numbers (dates, ordinals) say nothing about the story
        if q.value <= 0:
            continue
        unit = "" if q.unit in (None, "count", "other-count") else q.unit  # 500家 is "500 enterprises"
        key = f"{float(f'{q.value:.3g}'):g}|{unit}"
        facts[key] = max(facts.get(key, 0.0), q.value)
    ranked = sorted(facts, key=lambda k: (-facts[k], k))[:MAX_FACTS]
    return tuple(sorted(ranked))


def _is_topic(token: str) -> bool:
    return token[:2] in ("r:", "c:")


def _figures(facts: tuple[str, ...] | list[str]) -> list[str]:
    return [f for f in facts if not _is_topic(f)]


def _bucket(band: int, *parts: str) -> tuple[int, int]:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return band, int.from_bytes(digest, "little", signed=True)


def fact_pair_buckets(facts: tuple[str, ...]) -> list[tuple[int, int]]:
    figures = _figures(facts)
    if len(figures) < MIN_SHARED_FACTS:
        return []
    return [_bucket(FACT_BAND, a, b) for i, a in enumerate(figures) for b in figures[i + 1 :]]


def _large_figure(fact: str) -> bool:
    value, _, unit = fact.partition("|")
    return bool(unit) or float(value) >= 100


def topic_buckets(facts: tuple[str, ...]) -> list[tuple[int, int]]:
    """region x pair of (chains, large figures): specific enough that a lookup finds few candidates."""
    regions = [f for f in facts if f.startswith("r:")][:TOPIC_REGIONS]
    items = [f for f in facts if f.startswith("c:")][:TOPIC_ITEMS]
    items += sorted((f for f in _figures(facts) if _large_figure(f)), key=lambda f: -float(f.split("|")[0]))
    items = sorted(items[:TOPIC_ITEMS + 2])
    return [_bucket(TOPIC_BAND, r, a, b) for r in regions for i, a in enumerate(items) for b in items[i + 1 :]]


def facts_match(a: tuple[str, ...] | list[str], b: tuple[str, ...] | list[str]) -> float:
    """How surely two articles in different languages report one story: 0.0 when they don't.

    Either most of their figures agree (three or more), or they name the same region and
    most of the same chains and figures, with a shared large figure or three shared chains.
    """
    fa, fb = set(_figures(a)), set(_figures(b))
    shared = len(fa & fb)
    if shared >= MIN_SHARED_FACTS and shared >= FACT_CONTAINMENT * min(len(fa), len(fb)):
        return shared / min(len(fa), len(fb))
    ta, tb = set(a), set(b)
    common = ta & tb
    if not any(t.startswith("r:") for t in common) or len(common) < TOPIC_MIN_SHARED:
        return 0.0
    chains = sum(1 for t in common if t.startswith("c:"))
    if chains < 3 and not any(_large_figure(t) for t in _figures(list(common))):
        return 0.0
    # both ways: a translation says what its original says, not a part of it (a company's note on
    # joining an alliance names the alliance's region and chains, and little else the report says)
    if len(common) < TOPIC_AGREEMENT * max(len(ta), len(tb)):
        return 0.0
    containment = len(common) / min(len(ta), len(tb))
    return containment if containment >= TOPIC_CONTAINMENT else 0.0


# The full-width punctuation of Chinese text, replaced by what NFKC makes of each (one ASCII character,
# which composes with nothing) before NFKC runs: the same result, but a text with nothing else to
# change then takes NFKC's quick check instead of a full decomposition and recomposition (~10x).
_WIDE_PUNCTUATION = tuple((chr(0xFF00 + (ord(c) - 0x20)), c) for c in ",:;()!?%")


def _fold(text: str) -> str:
    for wide, narrow in _WIDE_PUNCTUATION:
        if wide in text:
            text = text.replace(wide, narrow)
    return unicodedata.normalize("NFKC", text).lower()


def normalise_for_hash(text: str) -> str:
    return _DROP.sub("", _fold(text))


def shingles(text: str) -> set[str]:
    """Character 3-grams for Chinese, word 2-grams for other scripts."""
    folded = _fold(text)
    return _shingles(folded, _DROP.sub("", folded))


def _shingles(folded: str, compact: str) -> set[str]:
    cjk = len(_NON_CJK.sub("", folded))
    if cjk >= max(20, len(folded) // 10):
        return {compact[i : i + 3] for i in range(max(0, len(compact) - 2))}
    words = _WORD.findall(folded)
    return {f"{words[i]} {words[i + 1]}" for i in range(max(0, len(words) - 1))}


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations for SEED, h -> a * h + b mod 2^32, drawn as its
    MinHash._init_permutations draws them (a test checks they are equal): datasketch, and SciPy with
    it (~60 MB), need not be imported by the processes that compute signatures."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _minhash(grams: set[str]) -> np.ndarray:
    """The same values as datasketch's MinHash(scheme="affine32").update_batch (checked by a test), done
    in one pass: sha1_hash32 is the first four bytes of SHA-1, little endian, so the digests of all
    shingles are joined and read as one array instead of struct.unpack-ing each of them in Python;
    then the MurmurHash3 finaliser and the affine permutations, vectorised as datasketch does them."""
    sha1 = hashlib.sha1
    digests = b"".join([sha1(g).digest() for g in map(str.encode, grams)])
    hv = np.frombuffer(digests, dtype="<u4")[::5].astype(np.uint32)  # 20-byte digests: every 5th word
    hv ^= hv >> np.uint32(16)  # datasketch's _fmix, 32-bit
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    a, b = _permutations()
    phv = np.multiply.outer(hv, a)
    phv += b
    return phv.min(axis=0)


def signature(text: str, language: str | None = None) -> Signature:
    folded = _fold(text)
    compact = _DROP.sub("", folded)
    content_hash = hashlib.sha256(compact.encode("utf-8")).hexdigest()
    facts = fact_keys(text, language)
    grams = _shingles(folded, compact)
    if len(grams) < MIN_SHINGLES:
        return Signature(content_hash, None, len(grams), facts)
    return Signature(content_hash, _minhash(grams).astype("<u4").tobytes(), len(grams), facts)


def band_buckets(minhash: bytes) -> list[tuple[int, int]]:
    values = np.frombuffer(minhash, dtype="<u4")
    out = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        out.append((band, int.from_bytes(digest, "little", signed=True)))
    return out


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two stored signatures."""
    va = np.frombuffer(a, dtype="<u4")
    vb = np.frombuffer(b, dtype="<u4")
    if va.shape != vb.shape:
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)
