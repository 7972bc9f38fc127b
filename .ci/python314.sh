#!/usr/bin/env bash
# Prints the path of a working `python3.14` (and nothing else on stdout), installing one first if needed.
#
# Order: a python3.14 already on PATH or in pyenv; else Debian's own CPython 3.14 build (the `python3.14` package of
# the `forky` suite), kept in a cache folder and reused by every later call on this machine. This machine reaches no
# python.org download, and pyenv cannot build without one, but Debian's package registry serves forky's binaries.
#
# How the Debian build runs on an older Debian without a chroot: its packages and their library dependencies (forky's
# glibc among them, about 20 MB) are unpacked, not installed, into the cache folder, and `patchelf` points the
# interpreter at that folder's dynamic loader and libraries. The interpreter then runs on this machine like any other:
# in venvs, as `sys.executable` of spawned and forkserver children, with the host's /tmp, mounts and processes, which
# the suite needs (a chroot would hide the reference releases in /tmp and the host's mounts from the tests). Only the
# interpreter is patched: callers use the printed path (the folder holds other programs; do not put it on PATH).
# Debian's `ensurepip` looks for its pip wheel in /usr/share/python-wheels: that path is rewritten to the cache's copy.
#
# Idempotent and safe to run concurrently (flock); a partly built cache is never used (built aside, then renamed).
# Needs apt-get (only to download: nothing is installed on the system) and patchelf (installed with apt-get when
# missing). Cache folder: $AXDS_PY314_HOME, default ~/.cache/axds-python3.14.
set -euo pipefail

log() { echo "python314.sh: $*" >&2; }

works() {  # $1 runs, is 3.14, and has the modules the suite and venv need
  "$1" -c 'import sys, ssl, sqlite3, ctypes, lzma, bz2, zlib, venv, ensurepip
sys.exit(sys.version_info[:2] != (3, 14))' >/dev/null 2>&1
}

# 1. An interpreter the machine already has.
candidates=()
command -v python3.14 >/dev/null 2>&1 && candidates+=("$(command -v python3.14)")
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for p in $(ls -d "$pyenv_root"/versions/3.14.*/bin/python3.14 2>/dev/null | sort -rV); do candidates+=("$p"); done
home=${AXDS_PY314_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/axds-python3.14}
for p in "${candidates[@]}"; do
  if works "$p"; then echo "$p"; exit 0; fi
done

# 2. Debian's build, cached.
exe=$home/root/usr/bin/python3.14  # the real path: a venv made through a symlink elsewhere would not find the stdlib
if [[ -x $exe ]] && works "$exe"; then echo "$exe"; exit 0; fi

command -v apt-get >/dev/null 2>&1 || { log "no python3.14 and no apt-get to fetch Debian's build"; exit 1; }
mkdir -p "$(dirname "$home")"
exec 9>"$home.lock"
flock 9
if [[ -x $exe ]] && works "$exe"; then echo "$exe"; exit 0; fi  # another caller built it meanwhile

if ! command -v patchelf >/dev/null 2>&1; then
  log "installing patchelf"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq patchelf >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq patchelf >/dev/null 2>&1; } \
    || { log "could not install patchelf"; exit 1; }
fi

started=$SECONDS
work=$(mktemp -d "$home.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
apt=$work/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
echo "deb http://deb.debian.org/debian forky main" >"$apt/sources.list"
: >"$apt/status"  # an empty package database: apt downloads the whole dependency closure, installs nothing
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Dir::State::status=$apt/status"
  -o Acquire::Check-Valid-Until=false -o APT::Architecture=amd64 -o APT::Architectures::=amd64
  -o APT::Sandbox::User=root -o Debug::NoLocking=1)
[[ $(dpkg --print-architecture 2>/dev/null || echo amd64) == amd64 ]] || { log "only amd64 is set up"; exit 1; }
log "downloading Debian forky's python3.14 into $home (once per machine)"
apt-get "${opts[@]}" -qq update >"$work/apt.log" 2>&1 \
  && apt-get "${opts[@]}" -qq install --download-only -y --no-install-recommends python3.14 python3.14-venv \
    >>"$work/apt.log" 2>&1 \
  || { log "apt-get failed:"; tail -n 5 "$work/apt.log" >&2; exit 1; }
root=$work/root
mkdir -p "$root"
for deb in "$apt"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$root"; done

# The interpreter is patched for its final place ($home), then the folder is renamed there.
final_lib=$home/root/usr/lib/x86_64-linux-gnu
patchelf --set-interpreter "$final_lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$final_lib" \
  "$root/usr/bin/python3.14"
sed -i "s|'/usr/share/python-wheels/'|'$home/root/usr/share/python-wheels/'|" \
  "$root"/usr/lib/python3.14/_sysconfigdata_*.py
rm -rf "$work/apt"
rm -rf "$home"
mv "$work" "$home"
trap - EXIT
chmod 755 "$home"
if ! works "$exe"; then
  log "the unpacked python3.14 does not run:"
  "$exe" -c 'import ssl, sqlite3, ctypes, venv, ensurepip' >&2 || true
  exit 1
fi
log "$("$exe" -VV | head -n 1) ready in $((SECONDS - started)) s"
echo "$exe"
