"""The simulator's lies, seen at the server with plain httpx: each knob does what ``Lies`` says, and only then."""

from __future__ import annotations

import gzip
import json
import re
import struct
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx
import pytest

from pbx_async.testing import Faults, Lies, Simulator, serve
from pbx_async.testing._lying_replies import oversized
from pbx_async.testing._reply import json_reply

MIB = 1 << 20
SINCE = {"fromDate": "2026-10-01 00:00:00"}
T = TypeVar("T", bound=Callable[..., Awaitable[None]])


def on_asyncio(test: T) -> T:
    marked: T = pytest.mark.anyio(pytest.mark.parametrize("anyio_backend", ["asyncio"])(test))
    return marked


def account(sim: Simulator, **extra: str) -> dict[str, str]:
    return {"auth": sim.auth, "containerID": sim.container_id, **extra}


def lies_served(sim: Simulator) -> dict[str, int]:
    return {k: v for k, v in sim.stats.items() if k.startswith("lie ")}


async def raw_get(client: httpx.AsyncClient, url: str, **options: Any) -> tuple[httpx.Response, bytes]:
    """The reply and its body exactly as sent (not decoded)."""
    async with client.stream("GET", url, **options) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


# -- off by default, and the knobs themselves ------------------------------------------------------


@on_asyncio
async def test_without_lies_nothing_lies() -> None:
    sim = Simulator(calls=300, seed=21)
    honest = Simulator(calls=300, seed=21)
    uuid = next(u for u in sim.uuids() if sim.sim_call(u).recorded)
    async with sim.client() as client, honest.client() as twin:
        for _ in range(20):
            listed, body = await raw_get(client, "api/call_list.php", params=account(sim, **SINCE))
            assert "content-encoding" not in listed.headers
            assert json.loads(body) == (await twin.get("api/call_list.php", params=account(sim, **SINCE))).json()
        details = await client.get("api/call_details.php", params=account(sim, callUUID=uuid))
        recording = await client.get(sim.truth_call(uuid).recording_url or "", headers={"Range": "bytes=0-99"})
    assert details.json()["maxPages"] == 1
    assert recording.status_code == 206
    assert "/recordings/" in (sim.truth_call(uuid).recording_url or "")
    assert lies_served(sim) == {}


def test_lies_refuse_rates_that_are_not_chances() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        Lies(gzip_bomb=0.6, redirect=0.6)
    with pytest.raises(ValueError, match="chance"):
        Lies(trickle=1.5)
    with pytest.raises(ValueError, match="'pages' must be in"):
        Lies(pages="endless")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'redirect_to' must match"):
        Lies(redirect_to="ftp://elsewhere/")
    assert Lies.uniform(0.06) == Lies(
        gzip_bomb=0.01, oversized=0.01, trickle=0.01, redirect=0.01, echo_key=0.01, resume_changes_file=0.01
    )


def test_a_lie_is_only_picked_where_it_applies() -> None:
    assert Lies(gzip_bomb=1.0).pick(0.5, "list") == "gzip_bomb"
    assert Lies(gzip_bomb=1.0).pick(0.5, "notes") is None
    assert Lies(oversized=1.0).pick(0.5, "recording") is None
    assert Lies(resume_changes_file=1.0).pick(0.5, "recording") == "resume_changes_file"
    assert Lies(resume_changes_file=1.0).pick(0.5, "list") is None
    for kind in ("trickle", "redirect", "echo_key"):
        only: dict[str, Any] = {kind: 1.0}
        assert Lies(**only).pick(0.5, "notes") == kind
    assert Lies(gzip_bomb=0.25, redirect=0.25).pick(0.3, "list") == "redirect"  # one roll walks the rates
    assert Lies().pick(0.0, "list") is None


