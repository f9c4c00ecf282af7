"""The SQLite sink's text for a time is ``astimezone(UTC).isoformat()``, whatever the time and its offset.

``utc_text`` builds the text from a kept hour and the second's text; any time, any
offset (fixed, a zone with its folds, none), any fraction of a second, must give the
same text as the plain spelling, or raise the same error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pbx_async.export.sinks._sqlite import utc_text

_ZONES = st.sampled_from(
    [
        None,
        UTC,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-8)),
        timezone(timedelta(hours=23, minutes=59)),
        timezone(timedelta(hours=-23, minutes=-59, seconds=-59, microseconds=-1)),
        ZoneInfo("America/New_York"),
        ZoneInfo("Europe/London"),
        ZoneInfo("Australia/Lord_Howe"),
    ]
)


def _plain(moment: datetime) -> str:
    try:
        return moment.astimezone(UTC).isoformat()
    except (OverflowError, ValueError) as exc:
        return type(exc).__name__


def _fast(moment: datetime) -> str:
    try:
        return utc_text(moment)
    except (OverflowError, ValueError) as exc:
        return type(exc).__name__


@settings(max_examples=3000, deadline=None)
@given(st.datetimes(), _ZONES, st.integers(0, 1))
def test_the_text_of_any_time_is_its_utc_isoformat(naive: datetime, zone: timezone | None, fold: int) -> None:
    moment = naive.replace(tzinfo=zone, fold=fold)
    assert _fast(moment) == _plain(moment)


def test_times_met_again_give_the_same_text() -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    moments = [datetime(2026, 11, 2, 9, 15, s, s * 1000, tzinfo=kolkata) for s in range(60)] * 3
    assert [utc_text(m) for m in moments] == [m.astimezone(UTC).isoformat() for m in moments]
    assert utc_text(moments[1]) == "2026-11-02T03:45:01.001000+00:00"
    assert utc_text(datetime(2026, 11, 2, 3, 45, tzinfo=UTC)) == "2026-11-02T03:45:00+00:00"
