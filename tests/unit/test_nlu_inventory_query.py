"""Shopping questions turned into inventory filters."""

from __future__ import annotations

from typing import Any

import pytest

from agent.dialog.nlu.inventory_query import InventoryQuery, parse_inventory_query

pytestmark = pytest.mark.unit

MAKES = ["Toyota", "Honda", "Ford", "Chevrolet", "Hyundai", "Mazda", "Tesla"]
MODELS = [
    "Camry",
    "RAV4",
    "RAV4 Hybrid",
    "Highlander",
    "Tacoma",
    "4Runner",
    "Civic",
    "Accord",
    "CR-V",
    "F-150",
    "Silverado 1500",
    "Tucson",
    "Mazda3",
    "CX-5",
    "Model 3",
    "Model Y",
]
COLORS = ["Supersonic Red", "Celestial Silver Metallic", "Magnetic Gray Metallic", "Oxford White", "Black"]

CASES: list[tuple[str, dict[str, Any]]] = [
    ("do you have any used Hondas under 20 thousand", {"make": "Honda", "is_new": False, "max_price": 20000}),
    ("a red RAV4", {"model": "RAV4", "color": "Red"}),
    ("new Camry", {"model": "Camry", "is_new": True}),
    ("an SUV under thirty five grand", {"body_style": "suv", "max_price": 35000}),
    ("2022 or newer", {"min_year": 2022}),
    ("do you have a rav four", {"model": "RAV4"}),
    ("any cr v in stock", {"model": "CR-V"}),
    ("a used f one fifty", {"model": "F-150", "is_new": False}),
    ("a pre-owned truck for 25k", {"is_new": False, "body_style": "truck", "max_price": 25000}),
    ("something under $25,000", {"max_price": 25000}),
    ("under twenty five thousand dollars", {"max_price": 25000}),
    ("twenty five thousand tops", {"max_price": 25000}),
    ("a twenty twenty one camry", {"model": "Camry", "min_year": 2021}),
    ("newer than 2019", {"min_year": 2020}),
    ("a chevy silverado", {"make": "Chevrolet", "model": "Silverado 1500"}),
    ("any hundai tucsons", {"make": "Hyundai", "model": "Tucson"}),
    ("a camery", {"model": "Camry"}),
    ("rav4 hybrid", {"model": "RAV4 Hybrid"}),
    ("a mazda three", {"make": "Mazda", "model": "Mazda3"}),
    ("a tesla model y", {"make": "Tesla", "model": "Model Y"}),
    ("a silver sedan", {"color": "Silver", "body_style": "sedan"}),
    ("a grey one", {"color": "Gray"}),
    ("oxford white f 150", {"color": "Oxford White", "model": "F-150"}),
    ("a truck with under 50,000 miles", {"body_style": "truck"}),
    ("new or used camry", {"model": "Camry"}),
    ("what model is it", {}),
    ("hello", {}),
    ("", {}),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parse_inventory_query(text: str, expected: dict[str, Any]) -> None:
    query = parse_inventory_query(text, MAKES, MODELS, COLORS)
    assert query == InventoryQuery(**expected)
    assert query.is_empty is (not expected)