@on_asyncio
async def test_each_rated_lie_is_served_at_its_rate_and_counted() -> None:
    lies = Lies.uniform(0.6, bomb_bytes=2_000, oversized_bytes=5_000, trickle_seconds=0.0)
    sim = Simulator(calls=40, seed=22, lies=lies)
    seen: Counter[str] = Counter()
    short = {"auth": "wrong", "containerID": sim.container_id}  # a short JSON reply, lied about all the same
    async with sim.client() as client:
        for _ in range(600):
            response, body = await raw_get(client, "api/call_list.php", params=short)
            if response.status_code == 302:
                seen["redirect"] += 1
            elif response.headers.get("content-encoding") == "gzip":
                seen["gzip_bomb"] += 1
            elif response.headers["content-type"].startswith("text/html"):
                seen["echo_key"] += 1
            elif len(body) == 5_000:
                seen["oversized"] += 1
    # 10% each (resume_changes_file does not apply to a list): within 4 standard deviations
    for kind in ("redirect", "gzip_bomb", "echo_key", "oversized"):
        assert abs(seen[kind] - 60) < 30, (kind, seen)
        assert sim.stats[f"lie {kind}"] == seen[kind]
    assert abs(sim.stats["lie trickle"] - 60) < 30
    assert "lie resume_changes_file" not in sim.stats


@on_asyncio
async def test_a_request_that_meets_a_fault_meets_no_lie() -> None:
    sim = Simulator(calls=20, seed=23, faults=Faults(error_500=1.0), lies=Lies(redirect=1.0))
    async with sim.client() as client:
        statuses = {(await client.get("api/call_list.php", params=account(sim))).status_code for _ in range(10)}
    assert statuses == {500}
    assert lies_served(sim) == {}


# -- bounded replies: gzip bombs and oversized bodies ----------------------------------------------


@on_asyncio
async def test_gzip_bomb_is_small_on_the_wire_and_inflates_to_its_size_then_the_true_reply() -> None:
    size = 3 * MIB + 5  # whole MiBs and a rest: both ways the bomb is built
    sim = Simulator(calls=60, seed=24, lies=Lies(gzip_bomb=1.0, bomb_bytes=size))
    honest = Simulator(calls=60, seed=24)
    uuid = sim.uuids()[0]
    async with sim.client() as client, honest.client() as twin:
        listed, wire = await raw_get(client, "api/call_list.php", params=account(sim, **SINCE))
        details, details_wire = await raw_get(client, "api/call_details.php", params=account(sim, callUUID=uuid))
        notes = await client.post("api/call_notes.php", data=account(sim, callUuid=uuid, callNotes="x"))
        truth = (await twin.get("api/call_list.php", params=account(sim, **SINCE))).json()
    assert listed.headers["content-encoding"] == "gzip"
    assert int(listed.headers["content-length"]) == len(wire) < size // 400
    inflated = gzip.decompress(wire)  # checks the CRC and the length in the trailer too
    assert len(inflated) == size + len(json.dumps(truth, separators=(",", ":")))
    assert inflated[:size].strip() == b""
    assert json.loads(inflated) == truth  # leading white space: valid JSON, for a client patient enough
    assert details.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(details_wire))["data"]
    assert notes.json() == {"success": "Your call notes have been submitted."}  # not a list or details reply
    assert sim.stats["lie gzip_bomb"] == 2


@on_asyncio
async def test_the_default_gzip_bomb_is_2_gib_in_about_2_mb() -> None:
    sim = Simulator(calls=20, seed=25, lies=Lies(gzip_bomb=1.0))
    short = {"auth": "wrong", "containerID": sim.container_id}
    async with sim.client() as client:
        _, wire = await raw_get(client, "api/call_list.php", params=short)
    head = zlib.decompressobj(31).decompress(wire, 1 << 16)  # a look at the start, not 2 GiB
    (isize,) = struct.unpack("<I", wire[-4:])
    assert len(wire) < 2_200_000
    assert head == b" " * (1 << 16)
    true_reply = b'{"error":"Your API Auth Key is invalid."}'
    assert isize == (2 * 1024**3 + len(true_reply)) % 2**32  # the trailer: 2 GiB of spaces and the reply


