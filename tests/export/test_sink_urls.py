"""Sink URLs: a password never shows, however it is written (in the user part with /?#@, or as a query value)."""

from __future__ import annotations

import pytest

from pbx_async import SinkError, ValidationError
from pbx_async.export import open_sink

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]

SECRET = "pa/ss?w#rd@1"
URLS = [
    f"postgresql://export:{SECRET}@127.0.0.1:1/calls",
    f"postgresql://export@127.0.0.1:1/calls?password={SECRET}",
    f"postgresql://export:{SECRET}@127.0.0.1:1/calls?sslpassword={SECRET}&sslmode=disable",
    "postgresql://export:simple-password-123@127.0.0.1:1/calls",
]


def pieces(secret: str) -> set[str]:
    """The secret's runs of 3+ characters that hold a letter or digit (a lone "/" says nothing)."""
    runs = {secret[i : i + n] for n in range(3, len(secret) + 1) for i in range(len(secret) - n + 1)}
    return {r for r in runs if any(c.isalnum() for c in r)}


@pytest.mark.parametrize("url", URLS)
async def test_a_sink_that_cannot_connect_never_shows_its_password(url: str) -> None:
    secret = SECRET if SECRET in url else "simple-password-123"
    with pytest.raises((SinkError, ValidationError)) as info:
        await open_sink(url)
    text = f"{info.value} {info.value!r} {info.value.__context__!r} {info.value.__cause__!r}"
    assert "127.0.0.1" in str(info.value)  # says which server it meant
    assert [p for p in pieces(secret) if p in text.replace("127.0.0.1", "")] == []
