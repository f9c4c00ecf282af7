"""Looking for a secret in text: every form it could take, and every 8-character piece of each."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, quote_plus

import pytest


def key_forms(key: str) -> set[str]:
    """The key raw, percent-encoded, JSON- and backslash-escaped, and every 8-character piece of those."""
    forms = {key, quote(key, safe=""), quote_plus(key), json.dumps(key)[1:-1], key.encode("unicode_escape").decode()}
    return forms | {f[i : i + 8] for f in forms for i in range(len(f) - 7)}


def leaked(text: str, key: str) -> list[str]:
    """The forms of ``key`` found in ``text`` (none, for a text that keeps the secret)."""
    return sorted(form for form in key_forms(key) if form in text)


def log_everything(caplog: pytest.LogCaptureFixture) -> None:
    """Capture DEBUG from the library and every HTTP layer under it, where a key would show first."""
    caplog.set_level(logging.DEBUG)
    for name in ("pbx_async", "httpx", "httpcore", "aiohttp"):
        logging.getLogger(name).setLevel(logging.DEBUG)
