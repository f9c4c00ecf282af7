"""Adversarial proof: a fault campaign with live arrivals, secrets kept, nothing lost, nothing doubled.

The CI run uses 2,000 calls; ``PBX_CAMPAIGN_CALLS=10000 pytest tests/test_reliability.py -s``
runs the larger campaign the README's Reliability section reports.
"""

from __future__ import annotations

import json
import os
import traceback
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from pbx_async import PbxError, PbxSession, RetryPolicy
from pbx_async.export import ExportSpec, run_export
from pbx_async.testing import Faults, Simulator, serve

from ..leaks import log_everything

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]
KEY = "k3y/SECRET+value=xyz"
CALLS = int(os.environ.get("PBX_CAMPAIGN_CALLS", "2000"))


def key_hits(text: str) -> int:
    return sum(text.count(form) for form in {KEY, quote(KEY, safe=""), quote_plus(KEY)})


async def test_fault_campaign_loses_nothing_doubles_nothing_leaks_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log_everything(caplog)
    # About 10% of requests meet a fault, every kind; a new call arrives before every list request.
    faults = Faults.uniform(0.10, slow_seconds=1.0, retry_after=1)
    sim = Simulator(
        calls=CALLS, days=3, seed=61, auth=KEY, faults=faults, live_arrivals=1, quirks=True, sample_rate=200
    )
    policy = RetryPolicy(max_attempts=12, initial_backoff=0.01, max_backoff=0.25, max_elapsed=60)
    start_clock = sim.now
    spec = ExportSpec(
        first=(start_clock - timedelta(days=3)).date(),
        last=start_clock.date(),
        out=tmp_path / "calls.jsonl",
        format="jsonl",
        details=True,
        recordings=tmp_path / "recordings",
    )
    errors: list[BaseException] = []
    retries: dict[str, int] = {}
    async with serve(sim) as base_url:
        session = PbxSession(
            sim.auth, sim.container_id, base_url=base_url, max_concurrency=16, retry=policy,
            timeout=httpx.Timeout(10, read=0.5),
        )  # fmt: skip
        async with session:
            for _ in range(3):  # a run that met failures past every retry is simply run again
                try:
                    result = await run_export(session, spec, now=start_clock)
                except PbxError as exc:
                    errors.append(exc)
                    continue
                if result.failures == 0:
                    break
            retries = session.retry_counts

    # Nothing lost, nothing doubled: the output against the simulator's final ground truth.
    lines = [json.loads(line) for line in spec.out.read_text(encoding="utf-8").splitlines()]
    truth = {c.uuid: c for c in sim.truth_calls()}
    assert len(lines) == len({c["uuid"] for c in lines}) == len(truth)  # 0 duplicated, 0 lost
    assert {c["uuid"] for c in lines} == set(truth)
    assert len(truth) > CALLS  # calls did arrive during the export
    for call in lines:
        expected = sim.truth_details(call["uuid"])
        assert [e["uuid"] for e in call["events"]] == [e.uuid for e in expected.events]
        if truth[call["uuid"]].recorded:
            assert call["recording"]["sha256"] == sim.recording_sha256(call["uuid"])
        else:
            assert call["recording"] is None
    assert sorted(p.name for p in spec.recordings.iterdir()) == sorted(  # type: ignore[union-attr]
        f"{u}.wav" for u, c in truth.items() if c.recorded
    )

    # Every fault kind happened and was survived.
    injected = {k.removeprefix("fault "): v for k, v in sim.stats.items() if k.startswith("fault ")}
    assert set(injected) == {"error_500", "error_503", "rate_limit", "reset", "cut_body", "truncated_json", "slow"}
    print(f"\ncampaign: {len(truth)} calls ({len(truth) - CALLS} arrived live), faults injected {injected}")
    print(f"retries by cause: {dict(sorted(retries.items()))}")
    assert {"HTTP 500", "HTTP 503", "HTTP 429", "unreadable JSON"} <= set(retries)
    assert any(cause.startswith("network: ") for cause in retries)

    # The key: in no log record, exception, traceback, repr or written file.
    texts = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    texts += [t for e in errors for t in traceback.format_exception(e)]
    texts += [caplog.text, repr(session)]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(r.name == "httpx" or r.name.startswith("pbx_async") for r in caplog.records)
    assert sum(key_hits(t) for t in texts) == 0
    assert sum(key_hits(p.read_bytes().decode("latin-1")) for p in files) == 0
