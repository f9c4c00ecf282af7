"""``Simulator``: the dataset, the API's behaviour (filters, paging, offsets, errors), fault and lie knobs.

The wire names here are written out independently of the client's wire layer
on purpose: a test of client against simulator then checks one reading of the
seed against another, instead of a mapping against itself.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from .._records.calls import CallDetails, CallDirection, CallSummary
from .._records.event_types import event_class
from .._records.events import Event
from .._session import PbxSession
from . import _filters as filters
from ._app import SimulatorApp
from ._dataset import Generator, Scenario, SimCall, SimEvent
from ._faults import Faults
from ._lies import Lies
from ._lying_replies import lie_about_pages
from ._recordings import Recordings
from ._render import PAGE_SIZE, Rendering
from ._reply import Reply, json_reply
from ._server import SimulatorTransport

DEFAULT_NOW = datetime(2026, 11, 2, 17, 0, 0, tzinfo=UTC)
DEFAULT_AUTH = "sim-secret-key"
DEFAULT_CONTAINER = "123456"

ERR_CONTAINER = "Your Container ID is invalid."
ERR_AUTH = "Your API Auth Key is invalid."
ERR_UUID = "Your CallUUID is missing."
NOTES_OK = "Your call notes have been submitted."


class Simulator(Recordings, Rendering):
    """A faithful stand-in for the PBX call-history API, seeded and deterministic.

        sim = Simulator(calls=2_000, days=7, seed=1)
        async with pbx_async.testing.serve(sim) as base_url:
            async with PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
                ...

    The dataset spans ``days`` days ending at ``now`` (UTC). Ground truth:
    ``truth_calls()``, ``truth_details()``, ``recording_bytes()``,
    ``recording_sha256()``. Knobs (all off by default): ``latency`` (seconds
    from a request's arrival to its reply, the simulator's own work included) and
    ``jitter`` (random extra seconds), ``faults`` (``Faults``), ``live_arrivals`` (new calls
    added before each Call Summary request), ``quirks`` (numbers as strings,
    ``[]`` for no rows, ``""``/null for empty text, fractional seconds),
    ``lies`` (``Lies``: a hostile server). ``range_requests`` (on by default)
    serves HTTP Range on recordings; they always carry ``ETag`` and
    ``Last-Modified`` (``recording_validators()``) and honour ``If-Range``.
    ``stats`` counts requests by path, ``fault KIND`` and ``lie NAME``.
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
        lies: Lies | None = None,
        live_arrivals: int = 0,
        quirks: bool = False,
        range_requests: bool = True,
        public_url: str = "http://pbx.sim/",
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.seed, self.auth, self.container_id, self.tenant_id = seed, auth, container_id, tenant_id
        self.recordings, self.recording_bytes, self.sample_rate = recordings, recording_bytes, sample_rate
        self.latency, self.jitter, self.faults, self.lies = latency, jitter, faults or Faults(), lies or Lies()
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
        self._names: dict[str, str] = {}
        self._owners: dict[str, str] = {}
        self._name_recordings(self._calls.values())
        self._fault_rng = random.Random(seed + 1)
        self._lie_rng, self._pages_rng, self._pages_lied = random.Random(seed + 3), random.Random(seed + 4), 0
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
        """``count`` accounts behind one address; the first serves them all (faults, latency and the
        rated lies are its own; each account tells its own ``pages``, name and URL lies).

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
        for sim in sims[1:]:
            sim.stats = sims[0].stats  # one count for the address: a lie in any account shows
        return sims[0]

    def all_accounts(self) -> list[Simulator]:
        """This account and the ones it hosts."""
        return [self, *self.hosted]

    def hosting(self, *, params: Mapping[str, str] | None = None, file_name: str | None = None) -> Simulator:
        """The account a request is for (this one when none matches: it then answers with the error)."""
        for sim in self.hosted:
            if params is not None and (
                params.get("containerID") == sim.container_id
                and (filters.to_int(params.get("tenantID")) or 0) == sim.tenant_id
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
            recording_url=self.truth_recording_url(call) if call.recorded else None,
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
            self._name_recordings([call])
            added.append(call.uuid)
        self._changed()
        return added

    def change(self, edit: Callable[[Generator], list[SimCall]]) -> None:
        """Apply ``edit`` (``Changes``): it edits calls (``sim_call``) and returns new ones, listed from now on."""
        added = edit(self._generator)
        self._calls.update((c.uuid, c) for c in added)
        self._name_recordings(added)
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._cache.clear()
        self._rendered.clear()

    def roll_fault(self) -> str | None:
        return self.faults.pick(self._fault_rng.random())

    def roll_lie(self, endpoint: str) -> str | None:
        """The rated lie (if any) a request to ``endpoint`` meets; one roll per request, whatever else happens."""
        return self.lies.pick(self._lie_rng.random(), endpoint)

    def check_account(self, params: Mapping[str, str]) -> Reply | None:
        if (
            params.get("containerID") != self.container_id
            or (filters.to_int(params.get("tenantID")) or 0) != self.tenant_id
        ):
            return json_reply({"error": ERR_CONTAINER})
        if params.get("auth") != self.auth:
            return json_reply({"error": ERR_AUTH})
        return None

    def call_list(self, params: Mapping[str, str]) -> Reply:
        if self.live_arrivals:
            self.add_live_calls(self.live_arrivals)
        return self._paged_reply("list", params, self._call_list)

    def call_details(self, params: Mapping[str, str]) -> Reply:
        return self._paged_reply("details", params, self._call_details)

    def _paged_reply(self, kind: str, params: Mapping[str, str], render: Callable[[Mapping[str, str]], Reply]) -> Reply:
        """The true page, or under ``Lies(pages=...)`` one that lies about how many pages there are."""
        reply = self._rendered_reply(kind, params, render)
        mode = self.lies.pages
        if mode is None or self._pages_rng.random() >= self.lies.pages_rate:
            return reply
        self._pages_lied += 1
        page = max(1, filters.to_int(params.get("page")) or 1)
        return lie_about_pages(
            mode,
            reply,
            page,
            self._pages_lied,
            lambda p: self._rendered_reply(kind, {**params, "page": str(p)}, render),
        )

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
        offset = filters.to_int(params.get("utcOffset")) or 0
        page = max(1, filters.to_int(params.get("page")) or 1)
        matches = self._matching(params, offset)
        rows = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        data = {c.uuid: self._call_json(c, offset) for c in rows}
        return json_reply(
            {**self._page_head(len(rows), page, len(matches), offset), "data": data or self._no_rows()},
            lies=self._url_lie(rows),
        )

    def _call_details(self, params: Mapping[str, str]) -> Reply:
        call = self._calls.get(params.get("callUUID") or "")
        if call is None:
            return json_reply({"error": ERR_UUID})
        offset = filters.to_int(params.get("utcOffset")) or 0
        page = max(1, filters.to_int(params.get("page")) or 1)
        events = call.events[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        tz = timezone(timedelta(minutes=offset))
        data = {e.uuid: self._event_json(e, self._event_time(e).astimezone(tz)) for e in events}
        return json_reply(
            {
                **self._page_head(len(events), page, len(call.events), offset),
                **self._call_json(call, offset),
                "data": data or self._no_rows(),
            },
            lies=self._url_lie([call]),
        )

    def _url_lie(self, calls: list[SimCall]) -> tuple[str, ...]:
        recorded = self.lies.key_in_recording_url and any(c.recorded for c in calls)
        return ("key_in_recording_url",) if recorded else ()

    def call_notes(self, form: Mapping[str, str]) -> Reply:
        call = self._calls.get(form.get("callUuid") or "")
        if call is None:
            return json_reply({"error": ERR_UUID})
        if "callFlagged" in form:
            call.flagged = bool(filters.flag(form["callFlagged"]))
        severity = filters.to_int(form.get("callSeverity"))
        if severity is not None and 0 <= severity <= 5:
            call.severity = severity
        if "callNotes" in form:
            call.notes = form["callNotes"][:255] or None
        self._changed()
        return json_reply({"success": NOTES_OK})

    # -- filters --------------------------------------------------------------------------------

    def _matching(self, params: Mapping[str, str], offset: int) -> list[SimCall]:
        key = (self._version, offset, tuple(sorted((k, v) for k, v in params.items() if k != "page")))
        cached = self._cache.get(key)
        if cached is None:
            window = filters.window(params, offset, self.now)
            cached = self._cache[key] = self._sorted(c for c in self._calls.values() if filters.keep(c, params, window))
        return cached
