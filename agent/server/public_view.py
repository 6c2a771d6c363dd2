"""What the session API and its event stream show of a customer: a phone number typed into the API is a claim,
not an identity, so a stored customer's record is never read back beyond the first name of the greeting."""

from __future__ import annotations

from typing import Any


def first_name(name: str | None) -> str | None:
    return (name or "").strip().split(" ")[0] or None


def public_customer(customer: dict[str, Any]) -> dict[str, Any]:
    """The first name the greeting used and the number the client gave; no e-mail, surname, vehicles or id."""
    return {"name": first_name(customer.get("name")), "phone": customer.get("phone")}


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    """A session event as its WebSocket shows it: a `state_update` carries the public customer.
    (Booking slots are shown as the dialog holds them: what it fills in from a stored record, and reads back,
    is the dialog's to withhold from a session whose caller is not verified.)"""
    customer = event.get("customer")
    if event.get("type") != "state_update" or not isinstance(customer, dict):
        return event
    return {**event, "customer": public_customer(customer)}
