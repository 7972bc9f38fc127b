#!/bin/bash
# Runs the lab packages' own pytest suites (from their sdists) in the rel and ours venvs made by setup_venvs.sh,
# and lists the tests whose outcome differs. Takes ~25 min on 2 cores; the hardware tests error on both (no camera,
# no pytest-xdist 'worker_id' fixture) and a few timing tests fail on both under load.
set -uo pipefail
HERE=$(dirname "$(realpath "$0")")  # before the cd below: $0 may be relative
DIR=${LABCHECK_DIR:-/tmp/labcheck}
mkdir -p "$DIR/sdists" && cd "$DIR/sdists"
for spec in ataraxis-video-system==5.2.0 ataraxis-communication-interface==7.1.1; do
  "$DIR/rel/bin/python" -m pip download -q --no-binary :all: --no-deps "$spec"
done
for archive in *.tar.gz; do tar xzf "$archive"; done
for package in ataraxis_video_system-5.2.0 ataraxis_communication_interface-7.1.1; do
  for venv in rel ours; do
    (cd "$package" && "$DIR/$venv/bin/python" -m pytest -q -p no:cacheprovider --timeout=300 -rfE \
      --junitxml="$DIR/junit-$venv-$package.xml" tests > "$DIR/pytest-$venv-$package.log" 2>&1) &
  done
  wait
  "$DIR/rel/bin/python" "$HERE/junit_diff.py" \
    "$DIR/junit-rel-$package.xml" "$DIR/junit-ours-$package.xml"
done
