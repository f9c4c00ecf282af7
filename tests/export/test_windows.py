"""Windows of time: a single export's days, a shard's window and the shard plan, in-process."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from pbx_async import ValidationError
from pbx_async.export import AccountConfig, Shard, Window, plan_shards
from pbx_async.export._single import days
from pbx_async.testing import Simulator

EAST = timezone(timedelta(hours=-5))


def test_past_days_are_whole_days_inclusive_and_contiguous() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    windows = list(days(date(2026, 11, 1), date(2026, 11, 3), -300, now))
    assert windows == [
        Window(datetime(2026, 11, d, tzinfo=EAST), datetime(2026, 11, d, 23, 59, 59, tzinfo=EAST)) for d in (1, 2, 3)
    ]
    assert all(w.ended_before(now) for w in windows)
    for a, b in itertools.pairwise(windows):
        assert b.start - a.end == timedelta(seconds=1)


def test_the_day_holding_now_splits_at_the_minute() -> None:
    now = datetime(2026, 11, 2, 15, 42, 37, 123456, tzinfo=UTC)  # 10:42:37 in the export's offset
    windows = list(days(date(2026, 11, 1), date(2026, 11, 3), -300, now))
    split = datetime(2026, 11, 2, 10, 42, tzinfo=EAST)
    assert [(w.start, w.end) for w in windows[1:3]] == [
        (datetime(2026, 11, 2, tzinfo=EAST), split - timedelta(seconds=1)),
        (split, datetime(2026, 11, 2, 23, 59, 59, tzinfo=EAST)),
    ]
    # What has ended is finished once; the rest of today and tomorrow are listed again on every run.
    assert [w.ended_before(split) for w in windows] == [True, True, False, False]


def test_a_day_starting_at_now_is_not_split() -> None:
    now = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # midnight in the export's offset
    windows = list(days(date(2026, 11, 2), date(2026, 11, 2), -300, now))
    assert windows == [Window(now, now + timedelta(hours=23, minutes=59, seconds=59))]
    assert not windows[0].ended_before(now)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2026, 11, 2), datetime(2026, 11, 2, 1), "aware"),
        (datetime(2026, 11, 2, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC), "after its end"),
    ],
    ids=["naive", "reversed"],
)
def test_a_window_must_be_aware_and_in_order(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Window(start, end)


def test_a_shards_key_names_its_account_and_window_in_utc() -> None:
    account = AccountConfig("east", "123456", 3, "PBX_KEY_EAST", utc_offset=-300)
    shard = Shard(account, Window(datetime(2026, 11, 1, tzinfo=EAST), datetime(2026, 11, 1, 11, 59, 59, tzinfo=EAST)))
    assert shard.key == "123456:3:2026-11-01T05:00:00/2026-11-01T16:59:59"
    other_tenant = Shard(AccountConfig("east-3", "123456", 4, "PBX_KEY_EAST"), shard.window)
    assert other_tenant.key != shard.key


@pytest.mark.anyio
async def test_the_plan_cuts_a_busy_range_into_windows_of_at_most_the_pages_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = Simulator(calls=1_800, days=4, seed=3)
    monkeypatch.setenv("PLAN_KEY", sim.auth)
    account = AccountConfig("main", sim.container_id, 0, "PLAN_KEY", sim.public_url)
    first, last = date(2026, 10, 29), date(2026, 11, 2)
    now = datetime(2026, 11, 3, tzinfo=UTC)  # the range has ended: no open shard
    async with sim.client() as client:
        shards = await plan_shards([account], first, last, pages=1, now=now, http_client=client)
    assert {s.account for s in shards} == {account}
    assert all(s.calls is not None and s.calls <= 500 for s in shards)
    assert sum(s.calls or 0 for s in shards) == len(sim)
    assert shards[0].window.start == datetime(2026, 10, 29, tzinfo=UTC)
    assert shards[-1].window.end == datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC)
    for a, b in itertools.pairwise(shards):
        assert b.window.start - a.window.end == timedelta(seconds=1)
    assert all(s.window.ended_before(now) for s in shards)


@pytest.mark.anyio
async def test_a_quiet_range_is_one_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Simulator(calls=40, days=2, seed=5)
    monkeypatch.setenv("PLAN_KEY", sim.auth)
    account = AccountConfig("main", sim.container_id, 0, "PLAN_KEY", sim.public_url)
    async with sim.client() as client:
        shards = await plan_shards(
            [account], date(2026, 10, 31), date(2026, 11, 2), now=datetime(2026, 11, 3, tzinfo=UTC), http_client=client
        )
    assert [(s.window.start.date(), s.window.end.date(), s.calls) for s in shards] == [
        (date(2026, 10, 31), date(2026, 11, 2), len(sim))
    ]
