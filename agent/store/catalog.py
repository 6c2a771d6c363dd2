"""Read-only catalogue: service types, vehicles for sale, FAQ, opening hours and dealership details."""

from __future__ import annotations

import json
import re
from datetime import date, time
from typing import Any, Literal

from agent.store.db import Database, Row
from agent.store.models import (
    DealershipInfo,
    FaqEntry,
    Holiday,
    InventoryVehicle,
    OpeningHours,
    ServiceType,
)

MAX_RESULTS = 50
# Spoken or casual names for what the inventory table spells another way.
MAKE_ALIASES: dict[str, str] = {"chevy": "chevrolet", "vw": "volkswagen", "benz": "mercedesbenz"}
BODY_STYLE_ALIASES: dict[str, str] = {
    "pickup": "truck",
    "pickuptruck": "truck",
    "van": "minivan",
    "crossover": "suv",
    "hatch": "hatchback",
}
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def squash(text: str) -> str:
    """Lower-case letters and digits only: 'CR-V' and 'cr v' both become 'crv'."""
    return _NOT_ALNUM.sub("", text.lower())


def _squashed_column(column: str) -> str:
    # The SQL twin of `squash` for the characters that occur in makes and models; `column` is ours.
    return f"REPLACE(REPLACE(REPLACE(REPLACE(LOWER({column}), '-', ''), ' ', ''), '.', ''), '''', '')"


def _key(text: str | None) -> str | None:
    """None when the filter is not used (None or blank), else its squashed form (maybe empty)."""
    if text is None or not text.strip():
        return None
    return squash(text)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Catalog:
    """Queries over the seeded catalogue tables; every value reaches SQL as a bound parameter."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def dealership(self) -> DealershipInfo:
        rows = await self._db.fetchall("SELECT key, value FROM dealership")
        info = {row["key"]: row["value"] for row in rows}
        return DealershipInfo(
            name=info.get("name", ""),
            address=info.get("address", ""),
            phone=info.get("phone", ""),
            email=info.get("email", ""),
            website=info.get("website", ""),
        )

    async def list_services(self) -> list[ServiceType]:
        rows = await self._db.fetchall("SELECT * FROM service_types ORDER BY name")
        return [_service(row) for row in rows]

    async def get_service(self, service_id: int) -> ServiceType | None:
        row = await self._db.fetchone("SELECT * FROM service_types WHERE id = ?", (service_id,))
        return None if row is None else _service(row)

    async def search_inventory(
        self,
        *,
        make: str | None = None,
        model: str | None = None,
        color: str | None = None,
        is_new: bool | None = None,
        max_price: float | None = None,
        min_price: float | None = None,
        min_year: int | None = None,
        max_year: int | None = None,
        body_style: str | None = None,
        available_only: bool = True,
        limit: int = 5,
    ) -> list[InventoryVehicle]:
        """Vehicles matching every given filter, cheapest first.

        Text filters ignore case and punctuation ('crv' finds the CR-V, 'chevy' the Chevrolets); a model
        matches by prefix ('civic' finds 'Civic Hatchback'); a colour matches anywhere in the colour name
        ('silver' finds 'Lunar Silver Metallic', 'grey' finds 'Gray').
        """
        clauses: list[str] = []
        params: list[Any] = []
        make_key, model_key, style_key = (_key(text) for text in (make, model, body_style))
        if "" in (make_key, model_key, style_key):
            return []  # text was given but holds no letters or digits: nothing can match it
        if make_key is not None:
            clauses.append(f"{_squashed_column('make')} = ?")
            params.append(MAKE_ALIASES.get(make_key, make_key))
        if model_key is not None:
            clauses.append(f"{_squashed_column('model')} LIKE ? ESCAPE '\\'")
            params.append(_like_escape(model_key) + "%")
        if style_key is not None:
            clauses.append(f"{_squashed_column('body_style')} = ?")
            params.append(BODY_STYLE_ALIASES.get(style_key, style_key))
        if color and color.strip():
            clauses.append("REPLACE(LOWER(color), 'grey', 'gray') LIKE ? ESCAPE '\\'")
            params.append("%" + _like_escape(color.strip().lower().replace("grey", "gray")) + "%")
        if is_new is not None:
            clauses.append("is_new = ?")
            params.append(int(is_new))
        for sql, value in (
            ("price <= ?", max_price),
            ("price >= ?", min_price),
            ("year >= ?", min_year),
            ("year <= ?", max_year),
        ):
            if value is not None:
                clauses.append(sql)
                params.append(value)
        if available_only:
            clauses.append("is_available = 1")
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        params.append(max(1, min(limit, MAX_RESULTS)))
        rows = await self._db.fetchall(
            f"SELECT * FROM inventory{where} ORDER BY price, year DESC, stock_number LIMIT ?", params
        )
        return [_vehicle(row) for row in rows]

    async def get_vehicle_by_stock(self, stock: str) -> InventoryVehicle | None:
        """Look a vehicle up by stock number, however it was spelled out ('t 24117' finds 'T24117')."""
        row = await self._db.fetchone(
            "SELECT * FROM inventory WHERE UPPER(stock_number) = ?",
            (re.sub(r"[^A-Z0-9]", "", stock.upper()),),
        )
        return None if row is None else _vehicle(row)

    async def get_vehicle(self, vehicle_id: int) -> InventoryVehicle | None:
        row = await self._db.fetchone("SELECT * FROM inventory WHERE id = ?", (vehicle_id,))
        return None if row is None else _vehicle(row)

    async def list_inventory(self) -> list[InventoryVehicle]:
        rows = await self._db.fetchall("SELECT * FROM inventory ORDER BY stock_number")
        return [_vehicle(row) for row in rows]

    async def list_faq(self) -> list[FaqEntry]:
        rows = await self._db.fetchall("SELECT * FROM faq ORDER BY id")
        return [
            FaqEntry(
                id=row["id"],
                category=row["category"],
                question=row["question"],
                answer=row["answer"],
                keywords=tuple(json.loads(row["keywords"])),
            )
            for row in rows
        ]

    async def opening_hours(self, department: Literal["sales", "service"]) -> list[OpeningHours]:
        """The department's open weekdays (0 = Monday) in order; a missing weekday means closed."""
        rows = await self._db.fetchall(
            "SELECT * FROM business_hours WHERE department = ? ORDER BY weekday", (department,)
        )
        return [
            OpeningHours(
                department=row["department"],
                weekday=row["weekday"],
                opens=time.fromisoformat(row["opens"]),
                closes=time.fromisoformat(row["closes"]),
            )
            for row in rows
        ]

    async def holidays(self) -> list[Holiday]:
        rows = await self._db.fetchall("SELECT day, name FROM holidays ORDER BY day")
        return [Holiday(day=date.fromisoformat(row["day"]), name=row["name"]) for row in rows]


def _service(row: Row) -> ServiceType:
    return ServiceType(
        id=row["id"],
        name=row["name"],
        duration_min=row["duration_min"],
        price_min=row["price_min"],
        price_max=row["price_max"],
        description=row["description"],
        aliases=tuple(json.loads(row["aliases"])),
    )


def _vehicle(row: Row) -> InventoryVehicle:
    return InventoryVehicle(
        id=row["id"],
        stock_number=row["stock_number"],
        make=row["make"],
        model=row["model"],
        year=row["year"],
        trim=row["trim"],
        color=row["color"],
        price=row["price"],
        mileage=row["mileage"],
        is_new=bool(row["is_new"]),
        is_available=bool(row["is_available"]),
        body_style=row["body_style"],
    )
