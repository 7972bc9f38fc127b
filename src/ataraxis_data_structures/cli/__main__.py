"""Allows ``python -m ataraxis_data_structures.cli``."""

import sys

from . import main

sys.exit(main())
