"""What a caller is shopping for ("any used Hondas under 20 thousand", "a red rav four") as search filters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from agent.dialog.nlu.spoken_numbers import digitize

_MAX_CHARS = 500
_MAKE_ALIASES = {
    "chevy": "chevrolet",
    "chevys": "chevrolet",
    "chevies": "chevrolet",
    "vw": "volkswagen",
    "benz": "mercedesbenz",
    "mercedes": "mercedesbenz",
    "beemer": "bmw",
    "bimmer": "bmw",
}
# Whisper's hearings of a model's name, each from a real call: "the CNR" for "the Sienna" (twice, two voices).
_MODEL_ALIASES = {"cnr": "sienna"}
_COLOR_ALIASES = {"grey": "gray", "gray": "grey", "maroon": "red", "navy": "blue", "charcoal": "gray"}
_BASIC_COLORS = (
    "red",
    "blue",
    "white",
    "black",
    "silver",
    "gray",
    "grey",
    "green",
    "yellow",
    "orange",
    "brown",
    "beige",
    "gold",
    "purple",
    "tan",
    "bronze",
    "maroon",
    "navy",
    "charcoal",
)
_GENERIC_HEADS = {"model", "new", "the", "all"}
_BODY_STYLES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bs ?u ?vs?\b|\bcrossovers?\b"), "suv"),
    (re.compile(r"\bsedans?\b"), "sedan"),
    (re.compile(r"\btrucks?\b|\bpick ?-?ups?\b"), "truck"),
    (re.compile(r"\bminivans?\b|\bvans?\b"), "minivan"),
    (re.compile(r"\bcoupes?\b"), "coupe"),
    (re.compile(r"\bhatchbacks?\b|\bhatch\b"), "hatchback"),
    (re.compile(r"\bconvertibles?\b"), "convertible"),
    (re.compile(r"\bwagons?\b"), "wagon"),
)
_USED = re.compile(r"\b(used|pre ?-?owned|certified|second ?-?hand|older model)\b")
_NEW = re.compile(r"\bbrand new\b|(?<!what's )(?<!whats )\bnew\b(?! to me)")
_AMOUNT = (
    r"\$?\s?(?P<n>\d+(?:\.\d+)?)\s?(?P<u>k|grand|thousand)?\b(?!\s*(?:miles|mi|km|mpg|%))(?: dollars| bucks)?"
)
_PRICE_CUE = re.compile(
    r"\b(?:under|below|less than|no more than|not more than|max(?:imum)?|up to|at most|budget(?: is| of)?"
    r"|around|about|within|cheaper than|not over|no more|for|spend|afford|price range(?: of| is)?)"
    r"(?: about| around| like| a| the)*\s+" + _AMOUNT
)
_PRICE_AFTER = re.compile(
    _AMOUNT + r"\s*(?:or less|or under|or below|max|tops|budget|and under|or cheaper)\b"
)
_PRICE_RANGE = re.compile(r"\bbetween \$?\s?\d+(?:\.\d+)?\s?(?:k|grand|thousand)? and " + _AMOUNT)
_PRICE_UNIT = re.compile(
    r"\$\s?(?P<n>\d+(?:\.\d+)?)(?P<u>k|grand|thousand)?"
    r"|\b(?P<n2>\d+(?:\.\d+)?)\s?(?:(?P<u2>k|grand)\b|dollars\b|bucks\b)"
)
_YEAR = r"(?P<y>(?:19[89]\d|20\d\d))"
_YEAR_MAX = re.compile(
    r"\b(?:19[89]\d|20\d\d)\s*(?:or|and) (?:older|earlier|before|below)\b|\b(?:older than|before) \d{4}"
)
_YEAR_MIN = (
    (re.compile(_YEAR + r"\s*(?:or|and) (?:newer|later|up|above|after)\b"), 0),
    (re.compile(_YEAR + r"\s?\+"), 0),
    (re.compile(r"\b(?:newer than|after) " + _YEAR), 1),
    (re.compile(r"\b(?:at least|from|since|no older than)(?: a| an)? " + _YEAR), 0),
)


@dataclass(frozen=True, slots=True)
class InventoryQuery:
    """Filters for an inventory search; None means the caller did not say."""

    make: str | None = None
    model: str | None = None
    color: str | None = None
    is_new: bool | None = None
    max_price: float | None = None
    min_year: int | None = None
    body_style: str | None = None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _normalise(text: str) -> str:
    norm = text.lower().replace("’", "'")[:_MAX_CHARS]
    norm = re.sub(r"(?<=\d),(?=\d{3})", "", norm)
    norm = re.sub(r"[^a-z0-9$+.' -]+", " ", norm)
    norm = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", norm)
    norm = digitize(norm)
    norm = re.sub(r"\b(19|20) ([1-9]\d)\b", r"\1\2", norm)  # "twenty twenty two" -> 2022
    norm = re.sub(r"\b20 (?:oh|0) (\d)\b", r"200\1", norm)  # "twenty oh five" -> 2005
    return re.sub(r"\s+", " ", norm).strip()


def _grams(tokens: Sequence[str], max_n: int = 3) -> list[tuple[str, int]]:
    grams = []
    for n in range(max_n, 0, -1):
        for i in range(len(tokens) - n + 1):
            grams.append(("".join(tokens[i : i + n]), n))
    return grams


def _match_name(
    grams: Sequence[tuple[str, int]],
    known: Sequence[str],
    aliases: dict[str, str] | None = None,
    *,
    heads_too: bool = False,
) -> str | None:
    keys = {_compact(k): k for k in known if _compact(k)}
    # "Silverado" should find "Silverado 1500": first words of multi-word names, shortest name first.
    heads: dict[str, str] = {}
    for name in sorted(known, key=len):
        words = name.split()
        head = _compact(words[0]) if len(words) > 1 else ""
        if heads_too and len(head) >= 3 and head not in _GENERIC_HEADS and head not in keys:
            heads.setdefault(head, name)
    for table in (keys, heads):
        for gram, _n in grams:
            alias = aliases.get(gram, "") if aliases else ""
            for candidate in (gram, alias, gram[:-1] if gram.endswith("s") else ""):
                if candidate and candidate in table:
                    return table[candidate]
    best: tuple[float, str] | None = None
    for gram, n in grams:
        if n != 1 or len(gram) < 5 or gram in _GENERIC_HEADS:
            continue
        for key, original in keys.items():
            if len(key) >= 5 and key.isalpha():  # names with digits (RAV4, Mazda3) must match exactly
                score = max(fuzz.ratio(gram, key), fuzz.ratio(gram.rstrip("s"), key))
                if score >= 88 and (best is None or score > best[0]):
                    best = (score, original)
    return best[1] if best else None


def _basic_color(tokens: Sequence[str], known_colors: Sequence[str]) -> str | None:
    """A plain color word ("silver") when the stock lists fancy names ("Celestial Silver Metallic")."""
    lowered = [c.lower() for c in known_colors]
    for token in tokens:
        if token not in _BASIC_COLORS:
            continue
        for word in dict.fromkeys((token, _COLOR_ALIASES.get(token, token))):
            if not lowered or any(re.search(rf"\b{word}\b", c) for c in lowered):
                return word.title()
    return None


def _amount(m: re.Match[str], *, scale_small: bool) -> float | None:
    value = float(m.group("n"))
    if m.group("u") or (scale_small and 5 <= value < 200):  # "under 30" is thirty thousand on a car lot
        value *= 1000
    return value if value >= 1000 else None


def _max_price(norm: str) -> float | None:
    for pattern in (_PRICE_RANGE, _PRICE_CUE, _PRICE_AFTER):
        for m in pattern.finditer(norm):
            if re.fullmatch(r"(?:19[89]\d|20\d\d)", m.group("n")) and not m.group("u"):
                continue  # "for a 2022" is a year, not a price
            value = _amount(m, scale_small=True)
            if value is not None:
                return value
    for m in _PRICE_UNIT.finditer(norm):
        value = float(m.group("n") or m.group("n2"))
        if m.group("u") or m.group("u2"):
            value *= 1000
        if value >= 1000:
            return value
    return None


def _min_year(norm: str) -> int | None:
    for pattern, offset in _YEAR_MIN:
        m = pattern.search(norm)
        if m:
            return int(m.group("y")) + offset
    if _YEAR_MAX.search(norm):
        return None
    m = re.search(r"(?<!\$)\b(19[89]\d|20\d\d)\b(?!\s*(?:k|grand|dollars|miles))", norm)
    return int(m.group(1)) if m else None


def parse_inventory_query(
    text: str, known_makes: Sequence[str], known_models: Sequence[str], known_colors: Sequence[str]
) -> InventoryQuery:
    """Turn a shopping question into filters; make and model are spelled as in the known lists.

    The color is a known color when the caller names one exactly, else a plain color word ("Silver")
    that some known color contains, for a case-insensitive substring match. `body_style` is one of
    suv, sedan, truck, minivan, coupe, hatchback, convertible, wagon (lowercase).
    """
    norm = _normalise(text)
    tokens = re.findall(r"[a-z0-9]+", norm)
    grams = _grams(tokens)
    used, new = _USED.search(norm), _NEW.search(norm)
    is_new = None if bool(used) == bool(new) else bool(new)
    body = next((style for pattern, style in _BODY_STYLES if pattern.search(norm)), None)
    color = _match_name([(g, n) for g, n in grams if n <= 2], known_colors, _COLOR_ALIASES) or _basic_color(
        tokens, known_colors
    )
    return InventoryQuery(
        make=_match_name(grams, known_makes, _MAKE_ALIASES),
        model=_match_name(grams, known_models, _MODEL_ALIASES, heads_too=True),
        color=color,
        is_new=is_new,
        max_price=_max_price(norm),
        min_year=_min_year(norm),
        body_style=body,
    )
