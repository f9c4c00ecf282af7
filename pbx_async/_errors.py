"""The exceptions the library raises; every one derives from ``PbxError``.

    PbxError
    ├── ValidationError (also ValueError)   refused before any request was sent
    ├── ResponseFormatError                 the reply breaks the API contract
    │   └── ResponseTooLargeError           larger than max_reply_bytes (a bomb, an endless body)
    ├── PaginationDriftError                the list kept changing while it was paged
    ├── NetworkError                        no answer (connect, reset, timeout) after every retry
    ├── StorageError (also OSError)         a file could not be written or read
    ├── SinkError                           the export's database refused a write
    └── ApiError                            the API answered with an error
        ├── AuthenticationError             the key was refused
        ├── InvalidContainerError           the container or tenant was refused
        ├── CallNotFoundError               no such call
        ├── RateLimitedError                429 past the retry budget
        └── ServerError                     5xx or an undocumented error reply
            └── TransientServerError        503 and the like: try later

No message ever contains the API key: every text that comes from the network
or from httpx is cleaned before the exception is built from it.
"""

from __future__ import annotations

from ._exchange import RequestInfo, ResponseInfo


class PbxError(Exception):
    """Root of every error raised by pbx_async.

    try:
        details = await session.get_call_details(uuid)
    except pbx_async.CallNotFoundError:
        ...
    except pbx_async.PbxError as exc:
        log.warning("PBX request failed: %s", exc)

    ``request`` and ``response`` describe the exchange that failed, when there was
    one (the key masked); a refused argument or a disk error has neither.
    """

    request: RequestInfo | None = None
    response: ResponseInfo | None = None


class ValidationError(PbxError, ValueError):
    """An argument was refused before any request was sent."""


class ResponseFormatError(PbxError):
    """The server's reply is not what the API contract says (bad JSON, wrong shape or types)."""


class ResponseTooLargeError(ResponseFormatError):
    """A reply was larger than ``max_reply_bytes`` on the wire or once inflated; not retried."""


class PaginationDriftError(PbxError):
    """The call list changed while it was being paged and a consistent scan could not be had."""


class StorageError(PbxError, OSError):
    """A file could not be written or read where the library was asked to put it.

    Also an ``OSError``, so ``except OSError`` still catches it; the message names
    the path and what to do.
    """

    @classmethod
    def from_os_error(cls, exc: OSError, doing: str) -> StorageError:
        """The error for ``exc``, met while ``doing`` (a phrase naming the path)."""
        reason = exc.strerror or type(exc).__name__
        advice = {
            28: "free some disk space",  # ENOSPC
            13: "check the folder's permissions",  # EACCES
            30: "choose a writable folder",  # EROFS
            20: "a part of the path is a file, not a folder",  # ENOTDIR
            21: "the path is a folder, not a file",  # EISDIR
        }.get(exc.errno or 0, "check the path")
        error = cls(exc.errno or 0, f"{doing}: {reason}; {advice}")
        error.filename = exc.filename
        return error

    def __str__(self) -> str:
        if self.strerror is not None:  # built from an OSError: (errno, message)
            return str(self.strerror)
        return str(self.args[0]) if self.args else ""


class SinkError(PbxError):
    """The export's database refused or lost a write (the message never holds a password)."""


class NetworkError(PbxError):
    """The server could not be reached, or did not answer in time, after every retry."""


class ApiError(PbxError):
    """The API answered with an error: an ``{"error": ...}`` reply or a non-2xx status.

    ``status_code`` is the HTTP status; ``server_message`` the server's own text, if any.
    """

    def __init__(self, message: str, *, status_code: int | None = None, server_message: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.server_message = server_message


class AuthenticationError(ApiError):
    """The API key was refused. Check ``PBX_AUTH`` / the ``auth`` argument."""


class InvalidContainerError(ApiError):
    """The container ID (or tenant ID) was refused by the server."""


class CallNotFoundError(ApiError):
    """The call UUID is missing or unknown to the server."""


class RateLimitedError(ApiError):
    """The server answered 429 Too Many Requests past the retry budget.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(self, message: str, *, status_code: int | None = 429, retry_after: float | None = None):
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class ServerError(ApiError):
    """The server failed (5xx, or an undocumented error reply)."""


class TransientServerError(ServerError):
    """A failure the server itself calls temporary (503, or "Error connecting to the database")."""
