"""The library refuses a recordings folder that is a link or no folder, before any request, on asyncio and Trio.

``run_export``, ``run_sync`` (into a file or a database) and ``run_shard`` raise
``ValidationError`` naming the path and what is allowed, where they used to
run and count every recording as failed. Into a database each account's
recordings go to ``DIR/CONTAINER-TENANT/``: that folder is checked too. A
download into such a folder fails with the same words before its request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from pbx_async import PbxSession, RecordingRef, ValidationError
from pbx_async.export import AccountConfig, ExportSpec, Shard, SyncSpec, Window, Work, run_export, run_shard, run_sync
from pbx_async.export import open_sink as _open_sink
from pbx_async.testing import Simulator

from ..conftest import requests_made

pytestmark = pytest.mark.anyio
LINK = "is a link; give the real folder, not a link"
FILE = "is a file, not a folder; give a folder (one not there yet is made)"


def _link(tmp: Path) -> tuple[Path, str]:
    (tmp / "real").mkdir()
    (tmp / "recs").symlink_to(tmp / "real", target_is_directory=True)
    return tmp / "recs", LINK


def _file(tmp: Path) -> tuple[Path, str]:
    (tmp / "recs").write_text("the user's own notes\n", encoding="utf-8")
    return tmp / "recs", FILE


FOLDERS: dict[str, Callable[[Path], tuple[Path, str]]] = {"a link": _link, "a file": _file}


def _shard(sim: Simulator) -> Shard:
    account = AccountConfig("east", sim.container_id, 0, "PBX_AUTH", base_url=sim.public_url)
    return Shard(account, Window(sim.now - timedelta(days=2), sim.now - timedelta(days=1)))


async def _export(session: PbxSession, sim: Simulator, tmp: Path, recs: Path) -> object:
    day = sim.now.date()
    spec = ExportSpec(day - timedelta(days=2), day, out=tmp / "calls.sqlite", details=True, recordings=recs)
    return await run_export(session, spec, now=sim.now)


async def _sync(session: PbxSession, sim: Simulator, tmp: Path, recs: Path) -> object:
    spec = SyncSpec(out=tmp / "calls.jsonl", format="jsonl", since=sim.now.date(), details=True, recordings=recs)
    return await run_sync(session, spec, now=sim.now)


async def _sync_sink(session: PbxSession, sim: Simulator, tmp: Path, recs: Path) -> object:
    spec = SyncSpec(sink=f"sqlite:///{tmp}/calls.sqlite", since=sim.now.date(), recordings=recs)
    return await run_sync(session, spec, now=sim.now)


async def _shard_run(session: PbxSession, sim: Simulator, tmp: Path, recs: Path) -> object:
    sink = await _open_sink(f"sqlite:///{tmp / 'shards.sqlite'}")
    try:
        return await run_shard(session, sink, _shard(sim), Work(details=True, recordings=recs), now=sim.now)
    finally:
        await sink.close()


RUNS = {"run_export": _export, "run_sync": _sync, "run_sync into a sink": _sync_sink, "run_shard": _shard_run}


@pytest.mark.parametrize("folder", FOLDERS, ids=list(FOLDERS))
@pytest.mark.parametrize("run", RUNS, ids=list(RUNS))
async def test_an_export_into_a_recordings_folder_that_cannot_be_one_is_refused_before_any_request(
    run: str, folder: str, tmp_path: Path
) -> None:
    sim = Simulator(calls=40, days=3, seed=3, sample_rate=100)
    recs, says = FOLDERS[folder](tmp_path)
    made = set(tmp_path.rglob("*"))
    async with sim.session() as session:
        with pytest.raises(ValidationError) as refused:
            await RUNS[run](session, sim, tmp_path, recs)
    assert str(refused.value) == f"{recs} {says}"
    assert requests_made(sim) == 0
    if run != "run_shard":  # a shard's sink is the caller's, opened before
        assert set(tmp_path.rglob("*")) == made  # no output, no lock, no sink file
    if folder == "a link":
        assert list((tmp_path / "real").iterdir()) == []


@pytest.mark.parametrize("run", ["run_sync into a sink", "run_shard"])
async def test_an_accounts_folder_that_is_a_link_is_refused_too(run: str, tmp_path: Path) -> None:
    sim = Simulator(calls=40, days=3, seed=3, sample_rate=100)
    recs, elsewhere = tmp_path / "recs", tmp_path / "elsewhere"
    recs.mkdir()
    elsewhere.mkdir()
    (recs / f"{sim.container_id}-0").symlink_to(elsewhere, target_is_directory=True)
    async with sim.session() as session:
        with pytest.raises(ValidationError, match=f"{sim.container_id}-0 {LINK}"):
            await RUNS[run](session, sim, tmp_path, recs)
    assert requests_made(sim) == 0
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("folder", FOLDERS, ids=list(FOLDERS))
async def test_a_download_into_such_a_folder_is_refused_before_any_request(folder: str, tmp_path: Path) -> None:
    sim = Simulator(calls=40, days=3, seed=3, sample_rate=100)
    recs, says = FOLDERS[folder](tmp_path)
    recorded = [c for c in sim.truth_calls() if c.recorded and c.recording_url][:3]
    ref = RecordingRef.from_url(recorded[0].uuid, recorded[0].recording_url or "")
    async with sim.session() as session:
        for call in (recorded[0], recorded[0].uuid, ref):  # a UUID's summary is not read either
            with pytest.raises(ValidationError) as refused:
                await session.download_recording(call, recs)
            assert str(refused.value) == f"{recs} {says}"
        # The whole run is refused where it is made, not each recording failed one by one.
        with pytest.raises(ValidationError) as refused:
            session.download_recordings(recorded, recs)
        assert str(refused.value) == f"{recs} {says}"
    assert requests_made(sim) == 0
    if folder == "a link":
        assert list((tmp_path / "real").iterdir()) == []
