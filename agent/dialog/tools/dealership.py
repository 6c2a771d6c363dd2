"""DealershipTools: every tool the graph may call, given to the graph at build time (no module globals)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from agent.dialog.nlu.faq_index import FaqIndex
from agent.dialog.nlu.inventory_query import InventoryQuery
from agent.dialog.state import BackgroundTask, CustomerContext, Notification
from agent.store.catalog import Catalog
from agent.store.customers import Customers, clean_email, clean_name
from agent.store.models import (
    Appointment,
    AppointmentKind,
    Availability,
    Customer,
    FaqEntry,
    InventoryVehicle,
    ServiceType,
)
from agent.store.scheduling import Scheduling
from agent.store.state_store import StateStore


def same_person(given: str | None, on_file: str | None) -> bool:
    """Whether a name the caller gave is the customer's on file: the same, or their first name alone."""
    if given is None or on_file is None:
        return True
    said, stored = given.casefold().split(), on_file.casefold().split()
    return said == stored or (len(said) == 1 and said[0] == stored[0])


class HumanRequester(Protocol):
    """Starts the background check for a free human; implemented outside the dialog (agent.tasks)."""

    async def request_human(
        self, session_id: str, reason: str, customer: CustomerContext
    ) -> BackgroundTask: ...

    async def cancel_session(self, session_id: str) -> int:
        """Cancel every background task the session owns; returns how many were running."""
        ...

    async def schedule_callback(self, session_id: str, reason: str, customer: CustomerContext) -> datetime:
        """Book a call back (after a transfer that failed); returns when it is due."""
        ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...


@dataclass(frozen=True)
class DealershipKnowledge:
    """What the offline brain matches words against, loaded once from the database at start-up."""

    services: tuple[ServiceType, ...]
    inventory: tuple[InventoryVehicle, ...]
    faq: tuple[FaqEntry, ...]

    @property
    def makes(self) -> list[str]:
        return sorted({v.make for v in self.inventory})

    @property
    def models(self) -> list[str]:
        return sorted({v.model for v in self.inventory})

    @property
    def colors(self) -> list[str]:
        return sorted({v.color for v in self.inventory})

    def vocabulary_hint(self, dealership_name: str) -> str:
        """Words callers use here that a speech recogniser should spell our way (a Whisper prompt)."""
        services = ", ".join(s.name.lower() for s in self.services[:12])
        models = ", ".join(sorted({m.replace(" Hybrid", "") for m in self.models}))
        makes = ", ".join(f"{make}s" for make in self.makes)
        return f"{dealership_name}: {services}. {makes}. {models}."


@dataclass
class DealershipTools:
    """Search, look-up and booking tools over the real database; one instance per process."""

    catalog: Catalog
    customers: Customers
    scheduling: Scheduling
    faq_index: FaqIndex
    knowledge: DealershipKnowledge
    state_store: StateStore
    humans: HumanRequester
    tz: ZoneInfo
    clock: Clock

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)

    async def search_faq(self, query: str, k: int = 3) -> list[tuple[FaqEntry, float]]:
        return await asyncio.to_thread(self.faq_index.search, query, k)

    async def list_services(self) -> Sequence[ServiceType]:
        return self.knowledge.services

    async def search_inventory(self, query: InventoryQuery, limit: int = 3) -> list[InventoryVehicle]:
        return await self.catalog.search_inventory(
            make=query.make,
            model=query.model,
            color=query.color,
            is_new=query.is_new,
            max_price=query.max_price,
            min_year=query.min_year,
            body_style=query.body_style,
            limit=limit,
        )

    async def get_customer(self, phone: str) -> Customer | None:
        return await self.customers.get_by_phone(phone)

    async def check_availability(
        self, kind: AppointmentKind, when: datetime, inventory_id: int | None = None, alternatives: int = 3
    ) -> Availability:
        """Whether `when` is free; when it is not (or is no slot start at all), the nearest free slots."""
        return await self.scheduling.check_availability(
            kind, when, inventory_id=inventory_id, now=self.now(), alternatives=alternatives
        )

    async def book_appointment(
        self,
        *,
        kind: AppointmentKind,
        when: datetime,
        name: str | None,
        phone: str,
        email: str | None,
        service_type_id: int | None,
        inventory_id: int | None,
        duration_min: int,
        session_id: str,
    ) -> Appointment:
        """Create the customer or fill in what the record lacks, then book (raises SlotUnavailable).

        A stored customer is never overwritten: a name or e-mail that differs from the record's stays with
        the booking (`contact_name`, `contact_email`), and the customer's own car is used only when the
        booking is theirs."""
        customer = await self.customers.upsert(phone, name=name, email=email)
        theirs = same_person(name, customer.name)
        vehicle_id = customer.vehicles[0].id if customer.vehicles and kind == "service" and theirs else None
        return await self.scheduling.book(
            kind=kind,
            when=when,
            customer_id=customer.id,
            service_type_id=service_type_id,
            inventory_id=inventory_id,
            vehicle_id=vehicle_id,
            duration_min=duration_min,
            session_id=session_id,
            now=self.now(),
            contact_name=None if theirs else clean_name(name),
            contact_email=None
            if email is None or clean_email(email) == customer.email
            else clean_email(email),
        )

    async def cancel_appointment(self, code: str, *, phone: str | None = None) -> Appointment | None:
        """Cancel by confirmation code; with `phone`, only when the booking is that number's (the store checks)."""
        return await self.scheduling.cancel(code, phone=phone)

    async def upcoming_appointments(self, phone: str) -> list[Appointment]:
        customer = await self.customers.get_by_phone(phone)
        if customer is None:
            return []
        return await self.scheduling.upcoming_for_customer(customer.id, now=self.now())

    async def find_appointment(self, code: str) -> Appointment | None:
        return await self.scheduling.find_by_code(code)

    async def reschedule_appointment(self, code: str, when: datetime) -> Appointment:
        return await self.scheduling.reschedule(code, when, now=self.now())

    async def request_human(self, session_id: str, reason: str, customer: CustomerContext) -> BackgroundTask:
        return await self.humans.request_human(session_id, reason, customer)

    async def take_notifications(self, session_id: str) -> list[Notification]:
        return [
            Notification.model_validate(n) for n in await self.state_store.drain_notifications(session_id)
        ]

    async def tasks_of(self, session_id: str) -> list[BackgroundTask]:
        return [BackgroundTask.model_validate(t) for t in await self.state_store.list_tasks(session_id)]

    def service_by_id(self, service_id: int | None) -> ServiceType | None:
        return next((s for s in self.knowledge.services if s.id == service_id), None)

    def vehicle_by_id(self, inventory_id: int | None) -> InventoryVehicle | None:
        return next((v for v in self.knowledge.inventory if v.id == inventory_id), None)
