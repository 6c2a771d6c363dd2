"""The caller's keypad (DTMF): '0' alone asks for a person; digits then '#' (or ten of them) are a number."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from agent.calls.io import CallIO

ASK_FOR_A_PERSON = "I'd like to speak to a person"


async def read_keypad(io: CallIO, keyed: Callable[[str], Awaitable[None]]) -> None:
    """Turn the call's key presses into what the caller would have said, for as long as the call lasts."""
    digits = ""
    async for key in io.dtmf():
        if key.digit == "0" and not digits:
            await keyed(ASK_FOR_A_PERSON)
        elif key.digit == "#" or len(digits + key.digit) >= 10:
            digits += key.digit if key.digit != "#" else ""
            if digits:
                await keyed(digits)
            digits = ""
        elif key.digit.isdigit():
            digits += key.digit
