"""Words for generated benchmark archives: jieba's own dictionary, by frequency."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def vocabulary(size: int = 20000) -> tuple[list[str], np.ndarray]:
    """jieba's dictionary words (2+ Chinese characters) and their frequencies, most frequent first."""
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    words, freqs = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        w, f, *_ = line.split(" ")
        if len(w) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in w):
            words.append(w)
            freqs.append(int(f))
    order = np.argsort(freqs)[::-1][:size]
    p = np.array([freqs[i] for i in order], dtype=float)
    return [words[i] for i in order], p / p.sum()
