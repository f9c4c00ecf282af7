"""Where the API lives (the default host, the four endpoint paths) and the settings read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from . import _validation as check
from ._errors import ValidationError

DEFAULT_BASE_URL = "https://pbx.primevox.net/"
MAX_CONCURRENCY = check.MAX_CONCURRENCY
MAX_RECORDING_BYTES = 4 * 1024**3  # a WAV file cannot be larger
MAX_REPLY_BYTES = 32 * 1024**2  # a 500-row page is about 250 KB: 128 times that, and a bomb stays small


def _path(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check.api_path(attribute.name, value)


def _relative(value: Any) -> Any:  # anything else passes through, for the validator to refuse
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


ENV_NAMES = ("PBX_AUTH", "PBX_CONTAINER_ID", "PBX_TENANT_ID", "PBX_BASE_URL")


def settings_from_env(overrides: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The key, container ID and other session keywords from ``PBX_*``; ``overrides`` win."""
    # Surrounding white space is never part of a value (a key pasted with a trailing space, say).
    env = {name: os.environ.get(name, "").strip() for name in ENV_NAMES}
    settings = dict(overrides)
    auth = settings.pop("auth", None) or env["PBX_AUTH"]
    container_id = settings.pop("container_id", None) or env["PBX_CONTAINER_ID"]
    missing = [name for name, value in (("PBX_AUTH", auth), ("PBX_CONTAINER_ID", container_id)) if not value]
    if missing:
        raise ValidationError(f"set {' and '.join(missing)} in the environment (the API key and 6-digit container ID)")
    if env["PBX_TENANT_ID"]:
        settings.setdefault("tenant_id", env["PBX_TENANT_ID"])
    if env["PBX_BASE_URL"]:
        settings.setdefault("base_url", env["PBX_BASE_URL"])
    return auth, container_id, settings
