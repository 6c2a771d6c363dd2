"""Pick the inventory car a caller means ("the red RAV4", "stock T24117") from the known inventory."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from agent.dialog.nlu.inventory_query import InventoryQuery, parse_inventory_query
from agent.store.models import InventoryVehicle

_STOCK = re.compile(r"\b([a-z])\s*-?\s*(\d{4,6})\b", re.IGNORECASE)


def _matches(vehicle: InventoryVehicle, query: InventoryQuery) -> bool:
    checks: list[bool] = []
    if query.make:
        checks.append(vehicle.make.lower() == query.make.lower())
    if query.model:
        checks.append(vehicle.model.lower() == query.model.lower())
    if query.color:
        checks.append(query.color.lower() in vehicle.color.lower())
    if query.is_new is not None:
        checks.append(vehicle.is_new == query.is_new)
    if query.max_price is not None:
        checks.append(vehicle.price <= query.max_price)
    if query.min_year is not None:
        checks.append(vehicle.year >= query.min_year)
    if query.body_style:
        checks.append(vehicle.body_style.lower() == query.body_style.lower())
    return bool(checks) and all(checks)


def find_vehicle(text: str, inventory: Sequence[InventoryVehicle]) -> InventoryVehicle | None:
    """The one available car the words point at: a stock number, else the newest car matching make/model."""
    available = [v for v in inventory if v.is_available]
    for letter, digits in _STOCK.findall(text):
        stock = f"{letter}{digits}".upper()
        hit = next((v for v in available if v.stock_number.upper() == stock), None)
        if hit is not None:
            return hit
    query = parse_inventory_query(
        text,
        known_makes=sorted({v.make for v in inventory}),
        known_models=sorted({v.model for v in inventory}),
        known_colors=sorted({v.color for v in inventory}),
    )
    if query.model is None and query.make is None:
        return None
    candidates = [v for v in available if _matches(v, query)]
    if not candidates and query.color:
        # A colour we don't have should not hide the model the caller asked for.
        relaxed = replace(query, color=None)
        candidates = [v for v in available if _matches(v, relaxed)]
    candidates.sort(key=lambda v: (v.is_new, v.year), reverse=True)
    return candidates[0] if candidates else None


def describe_vehicle(vehicle: InventoryVehicle) -> str:
    """'the 2025 Toyota RAV4 XLE in Blueprint': the maker's colour names ("Underground", "Cement") read as
    adjectives otherwise."""
    trim = f" {vehicle.trim}" if vehicle.trim else ""
    colour = f" in {vehicle.color}" if vehicle.color else ""
    return f"the {vehicle.year} {vehicle.make} {vehicle.model}{trim}{colour}"


def among(picked: InventoryVehicle, listed: Sequence[InventoryVehicle]) -> InventoryVehicle:
    """ "The Civic" after two Civics were listed means the listed one, not the newest on the lot."""
    same = [v for v in listed if (v.make, v.model) == (picked.make, picked.model)]
    return picked if picked in same or not same else same[0]