@on_asyncio
async def test_oversized_replies_are_the_true_reply_padded_with_or_without_a_length() -> None:
    size = 2 * MIB + 3
    declared = Simulator(calls=30, seed=26, lies=Lies(oversized=1.0, oversized_bytes=size))
    undeclared = Simulator(calls=30, seed=26, lies=Lies(oversized=1.0, oversized_bytes=size, oversized_declared=False))
    honest = Simulator(calls=30, seed=26)
    async with honest.client() as twin:
        truth = (await twin.get("api/call_list.php", params=account(honest, **SINCE))).json()
    for sim, length in ((declared, str(size)), (undeclared, None)):
        async with serve(sim) as base_url, httpx.AsyncClient(base_url=base_url) as client:
            response, body = await raw_get(client, "api/call_list.php", params=account(sim, **SINCE))
        assert response.headers.get("content-length") == length
        assert (response.headers.get("transfer-encoding") == "chunked") is (length is None)
        assert len(body) == size
        reply = json.loads(body)  # the true page (its recording URLs name the served address)
        assert (reply["maxResultSize"], list(reply["data"])) == (truth["maxResultSize"], list(truth["data"]))
        assert sim.stats["lie oversized"] == 1


def test_an_oversized_reply_is_made_in_pieces_of_at_most_a_mib() -> None:
    true = json_reply({"maxPages": 1})
    reply = oversized(true, 5 * MIB, declared=True)
    assert reply.body is None and reply.chunks is not None
    pieces = list(reply.chunks)
    assert max(map(len, pieces)) <= MIB
    assert sum(map(len, pieces)) == reply.size == 5 * MIB
    assert pieces[0] == true.body


# -- bounded paging: lying maxPages ----------------------------------------------------------------


async def _pages(sim: Simulator, path: str, pages: list[int], **extra: str) -> list[dict[str, Any]]:
    async with sim.client() as client:
        return [(await client.get(path, params=account(sim, page=str(p), **extra))).json() for p in pages]


def _rows(reply: dict[str, Any]) -> list[str]:
    return list(reply["data"]) if isinstance(reply["data"], dict) else []


@on_asyncio
async def test_huge_max_pages_keeps_the_true_total_and_serves_empty_pages_past_it() -> None:
    sim = Simulator(calls=700, days=7, seed=27, lies=Lies(pages="huge"))
    first, second, third = await _pages(sim, "api/call_list.php", [1, 2, 3], **SINCE)
    assert [r["maxPages"] for r in (first, second, third)] == [10**9] * 3
    assert first["maxResultSize"] == 700
    assert len(_rows(first)) == 500 and len(_rows(second)) == 200 and _rows(third) == []
    [details] = await _pages(sim, "api/call_details.php", [1], callUUID=sim.uuids()[0])
    assert details["maxPages"] == 10**9
    assert sim.stats["lie pages"] == 4


@on_asyncio
async def test_growing_max_pages_grows_by_one_each_page_asked() -> None:
    sim = Simulator(calls=700, days=7, seed=28, lies=Lies(pages="growing"))
    replies = await _pages(sim, "api/call_list.php", [1, 2, 3, 4, 5], **SINCE)
    assert [r["maxPages"] for r in replies] == [3, 4, 5, 6, 7]  # the true count is 2
    assert all(r["maxResultSize"] == 700 for r in replies)
    assert [len(_rows(r)) for r in replies] == [500, 200, 0, 0, 0]


@on_asyncio
async def test_one_more_page_forever_repeats_the_last_true_page() -> None:
    sim = Simulator(calls=700, days=7, seed=29, lies=Lies(pages="one_more"))
    replies = await _pages(sim, "api/call_list.php", [1, 2, 3, 9], **SINCE)
    assert [r["maxPages"] for r in replies] == [2, 3, 4, 10]
    assert _rows(replies[2]) == _rows(replies[3]) == _rows(replies[1])  # past the end: page 2 again
    assert replies[3]["currentPage"] == 9
    uuid = sim.uuids()[0]
    details = await _pages(sim, "api/call_details.php", [1, 2, 50], callUUID=uuid)
    assert [d["maxPages"] for d in details] == [2, 3, 51]
    assert _rows(details[1]) == _rows(details[2]) == _rows(details[0]) != []  # events without end
    assert all(d["maxResultSize"] == len(sim.sim_call(uuid).events) for d in details)


