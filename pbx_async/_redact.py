"""Keep the API key out of every text the library or httpx produces.

The API takes the key in the query string, so httpx puts it in request URLs,
in its ``HTTP Request: GET <url>`` log line and in the text of some errors.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, quote_plus

_AUTH_PARAM = re.compile(r"(?i)(\bauth=)[^&\s'\"<>]*")
MASK = "***"


class Secret:
    """A string that never shows itself in ``repr`` or ``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def scrub(text: str, secret: Secret | None = None) -> str:
    """Mask ``auth=`` query values, and the secret itself wherever it stands."""
    text = _AUTH_PARAM.sub(lambda m: m.group(1) + MASK, text)
    if secret is not None:
        value = secret.reveal()
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            if form:
                text = text.replace(form, MASK)
    return text


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
