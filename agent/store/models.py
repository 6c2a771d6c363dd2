"""Plain records that the data layer hands out: services, inventory, FAQ, customers, bookings, calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

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
    contact_name: str | None = None  # set when the booking is for someone other than the customer on file
    contact_email: str | None = None


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


CallChannel = Literal["sip", "livekit", "browser", "replay"]
CallEndedBy = Literal["caller", "agent", "timeout", "shutdown"]


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One thing said on a call: who said it and when (media seconds since the call was answered)."""

    role: str  # "caller" or "agent"
    text: str
    at_s: float

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "text": self.text, "at_s": self.at_s}


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One phone call from ring to hang-up: how it ended, where its recording is, what was said."""

    call_id: str
    channel: CallChannel
    caller_id: str | None
    session_id: str | None
    started_at: datetime  # UTC
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None  # booked, rescheduled, cancelled, answered_question, transferred, ...
    ended_by: CallEndedBy | None
    transferred_to: str | None
    recording_path: str | None
    transcript: tuple[TranscriptLine, ...] = ()
    turns: tuple[dict[str, Any], ...] = ()  # per-turn latency figures, as the call runner measured them

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end; None while the call goes on."""
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 UTC strings)."""
        return {
            "call_id": self.call_id,
            "channel": self.channel,
            "caller_id": self.caller_id,
            "session_id": self.session_id,
            "started_at": _iso(self.started_at),
            "answered_at": _iso(self.answered_at),
            "ended_at": _iso(self.ended_at),
            "duration_s": self.duration_s,
            "outcome": self.outcome,
            "ended_by": self.ended_by,
            "transferred_to": self.transferred_to,
            "recording_path": self.recording_path,
            "transcript": [line.to_json() for line in self.transcript],
            "turns": [dict(turn) for turn in self.turns],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
