"""The `confide` console script: manage.py with Confide's own commands first.

confide migrate | demo [--cases N] | serve | worker | keys init|rotate|status | ...
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None, prog: str = "confide") -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "confide.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line([prog, *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
