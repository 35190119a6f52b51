"""Relevance: regional industrial-policy news or not, from weighted terms and extracted facts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .matcher import DictScanner

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, slots=True)
class RelevanceModel:
    threshold: float
    cap: int
    bonus: dict[str, float]
    zh: DictScanner[float]
    en: re.Pattern[str]
    en_weights: dict[str, float]

    @classmethod
    def from_file(cls, path: Path) -> RelevanceModel:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
        zh = {k: float(v) for k, v in d["zh_positive"].items()}
        zh.update({k: -float(v) for k, v in d["zh_negative"].items()})
        en = {k.lower(): float(v) for k, v in d["en_positive"].items()}
        en.update({k.lower(): -float(v) for k, v in d["en_negative"].items()})
        alts = "|".join(re.escape(k) for k in sorted(en, key=len, reverse=True))
        return cls(float(d["threshold"]), int(d["cap"]), {k: float(v) for k, v in d["bonus"].items()},
                   DictScanner(zh), re.compile(r"\b(" + alts + r")s?\b", re.I), en)

    def score(self, title: str, text: str, *, english: bool, chains: int, targets: int, alliances: int,
              chain_chief: int) -> tuple[bool, float]:
        counts: dict[str, int] = {}
        total = 0.0
        for part, mult in ((title, 2.0), (text, 1.0)):
            if english:
                hits = [(m.group(1).lower(), self.en_weights.get(m.group(1).lower(), 0.0)) for m in self.en.finditer(part)]
            else:
                hits = [(part[s:e], w) for s, e, w in self.zh.scan(part)]
            for key, w in hits:
                counts[key] = counts.get(key, 0) + 1
                if counts[key] <= self.cap:
                    total += w * mult
        b = self.bonus
        total += b["chain"] * min(chains, b["chain_cap"]) + b["target"] * min(targets, b["target_cap"])
        total += b["alliance"] * min(alliances, 1) + b["chain_chief"] * min(chain_chief, 1)
        prob = 1 / (1 + math.exp(-(total - self.threshold) / 2))
        return total >= self.threshold, round(prob, 4)


@lru_cache(maxsize=4)
def default_model(path: str = str(DATA_DIR / "relevance.yaml")) -> RelevanceModel:
    return RelevanceModel.from_file(Path(path))
