"""Where the reference release (ataraxis-data-structures 6.2.0) lives, for the interchange tests.

The interchange tests run the reference as a black box in its own interpreter: ``$REF_PY`` when set, else the
virtual environment that ``../shared/tools/reference-venv.sh`` creates (``.ci/run`` creates it when it can). They are
skipped, not failed, where it is not installed.
"""

import os
from pathlib import Path

import pytest

REFERENCE_PYTHON = Path(os.environ.get("REF_PY") or "/tmp/axds-reference/bin/python")

needs_reference = pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason="the reference release is not installed")
