"""The accounts file, shard lines and the plan: what a runner is handed, checked before anything is sent."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pbx_async import AuthenticationError, ValidationError
from pbx_async.export import AccountConfig, Shard, Window, load_accounts, plan_shards
from pbx_async.export._accounts import parse_accounts
from pbx_async.testing import Simulator, serve

GOOD = {"name": "east", "container_id": "123456", "auth_env": "PBX_KEY_EAST"}


def test_accounts_file_gives_accounts_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[defaults]\nbase_url = "https://pbx.example/"\nutc_offset = -300\n\n'
        '[[account]]\nname = "east"\ncontainer_id = "123456"\nauth_env = "PBX_KEY_EAST"\n\n'
        '[[account]]\ncontainer_id = "654321"\ntenant_id = 7\nauth_env = "PBX_KEY_WEST"\nutc_offset = 60\n'
    )
    assert load_accounts(path) == [
        AccountConfig("east", "123456", 0, "PBX_KEY_EAST", "https://pbx.example/", -300),
        AccountConfig("654321", "654321", 7, "PBX_KEY_WEST", "https://pbx.example/", 60),
    ]


BAD_FILES: list[tuple[str, dict[str, Any], str]] = [
    ("a key in the file", {"account": [{**GOOD, "auth": "s3cret"}]}, "never stored in the file"),
    ("a key in defaults", {"defaults": {"api_key": "s3cret"}, "account": [GOOD]}, "never stored in the file"),
    ("a password", {"account": [{**GOOD, "password": "x"}]}, "auth_env"),
    ("7-digit container", {"account": [{**GOOD, "container_id": "1234567"}]}, "exactly 6 digits"),
    ("tenant 1000", {"account": [{**GOOD, "tenant_id": 1000}]}, "0 to 999"),
    ("offset 15 h", {"account": [{**GOOD, "utc_offset": 900}]}, "-720 to 840"),
    ("no auth_env", {"account": [{"name": "x", "container_id": "123456"}]}, "auth_env must name"),
    ("auth_env with a space", {"account": [{**GOOD, "auth_env": "MY KEY"}]}, "auth_env must name"),
    ("unknown key", {"account": [{**GOOD, "colour": "red"}]}, "unknown key"),
    ("unknown section", {"accounts": [GOOD]}, "unknown section"),
    ("no accounts", {}, "none found"),
    ("same name twice", {"account": [GOOD, {**GOOD, "container_id": "654321"}]}, "same name"),
    ("same account twice", {"account": [GOOD, {**GOOD, "name": "other"}]}, "same container and tenant"),
    ("base URL without scheme", {"account": [{**GOOD, "base_url": "pbx.example"}]}, "http"),
]


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_accounts_file_is_refused_saying_what_is_allowed(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        parse_accounts(data)


def test_a_key_in_the_file_is_not_repeated_in_the_message() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_accounts({"account": [{**GOOD, "auth": "s3cret-value"}]})
    assert "s3cret-value" not in str(caught.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read"):
        load_accounts(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[[account]\n")
    with pytest.raises(ValidationError, match="not valid TOML"):
        load_accounts(tmp_path / "bad.toml")


def test_the_key_comes_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    account = parse_accounts({"account": [GOOD]})[0]
    monkeypatch.delenv("PBX_KEY_EAST", raising=False)
    with pytest.raises(ValidationError, match="set PBX_KEY_EAST"):
        account.auth()
    monkeypatch.setenv("PBX_KEY_EAST", "the-key")
    assert account.auth() == "the-key"


EAST = AccountConfig("east", "123456", 0, "PBX_KEY_EAST", "https://pbx.example/", -300)
SHARD = Shard(
    EAST,
    Window(datetime.fromisoformat("2026-11-01T00:00:00-05:00"), datetime.fromisoformat("2026-11-01T11:59:59-05:00")),
    812,
)


def test_shard_line_round_trips_and_names_no_secret() -> None:
    line = SHARD.to_json()
    assert "\n" not in line
    assert Shard.from_json(line) == SHARD
    assert json.loads(line)["auth_env"] == "PBX_KEY_EAST"
    # The key is the same whatever offset the window is written in.
    utc = Shard.from_json(json.dumps({**json.loads(line), "from": "2026-11-01T05:00:00+00:00",
                                      "to": "2026-11-01T16:59:59+00:00"}))  # fmt: skip
    assert utc.key == SHARD.key == "123456:0:2026-11-01T05:00:00/2026-11-01T16:59:59"


def _line(**changes: Any) -> str:
    data = {**json.loads(SHARD.to_json()), **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...})


BAD_SHARDS = [
    ("not JSON", "east 2026-11-01", "one JSON line"),
    ("a list", "[1, 2]", "JSON object"),
    ("no window end", _line(to=...), "missing \\['to'\\]"),
    ("an unknown field", _line(auth="x"), "unknown \\['auth'\\]"),
    ("a naive time", _line(**{"from": "2026-11-01T00:00:00"}), "with an offset"),
    ("a fractional second", _line(**{"from": "2026-11-01T00:00:00.5-05:00"}), "whole seconds"),
    ("from after to", _line(**{"from": "2026-11-02T00:00:00-05:00"}), "after"),
    ("7-digit container", _line(container_id="1234567"), "exactly 6 digits"),
    ("negative count", _line(calls=-1), "a count"),
]


@pytest.mark.parametrize(("line", "expected"), [c[1:] for c in BAD_SHARDS], ids=[c[0] for c in BAD_SHARDS])
def test_bad_shard_line_is_refused(line: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        Shard.from_json(line)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_plan_covers_the_range_once_in_windows_of_a_few_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Simulator.accounts(2, calls=2_500, days=7)
    for i, account in enumerate(sim.all_accounts()):
        monkeypatch.setenv(f"KEY_{i}", account.auth)
    async with serve(sim) as base_url:
        accounts = parse_accounts(
            {
                "defaults": {"base_url": base_url},
                "account": [
                    {"name": "a", "container_id": "123456", "auth_env": "KEY_0", "utc_offset": -300},
                    {"name": "b", "container_id": "123456", "tenant_id": 1, "auth_env": "KEY_1", "utc_offset": 90},
                ],
            }
        )
        now = datetime(2026, 11, 2, 12, 30, 17, tzinfo=UTC)
        before = sim.stats["requests /api/call_list.php"]
        shards = await plan_shards(accounts, date(2026, 10, 20), date(2026, 11, 3), pages=1, now=now)
        probes = sim.stats["requests /api/call_list.php"] - before
    for account, config in zip(sim.all_accounts(), accounts, strict=True):
        mine = [s for s in shards if s.account == config]
        windows = [s.window for s in mine]
        offset = timedelta(minutes=config.utc_offset)
        assert all(w.start.utcoffset() == w.end.utcoffset() == offset for w in windows)  # written in its offset
        # Contiguous, no overlap, from the first second to the last of the range in the account's offset.
        assert windows[0].start.replace(tzinfo=None) == datetime(2026, 10, 20)
        assert windows[-1].end.replace(tzinfo=None) == datetime(2026, 11, 3, 23, 59, 59)
        for a, b in itertools.pairwise(windows):
            assert b.start - a.end == timedelta(seconds=1)
        # "now" starts a shard of its own, so everything before it can be finished once.
        assert any(w.start == now for w in windows)
        assert all(s.calls is not None and s.calls <= 500 for s in mine)
        assert sum(s.calls or 0 for s in mine) == len(account)
    # Cheap: one probe a shard plus the windows that had to be cut.
    assert probes < 2 * len(shards)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_refused_key_names_its_account(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Simulator.accounts(2, calls=50)
    monkeypatch.setenv("KEY_0", sim.auth)
    monkeypatch.setenv("KEY_1", "not-the-key")
    async with serve(sim) as base_url:
        accounts = parse_accounts(
            {
                "defaults": {"base_url": base_url},
                "account": [
                    {"name": "a", "container_id": "123456", "auth_env": "KEY_0"},
                    {"name": "b", "container_id": "123456", "tenant_id": 1, "auth_env": "KEY_1"},
                ],
            }
        )
        with pytest.raises(AuthenticationError, match=r"account 'b': .*API Auth Key is invalid") as caught:
            await plan_shards(accounts, date(2026, 11, 1), date(2026, 11, 2))
    assert "not-the-key" not in str(caught.value)


@pytest.mark.slow
def test_plan_command_refuses_a_missing_key_before_any_request(tmp_path: Path) -> None:
    config = tmp_path / "accounts.toml"
    config.write_text('[[account]]\nname = "east"\ncontainer_id = "123456"\nauth_env = "NOT_SET_ANYWHERE"\n')
    result = subprocess.run(
        [sys.executable, "-m", "pbx_async", "plan", "--config", str(config), "--from", "2026-11-01", "--to",
         "2026-11-02"], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "set NOT_SET_ANYWHERE in the environment" in result.stderr


USAGE = [
    ("a shard without a sink", ["--shard", SHARD.to_json()], "needs --sink"),
    ("a shard with a window", ["--shard", SHARD.to_json(), "--sink", "sqlite:///x", "--from", "2026-11-01"], "drop"),
    ("a sink without a shard", ["--sink", "sqlite:///x", "--from", "2026-11-01", "--to", "2026-11-02"], "--shard"),
    ("neither", ["--details"], "needs --from, --to, --out"),
    ("a bad shard line", ["--shard", "{}", "--sink", "sqlite:///x"], "missing"),
    ("the key not set", ["--shard", SHARD.to_json(), "--sink", "sqlite:///calls.sqlite"], "set PBX_KEY_EAST"),
    ("a bad sink", ["--shard", SHARD.to_json(), "--sink", "mysql://db/x"], "postgresql://"),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in USAGE], ids=[c[0] for c in USAGE])
def test_export_command_refuses_mixed_up_arguments(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pbx_async._cli import main

    monkeypatch.delenv("PBX_SINK", raising=False)
    if "mysql" in args[-1]:
        monkeypatch.setenv("PBX_KEY_EAST", "the-key")
    else:
        monkeypatch.delenv("PBX_KEY_EAST", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["export", *args]) == 2
    assert expected in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written, nothing created
