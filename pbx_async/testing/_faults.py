"""``Faults``: the rates at which the simulator misbehaves as a healthy but unreliable server does."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Faults:
    """Fault rates, each the chance (0..1) that a request meets that fault; all off by default.

    - ``error_500``, ``error_503``: the status with an HTML body.
    - ``rate_limit``: 429 with ``Retry-After: retry_after``.
    - ``reset``: the connection closes right after the status line and headers.
    - ``cut_body``: the connection closes halfway through the body.
    - ``truncated_json``: a 200 whose JSON stops halfway (Content-Length matches what is sent).
    - ``slow``: the reply waits ``slow_seconds`` first (set it past the client's timeout).
    """

    error_500: float = 0.0
    error_503: float = 0.0
    rate_limit: float = 0.0
    reset: float = 0.0
    cut_body: float = 0.0
    truncated_json: float = 0.0
    slow: float = 0.0
    retry_after: int = 1
    slow_seconds: float = 30.0

    def pick(self, roll: float) -> str | None:
        """The fault (if any) for a uniform ``roll`` in [0, 1)."""
        for kind in ("error_500", "error_503", "rate_limit", "reset", "cut_body", "truncated_json", "slow"):
            rate: float = getattr(self, kind)
            if roll < rate:
                return kind
            roll -= rate
        return None

    @classmethod
    def uniform(cls, total: float, **overrides: Any) -> Faults:
        """Every fault kind at an equal share of ``total`` (e.g. 0.10 for 10% of requests)."""
        share = total / 7
        rates = dict.fromkeys(
            ("error_500", "error_503", "rate_limit", "reset", "cut_body", "truncated_json", "slow"), share
        )
        return cls(**{**rates, **overrides})
