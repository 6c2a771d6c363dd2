"""How common a word is as a person's name (US census shares), to choose between two hearings of a name."""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

_NAMES_DIR = Path(__file__).resolve().parents[2] / "assets" / "census-names"
UNHEARD_OF = 1e-4  # percent: below the rarest family name kept (0.001 %), for a word no list has
# A common name: at least this percent of people have it ("brooke" 0.039, "will" 0.018, "man" 0.004).
COMMON_NAME_SHARE = 0.02


@cache
def _shares() -> dict[str, float]:
    """Name -> percent of people with it, as a given or a family name (the larger of the two)."""
    shares: dict[str, float] = {}
    for file in ("first.txt", "last.txt"):
        for line in (_NAMES_DIR / file).read_text(encoding="utf-8").splitlines():
            name, _, percent = line.partition(" ")
            shares[name] = max(shares.get(name, 0.0), float(percent))
    return shares


def load_names() -> None:
    """Read the census lists now (about 20 ms), off the event loop, not at a call's first barge-in."""
    _shares()


def name_share(word: str) -> float:
    """Percent of people with `word` as a given or family name ("walter" 0.399, "lolter" UNHEARD_OF)."""
    return _shares().get(word.lower(), UNHEARD_OF)


def likelier_name(first: str, second: str) -> str:
    """Of two hearings of the same words, the one whose differing words are the more common names: "Lolter
    King" or "Walter King" -> "Walter King"; "Lisa Moore" or "Lisa Moa" -> "Lisa Moore". A tie keeps `first`."""
    words_first = re.findall(r"[a-z']+", first.lower())
    words_second = re.findall(r"[a-z']+", second.lower())
    only_first = [w for w in words_first if w not in words_second]
    only_second = [w for w in words_second if w not in words_first]
    if not only_second:
        return first

    def score(words: list[str]) -> float:
        return sum(math.log10(name_share(w)) for w in words) / max(1, len(words))

    return second if score(only_second) > score(only_first) else first
