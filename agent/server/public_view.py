"""What the session API and its event stream show of a customer: a phone number typed into the API is a claim,
not an identity, so a stored customer's record is never read back beyond the first name of the greeting."""

from __future__ import annotations

from typing import Any

# A booking slot the dialog filled in from the stored record rather than from the caller's own words.
ON_FILE = "on file"


def first_name(name: str | None) -> str | None:
    return (name or "").strip().split(" ")[0] or None


def public_customer(customer: dict[str, Any]) -> dict[str, Any]:
    """The first name the greeting used and the number the client gave; no e-mail, surname, vehicles or id."""
    return {"name": first_name(customer.get("name")), "phone": customer.get("phone")}


def public_slots(slots: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """Booking slots as the caller gave them; a name or e-mail that is the stored record's is not shown."""
    shown = dict(slots)
    stored_email, stored_name = customer.get("email"), customer.get("name")
    if stored_email and shown.get("customer_email") == stored_email:
        shown["customer_email"] = ON_FILE
    if stored_name and shown.get("customer_name") == stored_name:
        shown["customer_name"] = first_name(stored_name)
    return shown


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    """A session event as its WebSocket shows it: a `state_update` carries the public customer and slots."""
    customer = event.get("customer")
    if event.get("type") != "state_update" or not isinstance(customer, dict):
        return event
    shown = {**event, "customer": public_customer(customer)}
    if isinstance(event.get("booking_slots"), dict):
        shown["booking_slots"] = public_slots(event["booking_slots"], customer)
    return shown
