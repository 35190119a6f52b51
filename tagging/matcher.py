"""Longest-match dictionary scanning, built once per dictionary (a dict-of-prefixes scan)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

V = TypeVar("V")


class DictScanner(Generic[V]):
    """Finds non-overlapping, leftmost-longest occurrences of the keys of a mapping in a text.

    For each first character the possible key lengths are kept (longest first), so a scan
    costs a set lookup per candidate length only at positions whose character starts a key.
    """

    def __init__(self, entries: Mapping[str, V]) -> None:
        self._entries: dict[str, V] = {k: v for k, v in entries.items() if k}
        lengths: dict[str, set[int]] = {}
        for k in self._entries:
            lengths.setdefault(k[0], set()).add(len(k))
        self._lengths = {c: sorted(ls, reverse=True) for c, ls in lengths.items()}

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> V | None:
        return self._entries.get(key)

    def scan(self, text: str) -> Iterator[tuple[int, int, V]]:
        entries, lengths = self._entries, self._lengths
        i, n = 0, len(text)
        while i < n:
            ls = lengths.get(text[i])
            if ls:
                for length in ls:
                    if i + length <= n:
                        v = entries.get(text[i : i + length])
                        if v is not None:
                            yield i, i + length, v
                            i += length
                            break
                else:
                    i += 1
                    continue
                continue
            i += 1
