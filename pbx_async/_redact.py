"""Keep the API key out of every text the library or httpx produces.

The API takes the key in the query string, so httpx puts it in request URLs,
in its ``HTTP Request: GET <url>`` log line and in the text of some errors; a
server may echo it back raw, percent-encoded, JSON- or backslash-escaped, or
cut in the middle by a length limit.

    secret = Secret(key)
    scrub(f"server said {body[:300]}", secret)   # every form, and fragments of 8+ characters
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, quote_plus

_AUTH_PARAM = re.compile(r"(?i)(\bauth=)[^&\s'\"<>]*")
MASK = "***"
FRAGMENT = 8  # a run this long of the key's characters is masked wherever it stands; shorter keys only whole


class Secret:
    """A string that never shows itself in ``repr`` or ``str``; it knows the forms it may be met in."""

    __slots__ = ("_forms", "_grams", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        forms = {
            value,
            quote(value, safe=""),
            quote_plus(value),
            json.dumps(value)[1:-1],  # JSON-escaped, as an echoing server would send it
            json.dumps(value, ensure_ascii=False)[1:-1],
            value.encode("unicode_escape").decode("ascii"),  # backslash-escaped (repr, logs)
            value.replace("/", "\\/"),  # PHP's json_encode escapes slashes
        }
        self._forms = sorted((f for f in forms if f), key=len, reverse=True)
        # Every run of FRAGMENT characters of each form: a key cut short still matches its head or tail.
        self._grams: set[str] = (
            {f[i : i + FRAGMENT] for f in self._forms for i in range(len(f) - FRAGMENT + 1)}
            if len(value) >= FRAGMENT
            else set()
        )

    def reveal(self) -> str:
        return self._value

    def mask(self, text: str) -> str:
        """``text`` with every form of the secret, and every run of 8+ of its characters, masked."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        if not self._grams or len(text) < FRAGMENT:
            return text
        hits = [i for i in range(len(text) - FRAGMENT + 1) if text[i : i + FRAGMENT] in self._grams]
        if not hits:
            return text
        out: list[str] = []
        pos, run_start, run_end = 0, hits[0], hits[0] + FRAGMENT
        for start in hits[1:]:
            if start <= run_end:  # overlapping or touching runs are one stretch of the key
                run_end = start + FRAGMENT
                continue
            out += [text[pos:run_start], MASK]
            pos, run_start, run_end = run_end, start, start + FRAGMENT
        out += [text[pos:run_start], MASK, text[run_end:]]
        return "".join(out)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def scrub(text: str, secret: Secret | None = None) -> str:
    """Mask ``auth=`` query values, and the secret itself in any form or fragment."""
    text = _AUTH_PARAM.sub(lambda m: m.group(1) + MASK, text)
    return secret.mask(text) if secret is not None else text


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "auth=" in message.lower():
            record.msg, record.args = scrub(message), ()
        return True


_FILTER = _ScrubFilter("pbx_async")


def install_log_filter() -> None:
    """Scrub the key from httpx's own request log lines (idempotent)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
