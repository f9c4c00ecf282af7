"""How the simulator writes its replies: the PHP service's JSON, quirks included (numbers as strings, ...)."""

from __future__ import annotations

import math
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

from ._dataset import SimCall, SimEvent

PAGE_SIZE = 500


class Rendering:
    """Reply rendering, mixed into ``Simulator``: the wire names are written out here, independently
    of the client's wire layer, so a test of one against the other checks two readings of the seed."""

    quirks: bool
    reply_offset: int | None = None  # answer in this UTC offset whatever was asked (``Changes.answer_in_offset``)

    def _shown(self, offset: int) -> int:
        """The offset a reply is written in: the one asked for, unless the server answers in its own."""
        return offset if self.reply_offset is None else self.reply_offset

    def _tz(self, offset: int) -> timezone:
        return timezone(timedelta(minutes=self._shown(offset)))

    def recording_url(self, call: SimCall) -> str:
        raise NotImplementedError

    def _quirk(self, key: str, salt: int) -> bool:
        return self.quirks and zlib.crc32(f"{key}:{salt}".encode()) % 2 == 0

    def _num(self, value: int, key: str = "") -> int | str:
        return str(value) if self._quirk(key or str(value), 7) else value

    def _empty(self, key: str, salt: int) -> str | None:
        return "" if not self.quirks or self._quirk(key, salt) else None

    def _text(self, value: str | None, key: str, salt: int) -> str | None:
        return value if value else self._empty(key, salt)

    @staticmethod
    def _wire_time(moment: datetime) -> str:
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        return f"{text}.{moment.microsecond:06d}" if moment.microsecond else text

    def _event_json(self, e: SimEvent, when: datetime) -> dict[str, Any]:
        return {
            "eventUuid": e.uuid,
            "eventDate": self._wire_time(when if self.reply_offset is None else when.astimezone(self._tz(0))),
            "eventType": self._num(e.type_id, e.uuid),
            "eventData1": e.data[0] or self._empty(e.uuid, 1),
            "eventData2": e.data[1] or self._empty(e.uuid, 2),
            "eventData3": e.data[2] or self._empty(e.uuid, 3),
            "eventData4": e.data[3] or self._empty(e.uuid, 4),
        }

    def _call_json(self, call: SimCall, offset: int) -> dict[str, Any]:
        u = call.uuid
        did = call.did
        return {
            "callUuid": u,
            "callDate": self._wire_time(call.start.astimezone(self._tz(offset))),
            "callDirection": self._num(call.direction, u + "d"),
            "cidName": self._text(call.cid_name, u, 1),
            "cidNum": self._text(call.cid_num, u, 2),
            "numDialed": self._text(call.num_dialed, u, 3),
            "duration": self._num(call.duration, u + "t"),
            "callRecorded": self._num(int(call.recorded), u + "r"),
            "recordingUrl": self.recording_url(call) if call.recorded else self._empty(u, 4),
            "didDescription": self._text(did.description if did else None, u, 5),
            "cidPrefix": self._text(did.cid_prefix if did else None, u, 6),
            "lastEvent": call.last_event,
            "callFlagged": self._num(int(call.flagged), u + "f"),
            "callSeverity": self._num(call.severity, u + "s"),
            "callNotes": self._text(call.notes, u, 8),
            "wentToVoicemail": self._num(int(call.went_to_voicemail), u + "v"),
            "spokeToPerson": self._num(int(call.spoke_to_person), u + "p"),
            "didGroup": self._text(did.group if did else None, u, 9),
            "transcription": call.transcription,
        }

    def _page_head(self, shown: int, page: int, total: int, offset: int) -> dict[str, Any]:
        """The paging fields both paged replies open with."""
        return {
            "currentResultSize": self._num(shown),
            "currentPage": self._num(page),
            "maxResultSize": self._num(total),
            "maxPages": self._num(math.ceil(total / PAGE_SIZE)),
            "utcOffset": self._num(self._shown(offset)),
        }

    def _no_rows(self) -> Any:
        return [] if self.quirks else {}  # the PHP service sends [] for an empty page
