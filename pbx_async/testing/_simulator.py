"""``Simulator``: the dataset, the API's behaviour (filters, paging, offsets, errors), and fault knobs.

The wire names here are written out independently of the client's wire layer
on purpose: a test of client against simulator then checks one reading of the
seed against another, instead of a mapping against itself.
"""

from __future__ import annotations

import math
import random
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import httpx

from .._records.calls import CallDetails, CallDirection, CallSummary
from .._records.event_types import event_class
from .._records.events import Event
from .._session import PbxSession
from ._app import SimulatorApp
from ._dataset import Generator, Scenario, SimCall, SimEvent
from ._reply import Reply, json_reply
from ._server import SimulatorTransport
from ._wav import HEADER_SIZE, Recording

PAGE_SIZE = 500
DEFAULT_NOW = datetime(2026, 11, 2, 17, 0, 0, tzinfo=UTC)
DEFAULT_AUTH = "sim-secret-key"
DEFAULT_CONTAINER = "123456"
IVR_EVENTS = frozenset({51, 52, 53, 54, 55})

ERR_CONTAINER = "Your Container ID is invalid."
ERR_AUTH = "Your API Auth Key is invalid."
ERR_UUID = "Your CallUUID is missing."
NOTES_OK = "Your call notes have been submitted."


