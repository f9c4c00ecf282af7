"""Constructing a session: argument checks, repr, from_env, injected clients."""

from __future__ import annotations

import httpx
import pytest
import respx

import pbx_async
from pbx_async import ApiPaths, PbxSession, RetryPolicy, ValidationError

from ..conftest import BASE, CONTAINER, KEY, list_reply, mocked_session


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"container_id": "1234567"}, "exactly 6 digits"),
        ({"container_id": "12345"}, "exactly 6 digits"),
        ({"container_id": "12a456"}, "exactly 6 digits"),
        ({"container_id": 1234567}, "exactly 6 digits"),
        ({"tenant_id": 1000}, "0 to 999"),
        ({"tenant_id": -1}, "0 to 999"),
        ({"tenant_id": True}, "0 to 999"),
        ({"base_url": "ftp://pbx.test/"}, "http:// or https://"),
        ({"base_url": "pbx.test"}, "http:// or https://"),
        ({"base_url": "https://pbx.test/?auth=x"}, "must not carry a query"),
        ({"utc_offset": 900}, "-720 to 840"),
        ({"utc_offset": "-300"}, "-720 to 840"),
        ({"max_concurrency": 0}, "from 1 to"),
        ({"timeout": 0}, "positive number"),
        ({"auth": ""}, "API key"),
    ],
)
def test_bad_arguments_are_refused_at_construction(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"auth": KEY, "container_id": CONTAINER, **kwargs}
    with pytest.raises(ValidationError, match=message):
        PbxSession(**args)  # type: ignore[arg-type]


def test_validation_error_is_a_value_error_and_pbx_error() -> None:
    with pytest.raises(ValueError, match="6 digits"):
        PbxSession(KEY, "1")
    assert issubclass(ValidationError, pbx_async.PbxError)


@pytest.mark.parametrize("path", ["https://evil.test/api/x.php", "//evil.test/x", "", "api/x.php?auth=1"])
def test_paths_cannot_point_at_another_host(path: str) -> None:
    with pytest.raises(ValidationError, match="relative to base_url"):
        ApiPaths(call_details=path)


def test_retry_policy_is_checked() -> None:
    with pytest.raises(ValidationError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValidationError, match="max_elapsed"):
        RetryPolicy(max_elapsed=-1)


def test_repr_hides_the_key() -> None:
    session = PbxSession(KEY, 654321, tenant_id=12, base_url=BASE)
    text = repr(session) + str(vars(session))
    assert KEY not in text
    assert "654321" in text and "'***'" in text


def test_from_env_reads_the_four_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBX_AUTH", KEY)
    monkeypatch.setenv("PBX_CONTAINER_ID", "222333")
    monkeypatch.setenv("PBX_TENANT_ID", "7")
    monkeypatch.setenv("PBX_BASE_URL", "http://localhost:9999")
    session = PbxSession.from_env(max_concurrency=3)
    assert (session.container_id, session.tenant_id, session.base_url) == (
        "222333",
        7,
        "http://localhost:9999/",
    )
    assert session.max_concurrency == 3


def test_from_env_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PBX_AUTH", raising=False)
    monkeypatch.setenv("PBX_CONTAINER_ID", "222333")
    with pytest.raises(ValidationError, match="PBX_AUTH"):
        PbxSession.from_env()


@pytest.mark.anyio
async def test_a_closed_session_says_how_to_open_it() -> None:
    session = PbxSession(KEY, CONTAINER, base_url=BASE)
    with pytest.raises(RuntimeError, match="async with"):
        session.iter_calls()


@pytest.mark.anyio
async def test_an_injected_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=list_reply(["a"]))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), headers={"X-Trace": "t1"})
    async with PbxSession(KEY, CONTAINER, base_url=BASE, http_client=client) as session:
        calls = [c async for c in session.iter_calls()]
    assert [c.uuid for c in calls] == ["a"]
    assert seen[0].headers["X-Trace"] == "t1"
    assert not client.is_closed
    await client.aclose()


@pytest.mark.anyio
async def test_custom_paths_are_used(api: respx.MockRouter) -> None:
    route = api.get(BASE + "v2/list.php").respond(json=list_reply(["a"]))
    async with mocked_session(api, paths=ApiPaths(call_list="/v2/list.php")) as session:
        assert [c.uuid async for c in session.iter_calls()] == ["a"]
    assert route.call_count == 1
