"""The file name read from a recording URL: the quick path for plain URLs equals the full parse."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from hypothesis import example, given
from hypothesis import strategies as st

from pbx_async._wire.urls import file_name_from_url


def _parsed(url: str, fallback: str) -> str:
    """The rule as documented: the ``fileName`` parameter, else the last path segment, decoded."""
    parts = urlsplit(url)
    given = parse_qs(parts.query).get("fileName")
    name = given[0] if given else unquote(PurePosixPath(parts.path).name)
    return name or fallback


_PIECE = st.text(st.sampled_from("ab.%20/?#=&; \t\n\\é:~-_"), max_size=12)


@given(scheme=st.sampled_from(["http", "https", "h2", ""]), host=_PIECE, path=st.lists(_PIECE, max_size=4))
@example(scheme="http", host="127.0.0.1:8080", path=["recordings", "123", "abc.wav"])
@example(scheme="http", host="h", path=["a", "."])
@example(scheme="http", host="h", path=["a", ".."])
@example(scheme="http", host="h", path=["a", "b.wav?fileName=x.wav"])
def test_the_name_is_the_one_the_full_parse_finds(scheme: str, host: str, path: list[str]) -> None:
    url = f"{scheme}://{host}/" + "/".join(path) if scheme else "/".join(path)
    assert file_name_from_url(url, "fallback.wav") == _parsed(url, "fallback.wav")


def test_a_plain_recording_url_names_its_last_segment() -> None:
    assert file_name_from_url("https://pbx.example/recordings/123/c1-2026.wav", "x") == "c1-2026.wav"
