"""``python -m pbx_async``: the same as the ``pbx-async`` command."""

from ._cli import main

raise SystemExit(main())
