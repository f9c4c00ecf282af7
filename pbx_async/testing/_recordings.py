"""Recordings as the simulator serves them: file names (colliding ones too), URLs, bytes, validators,
and the HTTP reply with ``Range`` and ``If-Range``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, urlencode

from ._dataset import SimCall
from ._lies import Lies
from ._reply import Reply, json_reply
from ._wav import HEADER_SIZE, Recording

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def _colliding_name(tag: str, index: int) -> str:
    """The ``index``-th recorded call's name: pairs (0-1, 2-3, ...) that differ but clean up alike."""
    pair, style, side = index // 6, (index // 2) % 3, index % 2
    if style == 0:
        return f"{('aa', 'bb')[side]}/{tag}-{pair}.wav"  # a folder part, dropped when cleaned
    if style == 1:
        return f"{tag}-{pair}-{'x' * 300}-{'ab'[side]}.wav"  # alike for the first 300+ characters
    return f"{tag}-{pair}-2026{':_'[side]}11{':_'[side]}01.wav"  # ':' is no file name character on Windows


class Recordings:
    """The simulator's recordings, mixed into ``Simulator``."""

    _calls: dict[str, SimCall]
    seed: int
    auth: str
    container_id: str
    tenant_id: int
    recording_bytes: int | None
    sample_rate: int
    range_requests: bool
    lies: Lies
    _names: dict[str, str]  # call UUID -> file name, when names collide
    _owners: dict[str, str]  # file name -> call UUID, when names collide

    @property
    def public_url(self) -> str:
        raise NotImplementedError

    def _name_recordings(self, calls: Iterable[SimCall]) -> None:
        """Give new recorded calls their colliding names (in the order the calls were made: deterministic)."""
        if not self.lies.colliding_names:
            return
        tag = f"{self.container_id}-{self.tenant_id}"
        for call in calls:
            if call.recorded:
                name = _colliding_name(tag, len(self._names))
                self._names[call.uuid], self._owners[name] = name, call.uuid

    def file_name(self, uuid: str) -> str:
        """The call's recording file name on the server."""
        return self._names.get(uuid) or f"{uuid}.wav"

    def recording_url(self, call: SimCall) -> str:
        """The ``recordingUrl`` served for ``call`` (with the key in it under ``Lies(key_in_recording_url=True)``)."""
        return self._recording_url(call, with_key=True)

    def truth_recording_url(self, call: SimCall) -> str:
        """The ``recordingUrl`` a client should keep: the served one without any key."""
        return self._recording_url(call, with_key=False)

    def _recording_url(self, call: SimCall, *, with_key: bool) -> str:
        base, name = self.public_url.rstrip("/"), self.file_name(call.uuid)
        if not self.lies.key_in_recording_url:
            return f"{base}/recordings/{self.container_id}/{quote(name, safe='')}"
        key = [("auth", self.auth)] if with_key else []
        query = [("containerID", self.container_id), *key, ("tenantID", str(self.tenant_id)), ("fileName", name)]
        return f"{base}/api/call_recording.php?{urlencode(query, quote_via=quote)}"

    def recording(self, uuid: str, *, changed: bool = False) -> Recording:
        """The call's recording (``changed``: the other file a ``resume_changes_file`` lie serves)."""
        call = self._calls[uuid]
        if not call.recorded:
            raise KeyError(uuid)
        if self.recording_bytes is not None:
            data_size = max(0, self.recording_bytes - HEADER_SIZE)
        else:
            data_size = call.duration * self.sample_rate * 2
        return Recording(f"{self.seed}:{uuid}" + (":changed" if changed else ""), data_size, self.sample_rate)

    def recording_bytes_of(self, uuid: str) -> bytes:
        return self.recording(uuid).read()

    def recording_sha256(self, uuid: str) -> str:
        return self.recording(uuid).sha256()

    def recording_validators(self, uuid: str, *, changed: bool = False) -> tuple[str, str]:
        """The ``ETag`` and ``Last-Modified`` served with the call's recording, as sent.

        etag, last_modified = sim.recording_validators(uuid)
        """
        return self._validators(self._calls[uuid], self.recording(uuid, changed=changed), changed)

    @staticmethod
    def _validators(call: SimCall, recording: Recording, changed: bool) -> tuple[str, str]:
        modified = call.start + timedelta(seconds=call.duration) + (timedelta(days=1) if changed else timedelta())
        return recording.etag, format_datetime(modified.astimezone(UTC), usegmt=True)

    def find_recording(self, file_name: str | None) -> SimCall | None:
        """The recorded call whose file is ``file_name``, if any."""
        if self._owners:
            uuid = self._owners.get(file_name or "")
        elif file_name and file_name.endswith(".wav"):
            uuid = file_name[: -len(".wav")]
        else:
            return None
        call = self._calls.get(uuid or "")
        return call if call is not None and call.recorded else None

    def recording_reply(
        self, file_name: str | None, range_header: bytes | None, if_range: bytes | None, *, changed: bool = False
    ) -> Reply:
        """The reply to a recording request: whole (200), a range (206), or 416; ``If-Range`` honoured.

        ``changed`` (the ``resume_changes_file`` lie): a satisfiable range comes from another file.
        """
        call = self.find_recording(file_name)
        if call is None:
            return json_reply({"error": "Recording not found."}, status=404)
        lies: tuple[str, ...] = ("colliding_names",) if self._owners else ()
        recording = self.recording(call.uuid)
        etag, modified = self._validators(call, recording, False)
        size = recording.size
        head = [
            ("content-type", "audio/wav"),
            ("content-disposition", f'attachment; filename="{file_name}"'),
        ]
        ranges = [("accept-ranges", "bytes")] if self.range_requests else []
        whole = Reply(
            200,
            (*head, *ranges, ("etag", etag), ("last-modified", modified), ("content-length", str(size))),
            chunks=recording.chunks(),
            size=size,
            lies=lies,
        )
        if not self.range_requests or not range_header:
            return whole
        match = _RANGE.match(range_header.decode("latin-1").strip())
        first, last = (match.group(1), match.group(2)) if match else ("", "")
        if not first and not last:
            return Reply(416, (("content-range", f"bytes */{size}"), ("content-length", "0")), body=b"", lies=lies)
        start = int(first) if first else size - int(last)
        end = min(int(last) + 1, size) if first and last else size
        if start >= size or start < 0 or start >= end:
            return Reply(416, (("content-range", f"bytes */{size}"), ("content-length", "0")), body=b"", lies=lies)
        if changed:  # a lying server: another file, whatever If-Range asked for
            recording = self.recording(call.uuid, changed=True)
            etag, modified = self._validators(call, recording, True)
            lies += ("resume_changes_file",)
        elif if_range is not None and not _if_range_holds(if_range.decode("latin-1"), etag, modified):
            return whole  # the file changed since the client's copy: all of it, from the start
        headers = (
            *head,
            *ranges,
            ("etag", etag),
            ("last-modified", modified),
            ("content-range", f"bytes {start}-{end - 1}/{size}"),
            ("content-length", str(end - start)),
        )
        return Reply(206, headers, chunks=recording.chunks(start, end), size=end - start, lies=lies)


def _if_range_holds(value: str, etag: str, modified: str) -> bool:
    """RFC 9110 13.1.5: an entity tag matches by strong comparison (a weak one never); a date, exactly."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag
    try:
        asked: datetime = parsedate_to_datetime(value)
        return asked == parsedate_to_datetime(modified)
    except (TypeError, ValueError):  # not a date, or one without a zone
        return False