@on_asyncio
async def test_pages_rate_lies_on_some_replies_and_leaves_the_others_true() -> None:
    sim = Simulator(calls=60, days=7, seed=30, lies=Lies(pages="huge", pages_rate=0.5))
    replies = await _pages(sim, "api/call_list.php", [1] * 200, **SINCE)
    lied = sum(r["maxPages"] == 10**9 for r in replies)
    assert sum(r["maxPages"] == 1 for r in replies) == 200 - lied  # the others tell the truth
    assert 60 < lied < 140
    assert sim.stats["lie pages"] == lied


# -- bounded time: trickling -----------------------------------------------------------------------


@on_asyncio
async def test_trickle_sends_the_body_one_byte_at_a_time() -> None:
    pause = 0.02
    sim = Simulator(calls=20, seed=31, lies=Lies(trickle=1.0, trickle_seconds=pause))
    async with serve(sim) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        params = {"auth": "wrong", "containerID": sim.container_id}  # a short reply: 41 bytes
        async with client.stream("GET", "api/call_list.php", params=params) as response:
            started = time.monotonic()  # the headers are in; the body is yet to come
            pieces = [piece async for piece in response.aiter_raw()]
            took = time.monotonic() - started
    body = b"".join(pieces)
    assert json.loads(body) == {"error": "Your API Auth Key is invalid."}
    assert max(map(len, pieces)) <= 2 and len(pieces) >= len(body) // 2
    assert took >= (len(body) - 1) * pause  # a floor the server's pauses set, not a speed
    assert sim.stats["lie trickle"] == 1
    assert "lie trickle abandoned" not in sim.stats


@on_asyncio
async def test_a_trickle_stops_when_the_client_hangs_up() -> None:
    # 400 bytes at 0.05 s: were the hang-up missed, the server would still be sending for 20 s.
    sim = Simulator(calls=30, seed=32, recording_bytes=400, lies=Lies(trickle=1.0, trickle_seconds=0.05))
    uuid = next(u for u in sim.uuids() if sim.sim_call(u).recorded)
    async with serve(sim), httpx.AsyncClient() as client:
        async with client.stream("GET", sim.truth_call(uuid).recording_url or "") as response:
            got = b""
            async for piece in response.aiter_raw():
                got += piece
                if len(got) >= 3:
                    break
        for _ in range(500):  # the server counts on its own thread: look until it has, 10 s at most
            if sim.stats["lie trickle abandoned"]:
                break
            await anyio.sleep(0.02)
    assert sim.stats["lie trickle abandoned"] == 1
    assert got == sim.recording_bytes_of(uuid)[: len(got)]


# -- redirects and keys ----------------------------------------------------------------------------


@on_asyncio
async def test_redirect_sends_the_path_and_query_key_and_all_elsewhere() -> None:
    sim = Simulator(
        calls=20, seed=33, auth="k3y/SECRET+value=xyz", lies=Lies(redirect=1.0, redirect_to="http://catch.test:9/")
    )
    uuid = next(u for u in sim.uuids() if sim.sim_call(u).recorded)
    async with sim.client() as client:
        listed = await client.get("api/call_list.php", params=account(sim, page="2"))
        posted = await client.post("api/call_notes.php", data=account(sim, callUuid=uuid))
        recording = await client.get(sim.truth_call(uuid).recording_url or "")
    assert listed.status_code == 302
    sent = listed.request.url.query.decode()
    assert quote(sim.auth, safe="") in sent
    assert listed.headers["location"] == f"http://catch.test:9/api/call_list.php?{sent}"
    assert posted.status_code == 307  # a follower posts the form, key included, again
    assert posted.headers["location"] == "http://catch.test:9/api/call_notes.php"
    assert recording.status_code == 302
    assert recording.headers["location"].startswith("http://catch.test:9/recordings/123456/")
    assert sim.stats["lie redirect"] == 3


def test_key_forms_are_the_raw_encoded_and_escaped_forms() -> None:
    assert Lies.key_forms('a/b\\c"d +') == (
        'a/b\\c"d +',
        "a%2Fb%5Cc%22d%20%2B",
        "a%2Fb%5Cc%22d+%2B",
        'a\\/b\\\\c\\"d +',
        'a/b\\\\c\\"d +',
    )
    assert Lies.key_forms("plain") == ("plain",)


