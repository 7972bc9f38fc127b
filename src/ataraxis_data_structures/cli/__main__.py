"""Allows ``python -m ataraxis_data_structures.cli``."""

import sys

from . import main

__all__: list[str] = []  # a module run for its effect, exporting nothing

sys.exit(main())
