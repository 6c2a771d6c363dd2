"""ConversationState: everything one conversation remembers between turns, serialisable without loss."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, ConfigDict, Field

from agent.dialog.nlu.intents import Intent

AgentName = Literal["router", "faq", "booking", "escalation", "respond"]
BookingAction = Literal["book", "cancel", "reschedule"]
AwaitedSlot = Literal[
    "action",
    "service",
    "vehicle",
    "day",
    "time",
    "name",
    "phone",
    "caller_id",
    "confirm",
    "change",
    "code",
    "detail",
    "choice",
]
OfferKind = Literal["book_service", "book_test_drive", "anything_else"]
TaskStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
Priority = Literal["interrupt", "high", "normal"]
HumanStatus = Literal["checking", "available", "transferred", "callback_scheduled", "unavailable"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class CustomerContext(BaseModel):
    customer_id: int | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    vehicles: list[dict[str, Any]] = Field(default_factory=list)


class BookingSlots(BaseModel):
    """What the caller has told us towards one booking, cancellation or reschedule."""

    action: BookingAction | None = None
    appointment_type: Literal["service", "test_drive"] | None = None
    service_type: str | None = None
    service_type_id: int | None = None
    vehicle: str | None = None
    inventory_id: int | None = None
    candidate_ids: list[int] = Field(
        default_factory=list
    )  # the cars just listed, when "yes" asked for one of them
    preferred_date: str | None = None  # ISO date, dealership time zone
    preferred_time: str | None = None  # HH:MM
    part_of_day: Literal["morning", "afternoon", "evening"] | None = None
    customer_name: str | None = None
    customer_phone: str | None = None
    customer_email: str | None = None  # only when volunteered, or known from an earlier visit
    day_range: list[str] = Field(default_factory=list)  # [first, last] ISO dates of "sometime next week"
    confirmation_code: str | None = None
    awaiting: AwaitedSlot | None = None
    offered_times: list[str] = Field(default_factory=list)  # ISO datetimes offered to choose from
    failed_asks: int = 0  # turns in a row that the awaited value did not come (after 2: a way forward)
    completed: bool = False

    def is_active(self) -> bool:
        return self.action is not None and not self.completed


class PendingOffer(BaseModel):
    """A yes/no question the agent ended a reply with ("Would you like to book one?"), and what yes means."""

    kind: OfferKind
    asked_at_turn: int  # the turn_count when it was asked: it only holds for the caller's next turn
    service_type_id: int | None = None
    inventory_ids: list[int] = Field(default_factory=list)


class SideRequest(BaseModel):
    """One more request in the caller's utterance (a question beside a booking, a second question)."""

    text: str
    intent: Intent


class BackgroundTask(BaseModel):
    task_id: str
    task_type: Literal["human_escalation"] = "human_escalation"
    status: TaskStatus = "pending"
    created_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    human_available: bool | None = None
    human_agent_name: str | None = None
    callback_at: datetime | None = None


class Notification(BaseModel):
    notification_id: str
    task_id: str | None = None
    message: str
    priority: Priority = "normal"
    created_at: datetime = Field(default_factory=utc_now)
    human_agent_name: str | None = None
    human_available: bool | None = None


class ConversationState(BaseModel):
    """The graph's state; `draft_reply`, `spoken_notifications` and `reply` are per-turn scratch."""

    model_config = ConfigDict(validate_assignment=False)

    session_id: str
    messages: Annotated[list[AnyMessage], add_messages] = Field(default_factory=list)
    current_agent: AgentName = "router"
    detected_intent: Intent = "unknown"
    confidence: float = 0.0
    customer: CustomerContext = Field(default_factory=CustomerContext)
    caller_id: str | None = None  # the number the call came from (normalised), never changed by a booking
    caller_verified: bool = False  # the caller id came from a trusted trunk: a typed or claimed number is not
    booked_codes: list[str] = Field(
        default_factory=list
    )  # bookings made in this conversation: its own to change
    booking_slots: BookingSlots = Field(default_factory=BookingSlots)
    pending_tasks: list[BackgroundTask] = Field(default_factory=list)
    notifications_queue: list[Notification] = Field(default_factory=list)
    escalation_in_progress: bool = False
    human_agent_status: HumanStatus | None = None
    human_agent_name: str | None = None
    turn_count: int = 0
    ended: bool = False
    created_at: datetime = Field(default_factory=utc_now)
    last_updated: datetime = Field(default_factory=utc_now)
    pending_offer: PendingOffer | None = None
    side_requests: list[SideRequest] = Field(default_factory=list)  # per turn: answered beside the main one
    booking_text: str | None = None  # per turn: the caller's words less the side requests
    draft_reply: str = ""
    spoken_notifications: list[str] = Field(default_factory=list)
    reply: str = ""
    last_reply: str = ""  # everything the agent said last, in full (for "can you repeat that?")
    channel: Literal["chat", "voice"] = "chat"
    understood_by: str = "offline"  # which brain understood this turn: offline, llm, or offline-fallback
    slots_found_by: dict[str, str] = Field(
        default_factory=dict
    )  # per turn: booking value -> brain that heard it
    reply_by: str = "templates"  # per turn: who wrote the reply's words, our templates or the llm

    def live_offer(self) -> PendingOffer | None:
        """The yes/no question of the agent's last reply, if that reply asked one."""
        offer = self.pending_offer
        return offer if offer is not None and offer.asked_at_turn == self.turn_count - 1 else None

    def verified_phone(self) -> str | None:
        """The caller id when a trusted trunk vouches for it (proof of who is calling); else None."""
        return self.caller_id if self.caller_verified else None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConversationState:
        return cls.model_validate(data)
