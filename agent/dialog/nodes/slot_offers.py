"""Open times to offer from the real calendar: for a vague time, a taken one, or a caller stuck on when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from agent.dialog.nlu.day_ranges import PART_OF_DAY_WINDOWS, WHOLE_DAY, in_window
from agent.dialog.speech_format import say_date, say_list, say_on, say_times
from agent.dialog.state import BookingSlots
from agent.dialog.tools.dealership import DealershipTools
from agent.store.models import AppointmentKind, Availability

_OFFERED = 3
_SEARCH_ONE_DAY = 60  # slots to look through around one day (a day has about 20)
_SEARCH_SPAN = 200  # and around a span of days
_REASONS = {
    "taken": "that time is already taken",
    "closed": "we're closed at that time",
    "past": "that time has already passed",
    "too_far": "I can only book up to two months ahead",
}
_TARGET = {"morning": time(9, 0), "afternoon": time(13, 0), "evening": time(17, 0), None: time(10, 0)}
Window = tuple[time, time]


def sorry(availability: Availability) -> str:
    return f"I'm sorry, {_REASONS.get(availability.reason, 'that time is not free')}."


def spread(moments: Sequence[datetime], count: int = _OFFERED) -> list[datetime]:
    """Up to `count` of the times, spread over them (first, middle, last), in time order."""
    ordered = sorted(moments)
    if len(ordered) <= count:
        return ordered
    picks = {round(i * (len(ordered) - 1) / (count - 1)) for i in range(count)}
    return [ordered[i] for i in sorted(picks)]


class SlotOffers:
    """Finds open slots near what the caller asked and words the offer; the caller then picks one."""

    def __init__(self, tools: DealershipTools) -> None:
        self.tools = tools

    def say_options(self, moments: Sequence[datetime]) -> str:
        """'Friday, November 27th at noon, 2:30, or 4:30 in the afternoon', grouped by day."""
        today = self.tools.now().date()
        by_day: dict[date, list[time]] = {}
        for moment in sorted(moments):
            by_day.setdefault(moment.date(), []).append(moment.time())
        groups = [f"{say_date(day, today)} at {say_times(times)}" for day, times in by_day.items()]
        return say_list(groups, "or")

    def _offer(self, slots: BookingSlots, moments: Sequence[datetime]) -> str:
        slots.offered_times = [m.isoformat() for m in sorted(moments)]
        slots.preferred_time = None
        slots.awaiting = "choice"
        slots.failed_asks = 0
        return self.say_options(moments)

    async def _open_near(
        self, slots: BookingSlots, kind: AppointmentKind, day: date, target: time, search: int
    ) -> list[datetime]:
        # A minute past a slot start is never a slot itself, so the calendar answers with the free slots
        # nearest to it: that day's first (closest to `target` first), then the following days.
        anchor = datetime.combine(day, target, self.tools.tz) + timedelta(minutes=1)
        found = await self.tools.check_availability(kind, anchor, slots.inventory_id, alternatives=search)
        return list(found.alternatives)

    async def vague(self, slots: BookingSlots, kind: AppointmentKind) -> str:
        """ "Friday afternoon" or "sometime next week": two or three open times to choose from, never a guess."""
        part = slots.part_of_day
        window: Window = PART_OF_DAY_WINDOWS[part] if part else WHOLE_DAY
        if slots.day_range:
            first, last = (date.fromisoformat(d) for d in slots.day_range)
            found = await self._open_near(slots, kind, first, _TARGET[part], _SEARCH_SPAN)
            per_day: dict[date, datetime] = {}
            for moment in found:
                if first <= moment.date() <= last and in_window(moment, window):
                    per_day.setdefault(moment.date(), moment)
            picks = [per_day[d] for d in sorted(per_day)[:_OFFERED]]
            if picks:
                return f"I have {self._offer(slots, picks)}. Which works best for you?"
            return self._none_in(slots, found, "I'm sorry, nothing is open then.", window)
        day = date.fromisoformat(slots.preferred_date or "")
        found = await self._open_near(slots, kind, day, window[0], _SEARCH_ONE_DAY)
        same_day = [m for m in found if m.date() == day and in_window(m, window)]
        if same_day:
            return f"I have {self._offer(slots, spread(same_day))}. Which works best for you?"
        today = self.tools.now().date()
        when = f"{say_on(day, today)}{f' in the {part}' if part else ''}"
        closed = await self.tools.check_availability(
            kind, datetime.combine(day, _TARGET[part], self.tools.tz)
        )
        lead = (
            f"we're closed {say_on(day, today)}" if closed.reason == "closed" else f"I'm fully booked {when}"
        )
        return self._none_in(slots, found, f"I'm sorry, {lead}.", window)

    def _none_in(self, slots: BookingSlots, found: list[datetime], sorry_text: str, window: Window) -> str:
        """Nothing free where the caller asked: the same part of the day on the nearest day that has room."""
        by_day: dict[date, list[datetime]] = {}
        for moment in found:
            if in_window(moment, window):
                by_day.setdefault(moment.date(), []).append(moment)
        picks = spread(next(iter(by_day.values()))) if by_day else list(found[:_OFFERED])
        if not picks:
            slots.awaiting, slots.offered_times = "day", []
            return f"{sorry_text} Which other day would suit you?"
        return f"{sorry_text} The nearest times I have are {self._offer(slots, picks)}. Which works best?"

    async def instead_of(self, slots: BookingSlots, availability: Availability, lead: str) -> str:
        """The requested time cannot be had: the nearest free ones (said in time order, first = earliest)."""
        alternatives = sorted(availability.alternatives)
        if not alternatives:
            slots.awaiting, slots.offered_times, slots.preferred_time = "day", [], None
            return f"{lead} I don't have anything open near then. Which other day would suit you?"
        return f"{lead} The nearest times I have are {self._offer(slots, alternatives)}. Would one of those work?"

    async def suggest(self, slots: BookingSlots, kind: AppointmentKind, *, earliest: bool = False) -> str:
        """The caller has no time in mind, or could not be understood twice: propose a few open times."""
        now = self.tools.now()
        if earliest:
            found = await self._open_near(slots, kind, now.date(), now.time(), _SEARCH_ONE_DAY)
            picks = sorted(found)[:_OFFERED]
        elif slots.preferred_date:
            day = date.fromisoformat(slots.preferred_date)
            found = await self._open_near(slots, kind, day, time(7, 0), _SEARCH_ONE_DAY)
            same_day = [m for m in found if m.date() == day]
            picks = spread(same_day) if same_day else sorted(found[:_OFFERED])
        else:
            found = await self._open_near(slots, kind, now.date(), time(10, 0), _SEARCH_SPAN)
            per_day: dict[date, datetime] = {}
            for moment in found:
                per_day.setdefault(moment.date(), moment)
            picks = [per_day[d] for d in sorted(per_day)[:_OFFERED]]
        if not picks:
            slots.awaiting = "day"
            return "I'm sorry, I don't have anything open in the coming weeks. Which day would you like?"
        return f"How about {self._offer(slots, picks)}? Just tell me which one."
