#!/bin/bash
# Builds the two venvs the labcheck drivers compare, under /tmp/labcheck (or $LABCHECK_DIR):
#   rel/  the lab's published packages with the ataraxis-data-structures release they pin (pip resolves 7.2.0)
#   ours/ the same packages with the checkout given as $1 (default: this repository) installed editable over it
# Needs Python 3.13 (the lab packages want >=3.12) and ffmpeg on PATH for the VideoSystem driver.
set -euo pipefail
CHECKOUT=$(realpath "${1:-$(dirname "$0")/../..}")
DIR=${LABCHECK_DIR:-/tmp/labcheck}
PY=${LABCHECK_PYTHON:-/root/.pyenv/versions/3.13.0/bin/python}
PACKAGES="ataraxis-video-system==5.2.0 ataraxis-communication-interface==7.1.1 pytest pytest-timeout"
mkdir -p "$DIR"
for venv in rel ours; do
  [ -x "$DIR/$venv/bin/python" ] || "$PY" -m venv "$DIR/$venv"
  # shellcheck disable=SC2086
  "$DIR/$venv/bin/pip" install -q $PACKAGES
done
# Replace the release in ours by the checkout (its version, 7.2.0+axds.N, satisfies the lab pins, so pip keeps it).
"$DIR/ours/bin/pip" uninstall -y -q ataraxis-data-structures
"$DIR/ours/bin/pip" install -q -e "$CHECKOUT"
for venv in rel ours; do
  "$DIR/$venv/bin/python" -c "import ataraxis_data_structures as a; print('$venv imports', a.__file__)"
done
command -v ffmpeg >/dev/null || echo "ffmpeg missing: apt-get install -y ffmpeg (avs_session.py needs it)"
