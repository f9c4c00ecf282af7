"""Where the API lives: the default host and the four endpoint paths."""

from __future__ import annotations

import attrs

from . import _validation as check

DEFAULT_BASE_URL = "https://pbx.primevox.net/"


def _path(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check.api_path(attribute.name, value)


def _relative(value: object) -> object:
    # Joined onto base_url, which ends in "/". A "//host" stays as it is, for the check to refuse.
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value[1:]
    return value


@attrs.frozen
class ApiPaths:
    """Endpoint paths, relative to the session's ``base_url``.

        PbxSession(auth, "123456", paths=ApiPaths(call_details="api/v2/call_details.php"))

    Only ``call_list`` is confirmed by public sources; the other three are the
    library's best reading of the provider's naming, hence overridable. Paths
    cannot name another host: the API key only goes to ``base_url``.
    """

    call_list: str = attrs.field(default="api/call_list.php", converter=_relative, validator=_path)
    call_details: str = attrs.field(default="api/call_details.php", converter=_relative, validator=_path)
    recording: str = attrs.field(default="api/call_recording.php", converter=_relative, validator=_path)
    call_notes: str = attrs.field(default="api/call_notes.php", converter=_relative, validator=_path)
