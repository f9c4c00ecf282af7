"""Whether a path can be a recordings folder: checked before any request, said the same way everywhere.

``Folder`` opens the folder without following a link when it downloads (what
protects the files); this check comes first, so a command or an export with
such a path is refused as a whole instead of failing every recording.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ._errors import ValidationError


def folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a recordings folder, or None (one not there yet is made).

    Only its last part is looked at: a link among its parents is the user's own layout.
    """
    try:
        mode = os.lstat(path).st_mode
    except NotADirectoryError:
        return f"{path} cannot be a folder (a part of that path is a file); give a folder, not a file"
    except OSError:
        return None  # not there (made later), or not readable: making or opening it says why
    if stat.S_ISLNK(mode):
        return f"{path} is a link; give the real folder, not a link"
    what = "a file, not a folder" if stat.S_ISREG(mode) else "not a folder"
    return None if stat.S_ISDIR(mode) else f"{path} is {what}; give a folder (one not there yet is made)"


def check_folder(path: Path | None) -> None:
    """Before any request: ``ValidationError`` unless ``path`` (if any) can be a recordings folder."""
    problem = None if path is None else folder_problem(path)
    if problem is not None:
        raise ValidationError(problem)
