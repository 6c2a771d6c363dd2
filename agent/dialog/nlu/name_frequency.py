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
# The phone band (300-3,400 Hz) carries little of an "s" (its sound lies mostly above 4 kHz): the corpus's "Anna
# Brooks." in a noisy cafe was heard "Anna, Brooke," by both models over 8 kHz mu-law and "Anna Brooks" on a wide
# band. A family name heard with a form ending in "s" at least this many times as common is taken to have lost it
# ("brooke" 0.002 % -> "brooks" 0.103 %; "william" -> "williams", "robert" -> "roberts", "evan" -> "evans").
LOST_S_ODDS = 20.0


@cache
def _census(file: str) -> dict[str, float]:
    """One census list (`first.txt` given names, `last.txt` family names): name -> percent of people with it."""
    lines = (_NAMES_DIR / file).read_text(encoding="utf-8").splitlines()
    return {name: float(percent) for name, _, percent in (line.partition(" ") for line in lines)}


@cache
def _shares() -> dict[str, float]:
    """Name -> percent of people with it, as a given or a family name (the larger of the two)."""
    given, family = _census("first.txt"), _census("last.txt")
    return {name: max(given.get(name, 0.0), family.get(name, 0.0)) for name in given.keys() | family.keys()}


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


def with_lost_s_restored(name: str) -> str:
    """A name heard over the phone band, its family name given back the final "s" the band took when that form
    is by far the more common family name: "Anna, Brooke," -> "Anna, Brooks,". Only a family name after a given
    name: "It's Peter." stays, as does a family name whose "s" form is rare ("King", "Young", "Martin")."""
    words = list(re.finditer(r"[A-Za-z']+", name))
    if len(words) < 2 or _census("first.txt").get(words[-2].group(0).lower(), 0.0) < COMMON_NAME_SHARE:
        return name
    last, family = words[-1], _census("last.txt")
    heard = last.group(0)
    # "Brook(e)" and "Brooks" sound alike but for the "s": a silent "e" goes with it
    forms = [f"{heard}s", *([f"{heard[:-1]}s"] if heard.lower().endswith("e") else [])]
    form = max(forms, key=lambda f: family.get(f.lower(), 0.0))
    with_s = family.get(form.lower(), 0.0)
    if with_s < COMMON_NAME_SHARE or with_s < LOST_S_ODDS * family.get(heard.lower(), UNHEARD_OF):
        return name
    return f"{name[: last.start()]}{form}{name[last.end() :]}"
