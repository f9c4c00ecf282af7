"""``Lies``: the knobs that make the simulator a hostile server (``Faults`` are a healthy one's troubles)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import quote, quote_plus

import attrs
from attrs import validators as v

PagesLie = Literal["huge", "growing", "one_more"]
# Lies that a request meets by chance, in the order one roll walks them (as ``Faults.pick`` does).
REQUEST_LIES = ("gzip_bomb", "oversized", "trickle", "redirect", "echo_key", "resume_changes_file")
# Where each applies; a lie not named here applies to every request.
_APPLIES_TO = {
    "gzip_bomb": frozenset({"list", "details"}),
    "oversized": frozenset({"list", "details"}),
    "resume_changes_file": frozenset({"recording"}),
}


def _rate(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} is a chance from 0 to 1, not {value!r}")


@attrs.frozen
class Lies:
    """How the simulator lies; all off by default. Rates are the chance (0..1) that a request meets the lie.

        sim = Simulator(calls=500, lies=Lies(gzip_bomb=0.02, pages="growing", pages_rate=0.05))

    One roll per request picks at most one of the six rated lies (their rates add up to at most 1),
    and a lie picked for a request it does not apply to is not served, so each rate is exact for the
    requests the lie applies to. A request that meets a fault (other than ``slow``) meets no rated lie.
    Each lie served adds one to ``sim.stats["lie NAME"]``. Over ``serve()`` every lie reaches the
    client as described; in-process (``sim.client()``) httpx's ASGI transport collects a whole reply
    before the client sees any of it, so ``oversized`` is held in memory there and ``trickle``
    arrives as one slow reply (``ReadTimeout`` past the read timeout).

    - ``gzip_bomb`` (Call Summary and Call Details replies): ``Content-Encoding: gzip`` with a body
      of about ``bomb_bytes / 1000`` bytes that inflates to ``bomb_bytes`` spaces followed by the
      true reply (valid JSON: a client without a cap parses it after holding it all).
      ``Content-Length`` is the compressed size. Built once per size and kept.
    - ``oversized`` (Call Summary and Call Details replies): a plain JSON reply of
      ``max(oversized_bytes, true size)`` bytes: the true reply, then spaces, streamed in 1 MiB
      chunks (never held in memory). ``Content-Length`` is sent when ``oversized_declared``
      (the default); without it the reply is chunked and its size is learnt only by reading it.
    - ``trickle`` (every request): the status and headers at once (an ASGI app cannot trickle
      those), then the body one byte at a time, ``trickle_seconds`` apart. It stops when the
      client hangs up (counted in ``"lie trickle abandoned"``).
    - ``redirect`` (every request): ``302`` (``307`` for a POST, so a follower re-posts the form
      and its key) with ``Location`` = ``redirect_to`` + the request's path and query as sent,
      key included. The default target never resolves (``.invalid``).
    - ``echo_key`` (every request): a ``200`` ``text/html`` reply that is not JSON and carries the
      key the request sent (the account's key when it sent none) in every form of
      ``Lies.key_forms``; the raw key comes first and straddles character 300 (it starts at
      ``300 - len(key) // 2`` for a key under 500 characters), and the body runs past 1,000 characters.
    - ``resume_changes_file`` (recording requests with a satisfiable ``Range``): a ``206`` from a
      different file: other bytes past the WAV header, another ``ETag`` and ``Last-Modified``, the
      same size, whatever ``If-Range`` said. The change does not last: the next request sees the
      true file again, so ``recording_sha256()`` stays the truth.
    - ``pages`` with ``pages_rate`` (default 1: every reply; Call Summary and Call Details
      replies; ``maxResultSize`` stays true): ``"huge"`` says ``maxPages`` 10**9; ``"growing"``
      says the true count plus the number of replies this lie has served so far (it grows by one
      each page asked); ``"one_more"`` says ``maxPages`` = the page asked + 1, forever, and a page
      past the true end repeats the last true page. Past the true end, ``"huge"`` and
      ``"growing"`` serve empty pages, as the service does.
    - ``key_in_recording_url`` (every reply with a recorded call): ``recordingUrl`` is the API form,
      ``.../api/call_recording.php?containerID=C&auth=KEY&tenantID=T&fileName=NAME`` (the URL works).
      ``truth_call().recording_url`` is that URL without its ``auth`` parameter. Counted once per
      Call Summary or Call Details reply that carries such a URL.
    - ``colliding_names`` (recordings): server file names that differ but clean up to one local
      name, in pairs of recorded calls (``TAG`` is ``container-tenant``, ``k`` the pair):
      ``aa/TAG-k.wav`` and ``bb/TAG-k.wav``; ``TAG-k-xxx...(300)-a.wav`` and ``...-b.wav``;
      ``TAG-k-2026:11:01.wav`` and ``TAG-k-2026_11_01.wav``. Each name still finds its own call,
      and each call keeps its own bytes. Counted once per recording reply served.
    """

    gzip_bomb: float = attrs.field(default=0.0, validator=_rate)
    oversized: float = attrs.field(default=0.0, validator=_rate)
    trickle: float = attrs.field(default=0.0, validator=_rate)
    redirect: float = attrs.field(default=0.0, validator=_rate)
    echo_key: float = attrs.field(default=0.0, validator=_rate)
    resume_changes_file: float = attrs.field(default=0.0, validator=_rate)
    pages: PagesLie | None = attrs.field(default=None, validator=v.optional(v.in_(("huge", "growing", "one_more"))))
    pages_rate: float = attrs.field(default=1.0, validator=_rate)
    key_in_recording_url: bool = False
    colliding_names: bool = False
    bomb_bytes: int = attrs.field(default=2 * 1024**3, validator=v.ge(0))
    oversized_bytes: int = attrs.field(default=10**9, validator=v.ge(0))
    oversized_declared: bool = True
    trickle_seconds: float = attrs.field(default=0.4, validator=v.ge(0))
    redirect_to: str = attrs.field(default="http://lies.invalid/", validator=v.matches_re(r"https?://[^/?#]+/?$"))

    def __attrs_post_init__(self) -> None:
        if sum(getattr(self, kind) for kind in REQUEST_LIES) > 1 + 1e-9:  # uniform(1.0) may round above 1
            raise ValueError("the rates of the request lies add up to more than 1")

    def pick(self, roll: float, endpoint: str) -> str | None:
        """The lie (if any) for a uniform ``roll`` in [0, 1) on a request to ``endpoint``
        (``list``, ``details``, ``notes``, ``recording`` or ``other``)."""
        for kind in REQUEST_LIES:
            rate: float = getattr(self, kind)
            if roll < rate:
                applies = _APPLIES_TO.get(kind)
                return kind if applies is None or endpoint in applies else None
            roll -= rate
        return None

    @classmethod
    def uniform(cls, total: float, **overrides: Any) -> Lies:
        """Every rated lie at an equal share of ``total`` (e.g. 0.03 for 3% of requests).

        lies = Lies.uniform(0.03, pages="growing", pages_rate=0.01, bomb_bytes=64 << 20)
        """
        return cls(**{**dict.fromkeys(REQUEST_LIES, total / len(REQUEST_LIES)), **overrides})

    @staticmethod
    def key_forms(key: str) -> tuple[str, ...]:
        """The distinct forms of ``key`` an ``echo_key`` reply carries: raw, percent-encoded,
        form-encoded, JSON-escaped with ``\\/`` (as PHP writes it), backslash-escaped (``\\``, quotes).

            hits = sum(text.count(form) for form in Lies.key_forms(key))
        """
        return tuple(dict.fromkeys(labelled_key_forms(key).values()))


def labelled_key_forms(key: str) -> dict[str, str]:
    """Each form of ``key`` by name (some may be alike: a plain key looks the same in all)."""
    return {
        "raw": key,
        "percent": quote(key, safe=""),
        "form": quote_plus(key),
        "json": json.dumps(key, ensure_ascii=False)[1:-1].replace("/", "\\/"),
        "backslash": re.sub(r"([\\\"'])", r"\\\1", key),
    }
