"""Call Summary: the call list, paged 500 rows at a time, with its twenty filters.

async for call in session.iter_calls(from_date=date(2026, 11, 2)): ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from .. import _validation as check
from .._pagination import CallIterator, PageIterator
from .._query import CallFilters, CallQuery, build_query
from .._records.calls import CallPage
from .._session_core import DateLike, SessionCore
from .._wire import params as wire
from .._wire import replies


class CallSummaryCalls(SessionCore):
    """``iter_call_pages`` and ``iter_calls``."""

    def _scan(
        self,
        from_date: DateLike | None,
        to_date: DateLike | None,
        utc_offset: int | None,
        strict: bool,
        filters: Mapping[str, Any],
    ) -> PageIterator:
        # Checked here, when the iterator is made, so bad input fails at the call site.
        offset = self.utc_offset if utc_offset is None else utc_offset
        query = build_query(from_date=from_date, to_date=to_date, utc_offset=offset, filters=filters)
        check.flag("strict", strict)
        self._http  # noqa: B018 - a closed session fails now too
        return PageIterator(lambda page: self._call_page(query, page), window=self._page_window, strict=strict)

    async def _call_page(self, query: CallQuery, page: int) -> CallPage:
        params = self._params(wire.call_list(query, page))
        return await self._http.get("Call Summary", self.paths.call_list, params, replies.call_page)

    # -- Call Summary --------------------------------------------------------------------------

    def iter_call_pages(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        utc_offset: int | None = None,
        strict: bool = False,
        **filters: Unpack[CallFilters],
    ) -> PageIterator:
        """Page through the Call Summary list, 500 calls a page.

            async for page in session.iter_call_pages(from_date=date(2026, 11, 1)):
                print(page.page, "/", page.max_pages, len(page.calls))

        ``from_date``/``to_date`` take a ``date`` (the whole day) or a
        ``datetime``: an aware one is converted to the request's offset, a
        naive one is taken as already in it. Without dates the server lists
        "today". ``utc_offset`` (minutes) defaults to the session's; the
        records' dates come back in it. Filters are keywords of
        ``CallFilters``. Each call is yielded once even when the list shifts
        while it is paged; ``strict=True`` raises ``PaginationDriftError`` on
        any shift instead. Arguments are checked here, before any request.
        """
        return self._scan(from_date, to_date, utc_offset, strict, filters)

    def iter_calls(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        utc_offset: int | None = None,
        strict: bool = False,
        **filters: Unpack[CallFilters],
    ) -> CallIterator:
        """Every call matching the query, as ``CallSummary`` records (see ``iter_call_pages``).

        async for call in session.iter_calls(from_date=date(2026, 11, 2), show_internal=False):
            print(call.date, call.cid_num, "->", call.num_dialed)
        """
        return CallIterator(self._scan(from_date, to_date, utc_offset, strict, filters))