@attrs.frozen
class Faults:
    """Fault rates, each the chance (0..1) that a request meets that fault; all off by default.

    - ``error_500``, ``error_503``: the status with an HTML body.
    - ``rate_limit``: 429 with ``Retry-After: retry_after``.
    - ``reset``: the connection closes right after the status line and headers.
    - ``cut_body``: the connection closes halfway through the body.
    - ``truncated_json``: a 200 whose JSON stops halfway (Content-Length matches what is sent).
    - ``slow``: the reply waits ``slow_seconds`` first (set it past the client's timeout).
    """

    error_500: float = 0.0
    error_503: float = 0.0
    rate_limit: float = 0.0
    reset: float = 0.0
    cut_body: float = 0.0
    truncated_json: float = 0.0
    slow: float = 0.0
    retry_after: int = 1
    slow_seconds: float = 30.0

    def pick(self, roll: float) -> str | None:
        """The fault (if any) for a uniform ``roll`` in [0, 1)."""
        for kind in ("error_500", "error_503", "rate_limit", "reset", "cut_body", "truncated_json", "slow"):
            rate: float = getattr(self, kind)
            if roll < rate:
                return kind
            roll -= rate
        return None

    @classmethod
    def uniform(cls, total: float, **overrides: Any) -> Faults:
        """Every fault kind at an equal share of ``total`` (e.g. 0.10 for 10% of requests)."""
        share = total / 7
        rates = dict.fromkeys(
            ("error_500", "error_503", "rate_limit", "reset", "cut_body", "truncated_json", "slow"), share
        )
        return cls(**{**rates, **overrides})


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip() not in ("0", "false")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class Simulator:
    """A faithful stand-in for the PBX call-history API, seeded and deterministic.

        sim = Simulator(calls=2_000, days=7, seed=1)
        async with pbx_async.testing.serve(sim) as base_url:
            async with PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
                ...

    The dataset spans ``days`` days ending at ``now`` (UTC). Ground truth:
    ``truth_calls()``, ``truth_details()``, ``recording_bytes()``,
    ``recording_sha256()``. Knobs (all off by default): ``latency`` and
    ``jitter`` (seconds), ``faults`` (``Faults``), ``live_arrivals`` (new calls
    added before each Call Summary request), ``quirks`` (numbers as strings,
    ``[]`` for no rows, ``""``/null for empty text, fractional seconds).
    ``range_requests`` (on by default) serves HTTP Range on recordings.
    """

    def __init__(
        self,
        calls: int = 1_000,
        days: int = 7,
        seed: int = 0,
        *,
        recordings: bool = True,
        recording_bytes: int | None = None,
        sample_rate: int = 8_000,
        now: datetime = DEFAULT_NOW,
        auth: str = DEFAULT_AUTH,
        container_id: str = DEFAULT_CONTAINER,
        tenant_id: int = 0,
        latency: float = 0.0,
        jitter: float = 0.0,
        faults: Faults | None = None,
        live_arrivals: int = 0,
        quirks: bool = False,
        range_requests: bool = True,
        public_url: str = "http://pbx.sim/",
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.seed, self.auth, self.container_id, self.tenant_id = seed, auth, container_id, tenant_id
        self.recordings, self.recording_bytes, self.sample_rate = recordings, recording_bytes, sample_rate
        self.latency, self.jitter, self.faults = latency, jitter, faults or Faults()
        self.live_arrivals, self.quirks, self.range_requests = live_arrivals, quirks, range_requests
        self._public_url = public_url
        self.now = now.astimezone(UTC)
        self._generator = Generator(seed)
        self._calls: dict[str, SimCall] = {
            c.uuid: c for c in self._generator.calls(calls, self.now - timedelta(days=days), self.now)
        }
        if not recordings:
            for call in self._calls.values():
                call.recorded = False
        self._fault_rng = random.Random(seed + 1)
        self._version = 0
        self._cache: dict[tuple[Any, ...], list[SimCall]] = {}
        self._rendered: dict[
            tuple[Any, ...], Reply
        ] = {}  # list and details replies: the server must not be the bottleneck
        self.stats: Counter[str] = Counter()
        self.hosted: list[Simulator] = []  # more accounts served at this one's address
        self.app = SimulatorApp(self)

    @property
    def public_url(self) -> str:
        """The base URL clients reach the simulator at; recording URLs are built on it."""
        return self._public_url

    @public_url.setter
    def public_url(self, value: str) -> None:
        self._public_url = value
        self._changed()  # replies rendered for the old address are stale
        for other in self.hosted:
            other.public_url = value

    @classmethod
    def accounts(cls, count: int, *, seed: int = 0, **options: Any) -> Simulator:
        """``count`` accounts behind one address; the first serves them all (faults and latency are its own).

            sim = Simulator.accounts(3, calls=1_000)
            for account in sim.all_accounts(): print(account.container_id, account.tenant_id, account.auth)

        Account ``i`` has its own dataset (seed ``seed + i``), key ``sim-secret-key-i`` (the first: ``sim-secret-key``),
        container ``123456 + i // 2`` and tenant ``i % 2``: two tenants share each container.
        """
        sims = [
            cls(
                seed=seed + i,
                auth=f"{DEFAULT_AUTH}-{i}" if i else DEFAULT_AUTH,
                container_id=str(int(DEFAULT_CONTAINER) + i // 2),
                tenant_id=i % 2,
                **options,
            )
            for i in range(count)
        ]
        sims[0].hosted.extend(sims[1:])
        return sims[0]

    def all_accounts(self) -> list[Simulator]:
        """This account and the ones it hosts."""
        return [self, *self.hosted]

    def hosting(self, *, params: Mapping[str, str] | None = None, file_name: str | None = None) -> Simulator:
        """The account a request is for (this one when none matches: it then answers with the error)."""
        for sim in self.hosted:
            if params is not None and (
                params.get("containerID") == sim.container_id and (_int(params.get("tenantID")) or 0) == sim.tenant_id
            ):
                return sim
            if file_name is not None and sim.find_recording(file_name) is not None:
                return sim
        return self

    def client(self, base_url: str = "http://pbx.sim/") -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` wired to this simulator in-process (pass it as ``http_client``)."""
        self.public_url = base_url
        return httpx.AsyncClient(transport=SimulatorTransport(self), base_url=base_url)

    @asynccontextmanager
    async def session(self, **options: Any) -> AsyncIterator[PbxSession]:
        """A ``PbxSession`` talking to this simulator in-process; ``options`` go to ``PbxSession``.

        async with sim.session(max_concurrency=4) as session:
            calls = [c async for c in session.iter_calls(from_date=sim.now.date())]
        """
        async with (
            self.client() as client,
            PbxSession(
                self.auth,
                self.container_id,
                tenant_id=self.tenant_id,
                base_url=self.public_url,
                http_client=client,
                **options,
            ) as session,
        ):
            yield session

    # -- ground truth -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._calls)

    def uuids(self) -> list[str]:
        return list(self._calls)

    def sim_call(self, uuid: str) -> SimCall:
        return self._calls[uuid]

    def truth_scenario(self, uuid: str) -> Scenario:
        """What the simulator decided for the call (who answered, waits, outcome), recorded as it made the events."""
        return self._calls[uuid].scenario

    def truth_calls(self, utc_offset: int = 0) -> list[CallSummary]:
        """Every call as the API should present it, newest first."""
        return [self.truth_call(c.uuid, utc_offset) for c in self._sorted(self._calls.values())]

    def truth_call(self, uuid: str, utc_offset: int = 0) -> CallSummary:
        call = self._calls[uuid]
        tz = timezone(timedelta(minutes=utc_offset))
        return CallSummary(
            uuid=call.uuid,
            date=call.start.astimezone(tz),
            direction=CallDirection(call.direction),
            cid_name=call.cid_name or None,
            cid_num=call.cid_num or None,
            num_dialed=call.num_dialed or None,
            duration=call.duration,
            recorded=call.recorded,
            recording_url=self.recording_url(call) if call.recorded else None,
            did_description=call.did.description if call.did else None,
            cid_prefix=call.did.cid_prefix if call.did else None,
            last_event=call.last_event,
            flagged=call.flagged,
            severity=call.severity,
            notes=call.notes or None,
            went_to_voicemail=call.went_to_voicemail,
            spoke_to_person=call.spoke_to_person,
            did_group=call.did.group if call.did else None,
            transcription=call.transcription,
        )

    def truth_details(self, uuid: str, utc_offset: int = 0) -> CallDetails:
        tz = timezone(timedelta(minutes=utc_offset))
        events: list[Event] = []
        for e in self._calls[uuid].events:
            data = [d or None for d in e.data]
            events.append(
                event_class(e.type_id)(
                    uuid=e.uuid,
                    date=self._event_time(e).astimezone(tz),
                    type_id=e.type_id,
                    data1=data[0],
                    data2=data[1],
                    data3=data[2],
                    data4=data[3],
                )
            )
        return CallDetails(call=self.truth_call(uuid, utc_offset), events=tuple(events))

    def file_name(self, uuid: str) -> str:
        return f"{uuid}.wav"

    def recording_url(self, call: SimCall) -> str:
        return f"{self.public_url.rstrip('/')}/recordings/{self.container_id}/{self.file_name(call.uuid)}"

    def recording(self, uuid: str) -> Recording:
        call = self._calls[uuid]
        if not call.recorded:
            raise KeyError(uuid)
        if self.recording_bytes is not None:
            data_size = max(0, self.recording_bytes - HEADER_SIZE)
        else:
            data_size = call.duration * self.sample_rate * 2
        return Recording(f"{self.seed}:{uuid}", data_size, self.sample_rate)

    def recording_bytes_of(self, uuid: str) -> bytes:
        return self.recording(uuid).read()

    def recording_sha256(self, uuid: str) -> str:
        return self.recording(uuid).sha256()

    def _event_time(self, event: SimEvent) -> datetime:
        return event.at if self.quirks else event.at.replace(microsecond=0)

    # -- behaviour ----------------------------------------------------------------------------

    def _sorted(self, calls: Any) -> list[SimCall]:
        return sorted(calls, key=lambda c: (c.start, c.uuid), reverse=True)

    def add_live_calls(self, count: int) -> list[str]:
        """Calls that happen "now": the clock moves on a few seconds for each."""
        added = []
        for _ in range(count):
            self.now += timedelta(seconds=3)
            call = self._generator.call(self.now)
            if not self.recordings:
                call.recorded = False
            self._calls[call.uuid] = call
            added.append(call.uuid)
        self._changed()
        return added

    def _changed(self) -> None:
        self._version += 1
        self._cache.clear()
        self._rendered.clear()

    def roll_fault(self) -> str | None:
        return self.faults.pick(self._fault_rng.random())

    def check_account(self, params: Mapping[str, str]) -> Reply | None:
        if params.get("containerID") != self.container_id or (_int(params.get("tenantID")) or 0) != self.tenant_id:
            return json_reply({"error": ERR_CONTAINER})
        if params.get("auth") != self.auth:
            return json_reply({"error": ERR_AUTH})
        return None

    def call_list(self, params: Mapping[str, str]) -> Reply:
        if self.live_arrivals:
            self.add_live_calls(self.live_arrivals)
        return self._rendered_reply("list", params, self._call_list)

    def call_details(self, params: Mapping[str, str]) -> Reply:
        return self._rendered_reply("details", params, self._call_details)

    def _rendered_reply(
        self, kind: str, params: Mapping[str, str], render: Callable[[Mapping[str, str]], Reply]
    ) -> Reply:
        """A reply rendered once per dataset version and parameters, then served from memory."""
        key = (self._version, kind, tuple(sorted(params.items())))
        reply = self._rendered.get(key)
        if reply is None:
            reply = self._rendered[key] = render(params)
        return reply

    def _call_list(self, params: Mapping[str, str]) -> Reply:
        offset = _int(params.get("utcOffset")) or 0
        page = max(1, _int(params.get("page")) or 1)
        matches = self._matching(params, offset)
        rows = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        data = {c.uuid: self._call_json(c, offset) for c in rows}
        return json_reply({**self._page_head(len(rows), page, len(matches), offset), "data": data or self._no_rows()})

    def _call_details(self, params: Mapping[str, str]) -> Reply:
        call = self._calls.get(params.get("callUUID") or "")
        if call is None:
            return json_reply({"error": ERR_UUID})
        offset = _int(params.get("utcOffset")) or 0
        page = max(1, _int(params.get("page")) or 1)
        events = call.events[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        tz = timezone(timedelta(minutes=offset))
        data = {
            e.uuid: {
                "eventUuid": e.uuid,
                "eventDate": self._wire_time(self._event_time(e).astimezone(tz)),
                "eventType": self._num(e.type_id, e.uuid),
                "eventData1": e.data[0] or self._empty(e.uuid, 1),
                "eventData2": e.data[1] or self._empty(e.uuid, 2),
                "eventData3": e.data[2] or self._empty(e.uuid, 3),
                "eventData4": e.data[3] or self._empty(e.uuid, 4),
            }
            for e in events
        }
        return json_reply(
            {
                **self._page_head(len(events), page, len(call.events), offset),
                **self._call_json(call, offset),
                "data": data or self._no_rows(),
            }
        )

    def _page_head(self, shown: int, page: int, total: int, offset: int) -> dict[str, Any]:
        """The paging fields both paged replies open with."""
        return {
            "currentResultSize": self._num(shown),
            "currentPage": self._num(page),
            "maxResultSize": self._num(total),
            "maxPages": self._num(math.ceil(total / PAGE_SIZE)),
            "utcOffset": self._num(offset),
        }

    def _no_rows(self) -> Any:
        return [] if self.quirks else {}  # the PHP service sends [] for an empty page

    def call_notes(self, form: Mapping[str, str]) -> Reply:
        call = self._calls.get(form.get("callUuid") or "")
        if call is None:
            return json_reply({"error": ERR_UUID})
        if "callFlagged" in form:
            call.flagged = bool(_flag(form["callFlagged"]))
        severity = _int(form.get("callSeverity"))
        if severity is not None and 0 <= severity <= 5:
            call.severity = severity
        if "callNotes" in form:
            call.notes = form["callNotes"][:255] or None
        self._changed()
        return json_reply({"success": NOTES_OK})

    def find_recording(self, file_name: str | None) -> SimCall | None:
        if not file_name or not file_name.endswith(".wav"):
            return None
        call = self._calls.get(file_name[: -len(".wav")])
        return call if call is not None and call.recorded else None

    # -- filters --------------------------------------------------------------------------------

    def _matching(self, params: Mapping[str, str], offset: int) -> list[SimCall]:
        key = (self._version, offset, tuple(sorted((k, v) for k, v in params.items() if k != "page")))
        cached = self._cache.get(key)
        if cached is None:
            window = self._window(params, offset)
            cached = self._cache[key] = self._sorted(c for c in self._calls.values() if self._keep(c, params, window))
        return cached

    def _window(self, params: Mapping[str, str], offset: int) -> tuple[datetime, datetime]:
        tz = timezone(timedelta(minutes=offset))
        today: date = self.now.astimezone(tz).date()

        def parse(name: str, default: datetime) -> datetime:
            text = params.get(name)
            if not text:
                return default
            try:
                return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
            except ValueError:
                return default

        start = parse("fromDate", datetime(today.year, today.month, today.day, tzinfo=tz))
        end = parse("toDate", datetime(today.year, today.month, today.day, 23, 59, 59, tzinfo=tz))
        return start, end

    def _keep(self, call: SimCall, p: Mapping[str, str], window: tuple[datetime, datetime]) -> bool:
        start, end = window
        if not start <= call.start <= end:
            return False
        shown = {1: p.get("showInbound"), 2: p.get("showOutbound"), 3: p.get("showInternal")}[call.direction]
        if _flag(shown) is False:
            return False
        # Direction filters narrow their own direction only ("When showInbound=1, inbound calls
        # will be filtered by ..."); the flag filters below apply to every call.
        checks: list[tuple[int, str, str | None]] = [
            (1, "filterInboundCallerNumber", call.cid_num),
            (1, "filterInboundDid", call.did.number if call.did else None),
            (1, "filterInboundExtenReceived", call.exten),
            (2, "filterOutboundNumberDialed", call.num_dialed),
            (2, "filterOutboundExtenDialed", call.exten),
        ]
        for direction, name, value in checks:
            wanted = p.get(name)
            if wanted and call.direction == direction and value != wanted:
                return False
        if call.direction == 3:
            exten = p.get("filterInternalExten")
            if exten and exten not in call.internal_extens:
                return False
            app = _int(p.get("filterInternalApp"))
            if app and call.internal_app != app:
                return False
        for name, flag in (
            ("filterWentToVoicemail", call.went_to_voicemail),
            ("filterSpokeToPerson", call.spoke_to_person),
            ("filterFlaggedFollowup", call.flagged),
            ("filterCallHasNotes", bool(call.notes)),
        ):
            if _flag(p.get(name)) and not flag:
                return False
        severity = _int(p.get("filterCallSeverity"))
        if severity is not None and call.severity != severity:
            return False
        return self._ivr_match(call, p)

    @staticmethod
    def _ivr_match(call: SimCall, p: Mapping[str, str]) -> bool:
        ivr_id, kind = p.get("filterIvrId"), _int(p.get("filterIvrEventType")) or 0
        pushed = p.get("filterIvrPushed") if kind == 52 else None
        if not ivr_id and not kind:
            return True
        return any(
            e.type_id in IVR_EVENTS
            and (not ivr_id or e.data[0] == ivr_id)
            and (not kind or e.type_id == kind)
            and (not pushed or e.data[3] == pushed)
            for e in call.events
        )

    # -- rendering ------------------------------------------------------------------------------

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

    def _call_json(self, call: SimCall, offset: int) -> dict[str, Any]:
        u = call.uuid
        did = call.did
        return {
            "callUuid": u,
            "callDate": self._wire_time(call.start.astimezone(timezone(timedelta(minutes=offset)))),
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
