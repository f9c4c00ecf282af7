"""Call Notes: attach notes, a follow-up flag and a severity to a call.

await session.set_call_notes(call, notes="Called back", severity=2)
"""

from __future__ import annotations

from .. import _validation as check
from .._records.calls import CallSummary
from .._session_core import SessionCore
from .._wire import params as wire
from .._wire import replies


class NotesCalls(SessionCore):
    """``set_call_notes``."""

    async def set_call_notes(
        self,
        call: str | CallSummary,
        *,
        notes: str | None = None,
        flagged: bool | None = None,
        severity: int | None = None,
    ) -> None:
        """Attach notes, a follow-up flag and/or a severity (0-5) to a call.

            await session.set_call_notes(call, notes="Called back", flagged=False, severity=2)

        Only the fields given are sent. Notes over 255 characters and a
        severity outside 0..5 are refused before any request.
        """
        notes, flagged, severity = check.note_fields(notes, flagged, severity)
        form = self._params(wire.call_notes(check.call_uuid(call), notes=notes, flagged=flagged, severity=severity))
        await self._http.post_form("Call Notes", self.paths.call_notes, form, replies.notes_reply)
