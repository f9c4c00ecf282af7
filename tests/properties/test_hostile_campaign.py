"""The fault campaign with a lying server: bombs, endless and trickled replies, false page counts,
redirects, the key echoed back and put in recording URLs, a changed file at resume, colliding names.

Every lie at a few percent of requests, beside every healthy fault; the export is rerun until it
reports no failure. Nothing lost, nothing doubled, the key nowhere (raw, percent-encoded,
JSON- and backslash-escaped, or any 8-character piece of it).
"""

from __future__ import annotations

import json
import os
import traceback
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pbx_async import PbxError, PbxSession, RetryPolicy
from pbx_async.export import ExportSpec, run_export
from pbx_async.testing import Faults, Lies, Simulator, serve

from ..leaks import key_forms, log_everything

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"]), pytest.mark.slow]
KEY = 'k3y/SECRET+value=xyz\\"quoted"'
CALLS = int(os.environ.get("PBX_CAMPAIGN_CALLS", "400"))


def key_hits(text: str) -> list[str]:
    return sorted(form for form in key_forms(KEY) if form in text)


async def test_a_lying_server_loses_nothing_doubles_nothing_leaks_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log_everything(caplog)
    faults = Faults.uniform(0.05, slow_seconds=3.0, retry_after=1, cut_body=0.05)  # cuts: resumes to lie about
    lies = Lies(
        gzip_bomb=0.01,
        bomb_bytes=100 * 1024**2,  # past the 32 MiB limit, about 100 KB on the wire
        oversized=0.01,
        oversized_bytes=40 * 1024**2,
        trickle=0.015,
        trickle_seconds=0.4,
        redirect=0.004,
        echo_key=0.01,
        resume_changes_file=0.5,
        pages="growing",
        pages_rate=0.01,
        key_in_recording_url=True,
        colliding_names=True,
    )
    # Small recordings: a trickled one is given up at the timeout plus its size at the minimum body rate
    # (32 KiB/s): at 2,000 samples/s one trickled file held the run for 30-60 s, at 200 for a few.
    sim = Simulator(calls=CALLS, days=2, seed=67, auth=KEY, faults=faults, lies=lies, sample_rate=200)
    policy = RetryPolicy(max_attempts=8, initial_backoff=0.01, max_backoff=0.2, max_elapsed=60)
    spec = ExportSpec(
        first=(sim.now - timedelta(days=2)).date(),
        last=sim.now.date(),
        out=tmp_path / "calls.jsonl",
        format="jsonl",
        details=True,
        recordings=tmp_path / "recordings",
    )
    errors: list[BaseException] = []
    runs = 0
    async with serve(sim) as base_url:
        session = PbxSession(
            sim.auth, sim.container_id, base_url=base_url, max_concurrency=16, retry=policy, timeout=httpx.Timeout(2.0)
        )
        async with session:
            while runs < 12:  # a lie that is final for one request is simply met again by a rerun
                runs += 1
                try:
                    result = await run_export(session, spec, now=sim.now)
                except PbxError as exc:
                    errors.append(exc)
                    continue
                if result.failures == 0:
                    break

    lines = [json.loads(line) for line in spec.out.read_text(encoding="utf-8").splitlines()]
    truth = {c.uuid: c for c in sim.truth_calls()}
    assert len(lines) == len({c["uuid"] for c in lines}) == len(truth)  # 0 duplicated, 0 lost
    for call in lines:
        got, want = [e["uuid"] for e in call["events"]], [e.uuid for e in sim.truth_details(call["uuid"]).events]
        assert sorted(got) == sorted(want) and len(set(got)) == len(got)  # events of one instant in any order
        if truth[call["uuid"]].recorded:
            assert call["recording"]["sha256"] == sim.recording_sha256(call["uuid"])  # never a spliced file
    recorded = [u for u, c in truth.items() if c.recorded]
    assert len(list(spec.recordings.iterdir())) == len(recorded)  # type: ignore[union-attr]  # colliding names apart

    told = {k.removeprefix("lie "): v for k, v in sim.stats.items() if k.startswith("lie ")}
    print(f"\nhostile campaign: {len(truth)} calls, {runs} runs, lies told {told}, errors met {len(errors)}")
    every = {"gzip_bomb", "oversized", "trickle", "redirect", "echo_key", "resume_changes_file", "pages"}
    assert every | {"key_in_recording_url", "colliding_names"} <= set(told)

    texts = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    texts += [t for e in errors for t in traceback.format_exception(e)]
    texts += [caplog.text, repr(session)]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".wav"]
    assert [key_hits(t) for t in texts if key_hits(t)] == []
    assert [p.name for p in files if key_hits(p.read_bytes().decode("latin-1"))] == []
