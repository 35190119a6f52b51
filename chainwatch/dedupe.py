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
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import MinHash

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SEED = 20221103
SCHEME = "affine32"  # pinned: stored signatures must stay comparable across datasketch upgrades
# A candidate is the same story when the estimated Jaccard similarity reaches this.
CROSS_SOURCE_THRESHOLD = 0.5
SAME_SOURCE_THRESHOLD = 0.85  # one site's own pages share boilerplate; ask for more
MIN_SHINGLES = 30  # below this, only exact duplicates count

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DROP = re.compile(r"[\W_]+", re.UNICODE)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Signature:
    content_hash: str
    minhash: bytes | None  # NUM_PERM uint32, little endian; None when the text is too short
    shingle_count: int

    def buckets(self) -> list[tuple[int, int]]:
        return band_buckets(self.minhash) if self.minhash else []


def normalise_for_hash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _DROP.sub("", text)


def shingles(text: str) -> set[str]:
    """Character 3-grams for Chinese, word 2-grams for other scripts."""
    folded = unicodedata.normalize("NFKC", text).lower()
    cjk = len(_CJK.findall(folded))
    if cjk >= max(20, len(folded) // 10):
        compact = _DROP.sub("", folded)
        return {compact[i : i + 3] for i in range(max(0, len(compact) - 2))}
    words = _WORD.findall(folded)
    return {f"{words[i]} {words[i + 1]}" for i in range(max(0, len(words) - 1))}


@cache
def _template() -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)


def signature(text: str) -> Signature:
    content_hash = hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return Signature(content_hash, None, len(grams))
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_template().permutations, scheme=SCHEME)
    mh.update_batch([g.encode("utf-8") for g in grams])
    values = (mh.hashvalues & 0xFFFFFFFF).astype("<u4")
    return Signature(content_hash, values.tobytes(), len(grams))


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