@on_asyncio
async def test_echo_key_answers_not_json_with_the_sent_key_in_every_form() -> None:
    key = 'k3y/SE\\CRET+"value"=xyz'
    sim = Simulator(calls=20, seed=34, auth=key, lies=Lies(echo_key=1.0))
    async with sim.client() as client:
        listed = await client.get("api/call_list.php", params=account(sim))
        posted = await client.post("api/call_notes.php", data=account(sim, callUuid="x"))
        wrong = await client.get("api/call_list.php", params={"auth": "another-key-1234", "containerID": "1"})
    for response in (listed, posted):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        with pytest.raises(json.JSONDecodeError):
            response.json()
        text = response.text
        assert all(form in text for form in Lies.key_forms(key))
        assert text.index(key) < 300 < text.index(key) + len(key)  # the raw key straddles a 300-character cut
        assert len(text) > 1_000
    assert "another-key-1234" in wrong.text and key not in wrong.text  # the key the request carried
    assert sim.stats["lie echo_key"] == 3


@on_asyncio
async def test_key_in_recording_url_puts_the_key_in_a_url_that_works() -> None:
    key = "k3y/SECRET+value=xyz"
    sim = Simulator(calls=50, seed=35, auth=key, lies=Lies(key_in_recording_url=True))
    async with sim.client() as client:
        listed = (await client.get("api/call_list.php", params=account(sim, **SINCE))).json()
        urls = {u: row["recordingUrl"] for u, row in listed["data"].items() if row["recordingUrl"]}
        uuid, url = next(iter(urls.items()))
        fetched = await client.get(url)
    assert urls and all(f"&auth={quote(key, safe='')}&" in u for u in urls.values())
    assert url.startswith("http://pbx.sim/api/call_recording.php?containerID=123456&auth=")
    assert fetched.content == sim.recording_bytes_of(uuid)
    truth = sim.truth_call(uuid).recording_url or ""
    assert "auth=" not in truth and truth == url.replace(f"&auth={quote(key, safe='')}", "")
    assert sim.stats["lie key_in_recording_url"] == 1  # one reply carried keyed URLs


# -- recordings: validators, If-Range, a changed file, colliding names ------------------------------


@on_asyncio
async def test_recordings_carry_validators_and_honour_if_range() -> None:
    sim = Simulator(calls=80, seed=36)
    uuid = next(u for u in sim.uuids() if sim.sim_call(u).recorded)
    expected = sim.recording_bytes_of(uuid)
    etag, modified = sim.recording_validators(uuid)
    params = account(sim, fileName=sim.file_name(uuid))
    async with sim.client() as client:

        async def get(**headers: str) -> httpx.Response:
            return await client.get("api/call_recording.php", params=params, headers=headers)

        whole = await get()
        same_tag = await get(Range="bytes=100-", **{"If-Range": etag})
        same_date = await get(Range="bytes=100-", **{"If-Range": modified})
        other_tag = await get(Range="bytes=100-", **{"If-Range": '"not-this-one"'})
        weak_tag = await get(Range="bytes=100-", **{"If-Range": f"W/{etag}"})
        other_date = await get(Range="bytes=100-", **{"If-Range": "Mon, 02 Nov 2026 17:00:00 GMT"})
    assert (whole.headers["etag"], whole.headers["last-modified"]) == (etag, modified)
    assert re.fullmatch(r'"[0-9a-f]{24}"', etag) and modified.endswith(" GMT")
    for ranged in (same_tag, same_date):
        assert ranged.status_code == 206 and ranged.content == expected[100:]
    for whole_again in (other_tag, weak_tag, other_date):
        assert whole_again.status_code == 200 and whole_again.content == expected  # changed: all of it
    assert lies_served(sim) == {}


