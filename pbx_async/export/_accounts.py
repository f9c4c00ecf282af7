"""The accounts file (TOML) of a scale-out export: which containers and tenants, and how to reach them.

    # accounts.toml
    [defaults]
    base_url = "https://api.example.com/"
    utc_offset = 0

    [[account]]
    name = "acme-east"
    container_id = "123456"
    tenant_id = 0
    auth_env = "PBX_AUTH_ACME"      # the API key is read from this variable
    utc_offset = -300

Credentials never live in the file: each account names the environment
variable that holds its key, and a file that holds a key is refused.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .. import _validation as check
from .._config import DEFAULT_BASE_URL
from .._errors import ValidationError

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_KEYS = frozenset({"auth", "api_key", "apikey", "key", "password", "secret", "token"})
_ACCOUNT_KEYS = frozenset({"name", "container_id", "tenant_id", "auth_env", "base_url", "utc_offset"})
_DEFAULT_KEYS = frozenset({"base_url", "utc_offset", "auth_env"})


@attrs.frozen
class AccountConfig:
    """One account of the file: where its calls are and which variable holds its key."""

    name: str
    container_id: str
    tenant_id: int
    auth_env: str
    base_url: str = DEFAULT_BASE_URL
    utc_offset: int = 0

    def auth(self) -> str:
        """The API key, from the environment (never from the file)."""
        value = os.environ.get(self.auth_env, "")
        if not value.strip():
            raise ValidationError(f"account {self.name!r}: set {self.auth_env} in the environment to its API key")
        return value


def load_accounts(path: Path) -> list[AccountConfig]:
    """Read and check an accounts file; every problem names the account and what is allowed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path} is not valid TOML: {exc}") from None
    return parse_accounts(data, str(path))


def parse_accounts(data: Mapping[str, Any], where: str = "the accounts file") -> list[AccountConfig]:
    unknown = set(data) - {"defaults", "account"}
    if unknown:
        raise ValidationError(f"{where}: unknown section(s) {sorted(unknown)}; expected [defaults] and [[account]]")
    defaults = data.get("defaults", {})
    _check_keys(defaults, _DEFAULT_KEYS, f"{where} [defaults]")
    entries = data.get("account", [])
    if not isinstance(entries, list) or not entries:
        raise ValidationError(f"{where}: list the accounts as [[account]] tables (none found)")
    accounts: list[AccountConfig] = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ValidationError(f"{where}: account #{number} must be a table")
        accounts.append(_account({**defaults, **entry}, f"{where} account #{number}"))
    for attribute, what in (("name", "name"), ("container_id", "container and tenant")):
        seen: set[Any] = set()
        for account in accounts:
            ident = account.name if attribute == "name" else (account.container_id, account.tenant_id)
            if ident in seen:
                raise ValidationError(f"{where}: two accounts have the same {what}: {ident!r}")
            seen.add(ident)
    return accounts


def _check_keys(entry: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    secret = {k for k in entry if k.lower() in _SECRET_KEYS}
    if secret:
        raise ValidationError(
            f"{where}: {sorted(secret)} looks like a credential; keys are never stored in the file: "
            "put the key in an environment variable and name it with auth_env"
        )
    unknown = set(entry) - allowed
    if unknown:
        raise ValidationError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _account(entry: Mapping[str, Any], where: str) -> AccountConfig:
    _check_keys(entry, _ACCOUNT_KEYS, where)
    try:
        container = check.container_id(entry.get("container_id"))
        name = entry.get("name", container)
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            raise ValidationError("name must be text of 1 to 64 characters")
        auth_env = entry.get("auth_env")
        if not isinstance(auth_env, str) or not _ENV_NAME.fullmatch(auth_env):
            raise ValidationError("auth_env must name an environment variable (letters, digits, _), e.g. PBX_AUTH")
        return AccountConfig(
            name=name,
            container_id=container,
            tenant_id=check.tenant_id(entry.get("tenant_id", 0)),
            auth_env=auth_env,
            base_url=check.base_url(entry.get("base_url", DEFAULT_BASE_URL)),
            utc_offset=check.utc_offset(entry.get("utc_offset", 0)),
        )
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None
