"""The public surface, pinned: a name added or removed here is a decision, not an accident (httpx does this)."""

from __future__ import annotations

import importlib

import pytest

import pbx_async
import pbx_async.events

CORE = {
    "ApiError",
    "ApiPaths",
    "AuthenticationError",
    "CallDetails",
    "CallDirection",
    "CallFilters",
    "CallIterator",
    "CallJourney",
    "CallNotFoundError",
    "CallPage",
    "CallSummary",
    "ConcurrencyStats",
    "FailedCall",
    "FanOut",
    "Hooks",
    "InternalApp",
    "InvalidContainerError",
    "IvrEventType",
    "LimitChange",
    "NetworkError",
    "PageIterator",
    "PaginationDriftError",
    "PbxError",
    "PbxSession",
    "RateLimitedError",
    "RecordingFile",
    "RecordingRef",
    "RequestInfo",
    "ResponseFormatError",
    "ResponseInfo",
    "ResponseTooLargeError",
    "RetryInfo",
    "RetryPolicy",
    "ServerError",
    "SinkError",
    "StorageError",
    "TransientServerError",
    "ValidationError",
    "call_journey",
}
EXPORT = {
    "Account",
    "AccountConfig",
    "ExportResult",
    "ExportSpec",
    "Flow",
    "LogProgress",
    "Progress",
    "RichProgress",
    "Shard",
    "ShardResult",
    "Sink",
    "SyncResult",
    "SyncSpec",
    "Window",
    "Work",
    "load_accounts",
    "open_sink",
    "plan_shards",
    "report",
    "run_export",
    "run_shard",
    "run_sync",
    "session_for",
}
TESTING = {
    "ConnectionDropped",
    "Faults",
    "Lies",
    "Simulator",
    "SimulatorApp",
    "SimulatorTransport",
    "run_forever",
    "serve",
    "serve_process",
}


def test_the_package_exports_the_core_and_every_event_class() -> None:
    events = set(pbx_async.events.__all__)
    assert {"Event", "UnknownEvent", "event_class", "ExtensionAnswer"} <= events
    assert len(events) == 98 + 3
    assert set(pbx_async.__all__) == CORE | events


@pytest.mark.parametrize("module", ["pbx_async", "pbx_async.events", "pbx_async.export", "pbx_async.testing"])
def test_every_exported_name_exists_is_documented_and_public(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__doc__
    for name in mod.__all__:
        value = getattr(mod, name)
        assert not name.startswith("_")
        if callable(value):
            assert value.__doc__, f"{module}.{name} has no docstring"


def test_the_export_and_simulator_surfaces() -> None:
    import pbx_async.export
    import pbx_async.testing

    assert set(pbx_async.export.__all__) == EXPORT
    assert set(pbx_async.testing.__all__) >= TESTING  # the simulator's lies may add their knobs


def test_the_version_is_the_package_metadata_version() -> None:
    from importlib.metadata import version

    assert pbx_async.__version__ == version("pbx-async")


def test_every_error_derives_from_pbx_error_and_is_in_the_documented_tree() -> None:
    errors = [getattr(pbx_async, n) for n in pbx_async.__all__ if n.endswith("Error")]
    assert all(issubclass(e, pbx_async.PbxError) for e in errors)
    tree = pbx_async.PbxError.__module__
    doc = importlib.import_module(tree).__doc__ or ""
    assert all(e.__name__ in doc for e in errors)