@on_asyncio
async def test_resume_changes_file_answers_a_range_from_another_file_of_the_same_size() -> None:
    sim = Simulator(calls=80, seed=37, lies=Lies(resume_changes_file=1.0))
    uuid = next(u for u in sim.uuids() if sim.sim_call(u).recorded)
    expected = sim.recording_bytes_of(uuid)
    etag, modified = sim.recording_validators(uuid)
    params = account(sim, fileName=sim.file_name(uuid))
    async with sim.client() as client:
        first = await client.get("api/call_recording.php", params=params)
        resumed = await client.get(
            "api/call_recording.php", params=params, headers={"Range": "bytes=1000-", "If-Range": etag}
        )
        again = await client.get("api/call_recording.php", params=params)
    assert first.status_code == 200 and first.content == expected and first.headers["etag"] == etag
    assert resumed.status_code == 206  # whatever If-Range said
    assert resumed.headers["content-range"] == f"bytes 1000-{len(expected) - 1}/{len(expected)}"
    assert resumed.content != expected[1000:]
    assert resumed.content == sim.recording(uuid, changed=True).read()[1000:]
    assert (resumed.headers["etag"], resumed.headers["last-modified"]) == sim.recording_validators(uuid, changed=True)
    assert resumed.headers["etag"] != etag and resumed.headers["last-modified"] != modified
    assert again.content == expected  # the change does not last: the truth stays the truth
    assert sim.recording_sha256(uuid) == Simulator(calls=80, seed=37).recording_sha256(uuid)
    assert sim.stats["lie resume_changes_file"] == 1


def _cleaned(name: str) -> str:
    """The clean-ups colliding names are made to defeat: folder dropped, ':' replaced, cut to 150."""
    return re.split(r"[/\\]", name)[-1].replace(":", "_")[:150]


@on_asyncio
async def test_colliding_names_differ_on_the_server_and_each_finds_its_own_call() -> None:
    sim = Simulator(calls=120, seed=38, lies=Lies(colliding_names=True))
    recorded = [u for u in sim.uuids() if sim.sim_call(u).recorded]
    names = [sim.file_name(u) for u in recorded]
    assert len(recorded) >= 12 and len(set(names)) == len(names)
    pairs = list(zip(names[0::2], names[1::2], strict=False))
    assert all(_cleaned(a) == _cleaned(b) for a, b in pairs)
    assert names[:2] == ["aa/123456-0-0.wav", "bb/123456-0-0.wav"]
    assert names[4:6] == ["123456-0-0-2026:11:01.wav", "123456-0-0-2026_11_01.wav"]
    assert len(names[2]) > 300 and names[2][:-6] == names[3][:-6]
    async with sim.client() as client:
        for uuid in recorded[:12]:
            expected = sim.recording_bytes_of(uuid)
            by_name = await client.get("api/call_recording.php", params=account(sim, fileName=sim.file_name(uuid)))
            by_url = await client.get(sim.truth_call(uuid).recording_url or "")
            assert by_name.content == by_url.content == expected, sim.file_name(uuid)
            assert sim.find_recording(sim.file_name(uuid)) == sim.sim_call(uuid)
    assert sim.recording_sha256(recorded[0]) != sim.recording_sha256(recorded[1])
    assert sim.stats["lie colliding_names"] == 24
    new = next(u for u in sim.add_live_calls(40) if sim.sim_call(u).recorded)
    assert sim.file_name(new) not in names and sim.find_recording(sim.file_name(new)) == sim.sim_call(new)


@on_asyncio
async def test_colliding_names_stay_apart_between_accounts_at_one_address() -> None:
    sim = Simulator.accounts(2, calls=60, lies=Lies(colliding_names=True))
    other = sim.hosted[0]
    mine = next(u for u in sim.uuids() if sim.sim_call(u).recorded)
    theirs = next(u for u in other.uuids() if other.sim_call(u).recorded)
    assert sim.file_name(mine) != other.file_name(theirs)  # the account is part of the name
    async with serve(sim) as base_url, httpx.AsyncClient() as client:
        for account_sim, uuid in ((sim, mine), (other, theirs)):
            url = account_sim.truth_call(uuid).recording_url or ""
            assert url.startswith(base_url)
            assert (await client.get(url)).content == account_sim.recording_bytes_of(uuid)
    assert sim.stats["lie colliding_names"] == 2  # the accounts count together
