"""The package's version, read once from its installed metadata (pyproject.toml is the one source)."""

from importlib import metadata

try:
    __version__ = metadata.version("pbx-async")
except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"
