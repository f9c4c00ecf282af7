"""The recording URLs the server sends: the file name they carry, and the key they must not carry.

A leaf module (it imports nothing of the package), so records may use it too.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

FILE_NAME_PARAM = "fileName"
# `auth=` in any case, as a query parameter, up to the next separator.
_AUTH_PARAM = re.compile(r"(?i)([?&;])auth=[^&;#]*(&|;)?")
# scheme://host/…/NAME in printable ASCII without a query, fragment, escape or space, and a NAME that
# is neither empty nor a dot segment: there the last segment is the name, as the full parse finds.
_SEGMENT = r"[!\"$&-.0->@-~]"  # printable ASCII but / ? # %
_PLAIN = re.compile(rf"[a-zA-Z][a-zA-Z0-9+.-]*://{_SEGMENT}+(?:/{_SEGMENT}*)*/(?!\.\.?$){_SEGMENT}+")


def file_name_from_url(url: str, fallback: str) -> str:
    """The recording's file name in ``url``: its ``fileName`` parameter, else its last path segment."""
    if _PLAIN.fullmatch(url):  # the common shape, ".../NAME" with nothing to split or decode: 10x cheaper
        return url[url.rfind("/") + 1 :]
    parts = urlsplit(url)
    given = parse_qs(parts.query).get(FILE_NAME_PARAM)
    name = given[0] if given else unquote(PurePosixPath(parts.path).name)
    return name or fallback


def without_auth(url: str) -> str:
    """``url`` without any ``auth=`` parameter: a server that puts the key in a URL must not get it stored."""
    if "auth=" not in url.lower():
        return url
    cleaned = _AUTH_PARAM.sub(lambda m: m.group(1) if m.group(2) else "", url)
    return cleaned[:-1] if cleaned.endswith(("?", "&")) else cleaned
