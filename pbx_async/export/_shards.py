"""Scale-out export: shards (account x time window), planned by probing, each run on its own.

    shards = await plan_shards(load_accounts(Path("accounts.toml")), date(2026, 8, 1), date(2026, 10, 31))
    for shard in shards:
        print(shard.to_json())          # one line each, for any runner

    shard = Shard.from_json(line)
    async with session_for(shard) as session:
        result = await run_shard(session, sink, shard, Work(details=True))

A shard is a pure description: the account (``AccountConfig``: its key named
by an environment variable, never included), the ``Window``, and an estimate
of its calls. Running one lists its window, upserts the calls and fetches the
events and recordings the sink does not hold yet; running it again, or two overlapping shards at
once, leaves every row exactly once. A shard whose window ended ``SETTLE`` ago
and whose listed calls a count shows complete is marked finished in the sink
and skipped by later runs, unless run with ``refresh`` (calls whose notes, flag,
severity, transcription or recording changed are then updated). A plan with
``lookback`` covers the last hours up to now: run with ``refresh`` on a
schedule, it keeps a warehouse current.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import anyio
import attrs

from .. import _validation as check
from .._concurrency import first_leaf
from .._errors import PbxError, ValidationError
from .._recordings_folder import check_folder
from .._session import PbxSession
from ._accounts import AccountConfig
from ._pipeline import run_windows
from ._progress import Progress
from ._single import SETTLE
from ._window import Window, WindowResult, Work
from .sinks import Account, Sink

PAGE = 500
ACCOUNTS_AT_ONCE = 8  # probed together; each with its own ``concurrency`` requests in flight
MIN_WINDOW = timedelta(minutes=1)  # a busier minute than this is one shard, however many pages
_FIELDS = ("account", "container_id", "tenant_id", "auth_env", "base_url", "utc_offset", "from", "to", "calls")


@attrs.frozen
class Shard:
    """One account's calls in one window; ``calls`` is what the plan's probe counted.

    Shard(AccountConfig("east", "123456", 0, "PBX_KEY_EAST"), Window(start, end))
    """

    account: AccountConfig
    window: Window
    calls: int | None = None

    @property
    def key(self) -> str:
        """Identifies the shard's work in the sink, whatever the offset its times are written in."""
        start, end = (f"{t.astimezone(UTC):%Y-%m-%dT%H:%M:%S}" for t in (self.window.start, self.window.end))
        return f"{self.account.container_id}:{self.account.tenant_id}:{start}/{end}"

    def to_json(self) -> str:
        """The shard as one JSON line (what ``pbx-async plan`` prints and ``export --shard`` takes)."""
        a = self.account
        values = [a.name, a.container_id, a.tenant_id, a.auth_env, a.base_url, a.utc_offset,
                  self.window.start.isoformat(), self.window.end.isoformat(), self.calls]  # fmt: skip
        return json.dumps(dict(zip(_FIELDS, values, strict=True)), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Shard:
        """Read a line of ``pbx-async plan``; anything else is a ``ValidationError`` saying what is wrong."""
        try:
            data = json.loads(text)
        except ValueError:
            raise ValidationError("--shard must be one JSON line printed by 'pbx-async plan'") from None
        if not isinstance(data, dict):
            raise ValidationError("--shard must be a JSON object printed by 'pbx-async plan'")
        missing = [f for f in _FIELDS[:-1] if f not in data]
        unknown = set(data) - set(_FIELDS)
        if missing or unknown:
            raise ValidationError(f"--shard: missing {missing or 'nothing'}, unknown {sorted(unknown) or 'nothing'}")
        account = AccountConfig(
            name=check.text("account", data["account"], max_length=64),
            container_id=check.container_id(data["container_id"]),
            tenant_id=check.tenant_id(data["tenant_id"]),
            auth_env=check.text("auth_env", data["auth_env"]),
            base_url=check.base_url(data["base_url"]),
            utc_offset=check.utc_offset(data["utc_offset"]),
        )
        start, end = _instant("from", data["from"]), _instant("to", data["to"])
        if start > end:
            raise ValidationError(f"--shard: 'from' ({start}) is after 'to' ({end})")
        calls = data.get("calls")
        if calls is not None and (not isinstance(calls, int) or isinstance(calls, bool) or calls < 0):
            raise ValidationError("--shard: 'calls' must be a count")
        return Shard(account, Window(start, end), calls)


def _instant(name: str, value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or moment.microsecond:
        raise ValidationError(f"--shard: {name!r} must be an ISO 8601 time with an offset, whole seconds")
    return moment


def session_for(account: AccountConfig | Shard, **options: Any) -> PbxSession:
    """A session for the account, its key read from the environment variable the account names."""
    config = account if isinstance(account, AccountConfig) else account.account
    return PbxSession(
        config.auth(), config.container_id, tenant_id=config.tenant_id, base_url=config.base_url,
        utc_offset=config.utc_offset, **options,
    )  # fmt: skip


# -- planning -----------------------------------------------------------------------------------------


async def plan_shards(
    accounts: list[AccountConfig],
    first: date | None = None,
    last: date | None = None,
    *,
    lookback: timedelta | None = None,
    pages: int = 4,
    now: datetime | None = None,
    concurrency: int = 4,
    **session_options: Any,
) -> list[Shard]:
    """Shards covering ``first``..``last`` (whole days, each account's offset), or the ``lookback`` up to now,
    of every account.

        shards = await plan_shards(accounts, lookback=timedelta(hours=48))   # run with refresh=True

    Each window is probed with one Call Summary request (its first page tells
    the total); a window over ``pages`` pages is cut into as many equal parts
    as its count asks for and those are probed in turn. The part of the range
    still to come ("now" onwards) is a shard of its own, so the rest can be
    finished once and skipped after.
    """
    if (lookback is None) == (first is None or last is None):
        raise ValidationError("a plan covers --from and --to, or the --lookback up to now")
    for name, day in (("--from", first), ("--to", last)):
        if day is not None:
            check.day_in_range(name, day)
    if first is not None and last is not None and first > last:
        raise ValidationError(f"--from ({first}) is after --to ({last})")
    if lookback is not None:
        check.lookback("--lookback", lookback, zero=False)
    check.positive_int("pages", pages, maximum=1000)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    found: dict[str, list[Shard]] = {a.name: [] for a in accounts}

    async def plan_account(account: AccountConfig) -> None:
        tz = timezone(timedelta(minutes=account.utc_offset))
        if lookback is not None or first is None or last is None:  # the recent past, up to the second before now
            windows = [((now - (lookback or timedelta(0))).astimezone(tz), (now - timedelta(seconds=1)).astimezone(tz))]
        else:
            start, end = datetime.combine(first, time(0, 0), tz), datetime.combine(last, time(23, 59, 59), tz)
            windows = [(start, end)]
            if start < now <= end:
                here = now.astimezone(tz)
                windows = [(start, here - timedelta(seconds=1)), (here, end)]
        session = session_for(account, max_concurrency=concurrency, **session_options)
        try:
            async with accounts_at_once, session, anyio.create_task_group() as tg:
                for a, b in windows:
                    tg.start_soon(_split, session, account, a, b, pages * PAGE, found[account.name])
        except BaseExceptionGroup as group:
            raise _for_account(first_leaf(group), account) from None
        except PbxError as exc:
            raise _for_account(exc, account) from None

    accounts_at_once = anyio.CapacityLimiter(ACCOUNTS_AT_ONCE)

    for account in accounts:
        account.auth()  # every key present before the first request
    try:
        async with anyio.create_task_group() as tg:
            for account in accounts:
                tg.start_soon(plan_account, account)
    except BaseExceptionGroup as group:
        raise first_leaf(group) from None
    return [s for a in accounts for s in sorted(found[a.name], key=lambda s: s.window.start)]


def _for_account(exc: BaseException, account: AccountConfig) -> BaseException:
    """The same error, its message saying which account it is about."""
    if isinstance(exc, PbxError) and exc.args and isinstance(exc.args[0], str):
        exc.args = (f"account {account.name!r}: {exc.args[0]}", *exc.args[1:])
    return exc


async def _split(
    session: PbxSession, account: AccountConfig, start: datetime, end: datetime, most: int, out: list[Shard]
) -> None:
    total = await _count(session, account, start, end)
    if total <= most or end - start < MIN_WINDOW:
        out.append(Shard(account, Window(start, end), total))
        return
    parts = max(2, math.ceil(total / most))
    seconds = int((end - start).total_seconds()) + 1
    bounds = [start + timedelta(seconds=seconds * i // parts) for i in range(parts + 1)]
    async with anyio.create_task_group() as tg:
        for a, b in itertools.pairwise(bounds):
            if b > a:
                tg.start_soon(_split, session, account, a, b - timedelta(seconds=1), most, out)


async def _count(session: PbxSession, account: AccountConfig, start: datetime, end: datetime) -> int:
    pages = session.iter_call_pages(from_date=start, to_date=end, utc_offset=account.utc_offset)
    async for page in pages:
        return page.total
    return 0


# -- running ------------------------------------------------------------------------------------------


@attrs.frozen
class ShardResult:
    """What a shard run did: ``skipped`` when it had finished before; failures, new and changed calls of this run."""

    key: str
    skipped: bool
    finished: bool
    listed: int
    details: int
    recordings: int
    failures: int
    new_calls: int = 0
    changed_calls: int = 0


async def run_shard(
    session: PbxSession,
    sink: Sink,
    shard: Shard,
    work: Work,
    progress: Progress | None = None,
    *,
    now: datetime | None = None,
    refresh: bool = False,
) -> ShardResult:
    """Run one shard into ``sink``; safe to run again, and beside shards that overlap it.

    result = await run_shard(session, sink, shard, Work(details=True), refresh=True)
    """
    check_folder(work.recordings)  # a link or a file: refused, not a failure for every recording
    progress = progress or Progress()
    config, window = shard.account, shard.window
    account = Account(config.container_id, config.tenant_id)
    if (session.container_id, session.tenant_id) != (account.container_id, account.tenant_id):
        raise ValidationError(f"the session's account is not the shard's ({account.container_id}/{account.tenant_id})")
    now = now or datetime.now(UTC)
    ended = window.ended_before(now - SETTLE)
    if ended and not refresh and await sink.shard_done(shard.key):
        return ShardResult(shard.key, True, True, 0, 0, 0, 0)
    work = attrs.evolve(
        work,
        utc_offset=config.utc_offset,
        recordings=None if work.recordings is None else work.recordings / f"{config.container_id}-{config.tenant_id}",
    )
    check_folder(work.recordings)  # the account's folder in it, too
    progress.begin(1, work.details, work.recordings is not None, unit="windows")
    results: list[WindowResult] = []

    async def done(_: int, result: WindowResult) -> None:
        if ended and not result.missing:  # a count shows every listed call complete
            await sink.mark_shard(shard.key, account, window.start, window.end)
        results.append(result)
        progress.on_window(f"{config.name} {window.start.isoformat()}")

    try:
        failures = await run_windows(session, sink, account, [window], work, progress, seen=now, on_done=done)
    finally:
        progress.end()
    result = results[0]
    return ShardResult(
        shard.key, False, ended and not result.missing, progress.listed, progress.detailed, progress.recorded,
        failures, len(result.new), len(result.changed),
    )  # fmt: skip
