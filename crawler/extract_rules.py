"""Boilerplate and metadata patterns, loaded once from crawler/data/boilerplate.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

RULES_PATH = Path(__file__).with_name("data") / "boilerplate.yaml"


@dataclass(frozen=True)
class Rules:
    drop_line: tuple[re.Pattern[str], ...]
    cut_from: tuple[re.Pattern[str], ...]
    disclaimer: tuple[re.Pattern[str], ...]
    meta_line: tuple[re.Pattern[str], ...]
    meta_line_max_chars: int
    date_labels: tuple[re.Pattern[str], ...]
    author_labels: re.Pattern[str]
    date_meta: tuple[str, ...]
    title_meta: tuple[str, ...]
    site_name_meta: tuple[str, ...]
    title_separators: re.Pattern[str]
    noise_class_words: frozenset[str]
    junk_class_words: frozenset[str]
    document_info_label: re.Pattern[str]
    document_info_key_labels: frozenset[str]

    def is_drop_line(self, line: str) -> bool:
        return any(rx.search(line) for rx in self.drop_line)

    def is_cut_line(self, line: str) -> bool:
        return any(rx.search(line) for rx in self.cut_from)

    def is_disclaimer(self, line: str) -> bool:
        return any(rx.search(line) for rx in self.disclaimer)

    def is_meta_line(self, line: str) -> bool:
        return len(line) <= self.meta_line_max_chars and any(rx.search(line) for rx in self.meta_line)


def _compile_all(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


@lru_cache(maxsize=1)
def load_rules(path: Path = RULES_PATH) -> Rules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Rules(
        drop_line=_compile_all(data["drop_line"]),
        cut_from=_compile_all(data["cut_from"]),
        disclaimer=_compile_all(data["disclaimer"]),
        meta_line=_compile_all(data["meta_line"]),
        meta_line_max_chars=int(data["meta_line_max_chars"]),
        date_labels=tuple(re.compile(f"(?:{p})\\s*[:：]?\\s*") for p in data["date_labels"]),
        author_labels=re.compile("|".join(f"(?:{p})" for p in data["author_labels"])),
        date_meta=tuple(s.lower() for s in data["date_meta"]),
        title_meta=tuple(s.lower() for s in data["title_meta"]),
        site_name_meta=tuple(s.lower() for s in data["site_name_meta"]),
        title_separators=re.compile(data["title_separators"]),
        noise_class_words=frozenset(w.lower() for w in data["noise_class_words"]),
        junk_class_words=frozenset(w.lower() for w in data.get("junk_class_words", ())),
        document_info_label=_spaced_labels(data.get("document_info_labels", ())),
        document_info_key_labels=frozenset(data.get("document_info_key_labels", ())),
    )


def _spaced_labels(labels: list[str]) -> re.Pattern[str]:
    """"label：" for any of ``labels``, also spaced out ("索 引 号：", "标    题:");
    group 1 is the label as written.  Longest first, so 发文字号 wins over 文号."""
    if not labels:
        return re.compile(r"(?!)")
    alts = (r"[ \t\u00a0\u3000]*".join(map(re.escape, label)) for label in sorted(labels, key=len, reverse=True))
    return re.compile(r"(?<![^\s|｜;；,，])(" + "|".join(alts) + r")[ \t\u00a0\u3000]*[:：]")
