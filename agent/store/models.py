"""Plain records that the data layer hands to the dialog: services, inventory, FAQ, customers, bookings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

AppointmentKind = Literal["service", "test_drive"]
AppointmentStatus = Literal["booked", "cancelled", "completed", "no_show"]


@dataclass(frozen=True, slots=True)
class ServiceType:
    id: int
    name: str
    duration_min: int
    price_min: float
    price_max: float
    description: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InventoryVehicle:
    id: int
    stock_number: str
    make: str
    model: str
    year: int
    trim: str
    color: str
    price: float
    mileage: int
    is_new: bool
    is_available: bool
    body_style: str = ""


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: int
    category: str
    question: str
    answer: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Vehicle:
    id: int
    customer_id: int
    make: str
    model: str
    year: int
    license_plate: str | None = None
    vin: str | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    phone: str
    name: str | None
    email: str | None
    vehicles: tuple[Vehicle, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Appointment:
    id: int
    confirmation_code: str
    customer_id: int
    appointment_type: AppointmentKind
    service_type_id: int | None
    inventory_id: int | None
    vehicle_id: int | None
    scheduled_date: date
    scheduled_time: time
    duration_min: int
    resource: str
    status: AppointmentStatus
    notes: str = ""
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """One department's hours on one weekday (0 = Monday); closed days have no row."""

    department: Literal["sales", "service"]
    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True, slots=True)
class Availability:
    """The answer to "is this slot free?": the asked slot (if free) and the nearest free alternatives."""

    requested: datetime | None
    requested_free: bool
    alternatives: tuple[datetime, ...]
    reason: Literal["free", "taken", "closed", "past", "too_far"] = "free"


@dataclass(frozen=True, slots=True)
class Callback:
    id: int
    session_id: str
    phone: str | None
    name: str | None
    reason: str
    due_at: datetime
    status: Literal["scheduled", "done", "cancelled"] = "scheduled"


@dataclass(frozen=True, slots=True)
class DealershipInfo:
    """Who answers the phone: name, address and contact details from the seed file."""

    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""


@dataclass(frozen=True, slots=True)
class Holiday:
    """A day on which every department is closed."""

    day: date
    name: str
