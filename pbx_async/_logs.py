"""The library's logger: silent unless the application configures logging, or ``PBX_LOG`` asks.

    PBX_LOG=debug python my_export.py     # every request and retry on stderr, the key masked

Retries are logged at INFO and the requests themselves at DEBUG; a request that
fails for good says so only in the error it raises, which the caller handles.
"""

from __future__ import annotations

import logging
import os

LOGGER_NAME = "pbx_async"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def setup_logging() -> None:
    """Give the library's logger a ``NullHandler``, and a stderr handler if ``PBX_LOG`` is debug or info."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        # Without it, Python's last-resort handler would print our WARNINGs in scripts that never
        # configured logging, even for an error the script catches.
        logger.addHandler(logging.NullHandler())
    level = _LEVELS.get(os.environ.get("PBX_LOG", "").strip().lower())
    if level is not None and not any(getattr(h, "_pbx_env", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._pbx_env = True  # type: ignore[attr-defined]  # ours: added once, however often imported
        logger.addHandler(handler)
        logger.setLevel(level)
