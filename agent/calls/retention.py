"""Recording retention: recordings older than AGENT_RECORDING_RETENTION_DAYS are deleted, and their calls rows
forget the path (the row, its transcript and outcome stay)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agent.log import get_logger
from agent.store.calls import CallLog

log = get_logger(__name__)

SWEEP_EVERY_S = 3600.0


@dataclass(frozen=True)
class Swept:
    """What one sweep removed."""

    files: int
    rows: int


def _day_folder(path: Path) -> date | None:
    """The day of a recordings/<YYYY-MM-DD>/ folder (None for anything else)."""
    try:
        return date.fromisoformat(path.name)
    except ValueError:
        return None


def _delete_old_files(root: Path, cutoff: datetime) -> int:
    """Every WAV in a day folder wholly before the cutoff (a file whose row was never written, or whose row
    another host cleared first); the emptied day folders go too."""
    if not root.is_dir():
        return 0
    deleted = 0
    for folder in sorted(root.iterdir()):
        day = _day_folder(folder)
        if day is None or not folder.is_dir() or day >= cutoff.date():
            continue
        for wav in folder.glob("*.wav"):
            with contextlib.suppress(FileNotFoundError):
                wav.unlink()
                deleted += 1
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when nothing else is left in it
    return deleted


class RecordingRetention:
    """Sweeps once at start and then every `every_s`; owned by the app's cleanup_ctx."""

    def __init__(self, calls: CallLog, root: Path, days: int, *, every_s: float = SWEEP_EVERY_S) -> None:
        self._calls = calls
        self._root = root
        self._days = days
        self._every_s = every_s

    async def sweep(self, now: datetime | None = None) -> Swept:
        """Delete what is older than the retention period and clear those rows' recording paths."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self._days)
        rows = 0
        files = 0
        for call_id, path in await self._calls.recordings_before(cutoff):
            file = Path(path)
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(file.unlink)
                files += 1
            rows += await self._calls.forget_recording(call_id)
        files += await asyncio.to_thread(_delete_old_files, self._root, cutoff)
        if files or rows:
            log.info("recordings_expired", files=files, rows=rows, retention_days=self._days)
        return Swept(files, rows)

    async def run(self) -> None:
        """Sweep now and every `every_s` until cancelled; a failed sweep is logged and tried again later."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("recording_retention_failed")
            await asyncio.sleep(self._every_s)
