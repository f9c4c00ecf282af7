"""The simulator: faithful data, every filter, recordings, fault knobs, live arrivals, determinism."""

from __future__ import annotations

import io
import math
import time
import wave
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import httpx
import pytest

from pbx_async import PbxSession
from pbx_async.testing import Faults, Simulator
from pbx_async.testing._dataset import SimCall

WINDOW = {"from_date": date(2026, 10, 1), "to_date": date(2026, 11, 30)}


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(calls=3_000, days=10, seed=11, quirks=True)


@pytest.fixture
async def session(sim: Simulator) -> AsyncIterator[PbxSession]:
    async with sim.session() as s:
        yield s


def _ivr(call: SimCall, kind: int = 0, ivr_id: str | None = None, pushed: str | None = None) -> bool:
    return any(
        e.type_id in (51, 52, 53, 54, 55)
        and (not kind or e.type_id == kind)
        and (ivr_id is None or e.data[0] == ivr_id)
        and (pushed is None or e.data[3] == pushed)
        for e in call.events
    )


def filter_cases(sim: Simulator) -> list[tuple[str, Any, Callable[[SimCall], bool]]]:
    """Each filter with a value and the seed's meaning of it, written from the seed's text."""
    pbx = sim._generator.pbx
    inbound = next(c for c in (sim.sim_call(u) for u in sim.uuids()) if c.direction == 1 and c.exten)
    outbound = next(c for c in (sim.sim_call(u) for u in sim.uuids()) if c.direction == 2)
    did, ext, ivr = pbx.dids[1].number, pbx.extensions[3].number, pbx.ivrs[0].id
    return [
        ("show_inbound", False, lambda c: c.direction != 1),
        ("show_outbound", False, lambda c: c.direction != 2),
        ("show_internal", False, lambda c: c.direction != 3),
        # "When showInbound=1, inbound calls will be filtered by ...": other directions pass.
        ("inbound_caller_number", inbound.cid_num, lambda c: c.direction != 1 or c.cid_num == inbound.cid_num),
        ("inbound_did", did, lambda c: c.direction != 1 or (c.did is not None and c.did.number == did)),
        ("inbound_exten_received", inbound.exten, lambda c: c.direction != 1 or c.exten == inbound.exten),
        (
            "outbound_number_dialed",
            outbound.num_dialed,
            lambda c: c.direction != 2 or c.num_dialed == outbound.num_dialed,
        ),
        ("outbound_exten_dialed", ext, lambda c: c.direction != 2 or c.cid_num == ext),
        ("internal_exten", ext, lambda c: c.direction != 3 or ext in c.internal_extens),
        ("internal_app", 2, lambda c: c.direction != 3 or c.internal_app == 2),
        ("went_to_voicemail", True, lambda c: c.went_to_voicemail),
        ("spoke_to_person", True, lambda c: c.spoke_to_person),
        ("flagged_followup", True, lambda c: c.flagged),
        ("severity", 3, lambda c: c.severity == 3),
        ("has_notes", True, lambda c: bool(c.notes)),
        ("ivr_id", ivr, lambda c: _ivr(c, ivr_id=ivr)),
        ("ivr_event_type", 53, lambda c: _ivr(c, kind=53)),
        ("ivr_pushed", "#", lambda c: True),  # ignored unless the event type is 52
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_every_filter_narrows_as_the_seed_says(sim: Simulator, session: PbxSession) -> None:
    everything = {c.uuid async for c in session.iter_calls(**WINDOW)}
    assert everything == set(sim.uuids())
    for keyword, value, meaning in filter_cases(sim):
        got = {c.uuid async for c in session.iter_calls(**WINDOW, **{keyword: value})}
        expected = {u for u in sim.uuids() if meaning(sim.sim_call(u))}
        assert got == expected, keyword
        if keyword != "ivr_pushed":
            assert 0 < len(got) < len(everything), keyword
    pushed = {c.uuid async for c in session.iter_calls(**WINDOW, ivr_event_type=52, ivr_pushed="#")}
    assert pushed == {u for u in sim.uuids() if _ivr(sim.sim_call(u), kind=52, pushed="#")}
    assert 0 < len(pushed) < len(everything)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_dates_and_offsets_select_the_right_calls(sim: Simulator, session: PbxSession) -> None:
    truth = sim.truth_calls(utc_offset=-300)
    day = truth[len(truth) // 2].date.date()
    got = [c async for c in session.iter_calls(from_date=day, to_date=day, utc_offset=-300)]
    assert got == [c for c in truth if c.date.date() == day]
    assert all(c.date.utcoffset().total_seconds() == -300 * 60 for c in got)  # type: ignore[union-attr]
    today = [c async for c in session.iter_calls()]  # no dates: "today" in UTC
    assert today == [c for c in sim.truth_calls() if c.date.date() == sim.now.date()]
    assert today


def test_all_98_event_types_and_some_unknown_ones_in_10000_calls() -> None:
    big = Simulator(calls=10_000, days=30, seed=0)
    seen = Counter(e.type_id for u in big.uuids() for e in big.sim_call(u).events)
    assert set(range(1, 99)) <= set(seen)
    assert {t for t in seen if t > 98}
    assert {big.sim_call(u).direction for u in big.uuids()} == {1, 2, 3}


def test_timelines_make_sense() -> None:
    small = Simulator(calls=2_000, seed=4)
    for uuid in small.uuids():
        call = small.sim_call(uuid)
        types = [e.type_id for e in call.events]
        assert types[-1] in (5, 31), types  # every call ends with a hangup
        assert [e.at for e in call.events] == sorted(e.at for e in call.events)
        if call.direction == 1:
            assert types[0] == 1 and call.did is not None and call.events[0].data[0] == call.did.number
        if 4 in types or 89 in types:
            assert call.spoke_to_person
        if 25 in types:
            assert call.went_to_voicemail


def test_recordings_are_wav_files_as_long_as_the_call() -> None:
    small = Simulator(calls=300, seed=2, sample_rate=8_000)
    recorded = [u for u in small.uuids() if small.sim_call(u).recorded]
    assert len(recorded) > 30
    for uuid in recorded:
        with wave.open(io.BytesIO(small.recording_bytes_of(uuid))) as wav:
            assert wav.getnframes() / wav.getframerate() == small.sim_call(uuid).duration
            assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)


def test_the_same_seed_gives_the_same_dataset() -> None:
    a, b, c = Simulator(calls=500, seed=5), Simulator(calls=500, seed=5), Simulator(calls=500, seed=6)
    assert a.truth_calls() == b.truth_calls()
    assert all(a.truth_details(u) == b.truth_details(u) for u in a.uuids()[:50])
    assert a.recording_sha256(next(u for u in a.uuids() if a.sim_call(u).recorded)) == b.recording_sha256(
        next(u for u in b.uuids() if b.sim_call(u).recorded)
    )
    assert a.truth_calls() != c.truth_calls()


FAULT_KINDS = ["error_500", "error_503", "rate_limit", "reset", "cut_body", "truncated_json", "slow"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_each_fault_knob_fires_at_its_rate() -> None:
    # 1,400 requests, 5% each kind: within +-2.5 points (about 3 standard deviations)
    faulty = Simulator(calls=50, seed=3, faults=Faults.uniform(0.35, slow_seconds=0.05, retry_after=2))
    seen: Counter[str] = Counter()
    params = {"auth": faulty.auth, "containerID": faulty.container_id, "fromDate": "2026-10-01 00:00:00"}
    async with faulty.client() as client:
        for _ in range(1_400):
            try:
                response = await client.get("api/call_list.php", params=params, timeout=httpx.Timeout(5, read=0.02))
            except httpx.ReadTimeout:
                seen["slow"] += 1
                continue
            except httpx.RemoteProtocolError as exc:
                seen["reset" if "reset" in str(exc) else "cut_body"] += 1
                continue
            if response.status_code == 429:
                assert response.headers["retry-after"] == "2"
                seen["rate_limit"] += 1
            elif response.status_code >= 500:
                seen[f"error_{response.status_code}"] += 1
            else:
                try:
                    response.json()
                    seen["ok"] += 1
                except ValueError:
                    seen["truncated_json"] += 1
    for kind in FAULT_KINDS:
        assert abs(seen[kind] / 1_400 - 0.05) < 0.025, (kind, seen)
        assert seen[kind] == faulty.stats[f"fault {kind}"]
    assert abs(seen["ok"] / 1_400 - 0.65) < 0.05


def test_fault_rates_are_off_by_default() -> None:
    assert Faults().pick(0.0) is None
    assert Faults(reset=1.0).pick(0.999) == "reset"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_live_arrivals_shift_rows_between_pages() -> None:
    live = Simulator(calls=3_000, days=1, seed=9, live_arrivals=4)
    params = {"auth": live.auth, "containerID": live.container_id}
    async with live.client() as client:
        first = (await client.get("api/call_list.php", params={**params, "page": "1"})).json()
        second = (await client.get("api/call_list.php", params={**params, "page": "2"})).json()
    assert second["maxResultSize"] == first["maxResultSize"] + 4  # the list grew between the two pages
    assert list(first["data"])[-4:] == list(second["data"])[:4]  # the tail of page 1 shifted onto page 2
    assert first["maxPages"] == math.ceil(first["maxResultSize"] / 500)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_session_gets_every_live_call_exactly_once() -> None:
    live = Simulator(calls=2_500, days=1, seed=9, live_arrivals=3)
    async with live.session() as s:
        got = [c.uuid async for c in s.iter_calls()]
    assert len(got) == len(set(got))
    today = {c.uuid for c in live.truth_calls() if c.date.date() == live.now.date()}
    assert set(got) == today


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_documented_error_replies(sim: Simulator) -> None:
    async with sim.client() as client:
        bad_key = await client.get("api/call_list.php", params={"auth": "nope", "containerID": sim.container_id})
        bad_box = await client.get("api/call_list.php", params={"auth": sim.auth, "containerID": "999999"})
        lower = await client.get("api/call_list.php", params={"auth": sim.auth, "containerid": sim.container_id})
        no_call = await client.get(
            "api/call_details.php", params={"auth": sim.auth, "containerID": sim.container_id, "callUuid": "x"}
        )
    assert bad_key.json() == {"error": "Your API Auth Key is invalid."}
    assert bad_box.json() == lower.json() == {"error": "Your Container ID is invalid."}  # names are case-sensitive
    assert no_call.json() == {"error": "Your CallUUID is missing."}  # details spell it callUUID


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_notes_persist_into_later_lists() -> None:
    fresh = Simulator(calls=200, seed=12)
    async with fresh.session() as s:
        call = [c async for c in s.iter_calls(**WINDOW)][7]
        await s.set_call_notes(call, notes="Call back Tuesday", flagged=True, severity=4)
        [updated] = [c async for c in s.iter_calls(**WINDOW, has_notes=True, severity=4) if c.uuid == call.uuid]
    assert (updated.notes, updated.flagged, updated.severity) == ("Call back Tuesday", True, 4)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_recordings_by_file_name_by_url_and_without_range(tmp_path: Any) -> None:
    plain = Simulator(calls=80, seed=13, range_requests=False)
    uuid = next(u for u in plain.uuids() if plain.sim_call(u).recorded)
    expected = plain.recording_bytes_of(uuid)
    params = {"auth": plain.auth, "containerID": plain.container_id, "fileName": plain.file_name(uuid)}
    async with plain.client() as client:
        by_name = await client.get("api/call_recording.php", params=params, headers={"Range": "bytes=10-"})
        by_url = await client.get(plain.truth_call(uuid).recording_url or "")
    assert by_name.status_code == 200  # Range ignored when the knob is off
    assert "accept-ranges" not in by_name.headers
    assert by_name.content == by_url.content == expected
    ranged = Simulator(calls=80, seed=13)
    async with ranged.client() as client:
        part = await client.get("api/call_recording.php", params=params, headers={"Range": "bytes=10-99"})
    assert (part.status_code, part.headers["content-range"]) == (206, f"bytes 10-99/{len(expected)}")
    assert part.content == expected[10:100]


@pytest.mark.anyio
async def test_latency_is_the_reply_time_from_arrival_with_the_simulators_work_inside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A benchmark's bound counts `latency` per request: the simulator's own work (and the
    # machine's contention for it) must not come on top and be charged to the client.
    sim = Simulator(calls=20, days=1, seed=3, latency=0.4)
    serve = sim.call_details

    def slow_work(params: Any) -> Any:
        time.sleep(0.25)  # the reply takes this long to build
        return serve(params)

    monkeypatch.setattr(sim, "call_details", slow_work)
    async with sim.session() as session:
        started = time.perf_counter()
        details = await session.get_call_details(sim.uuids()[0])
        took = time.perf_counter() - started
    assert details.call.uuid == sim.uuids()[0]
    assert 0.4 <= took < 0.6  # 0.65 if the latency were slept on top of the work
