#!/usr/bin/env bash
# Installs slurm-wlm and munge from the distribution's packages when they are missing, so that the tests marked
# `slurm` can start their own one-node cluster (tests/slurm/slurm_cluster.py). Idempotent and quiet; it never fails
# the caller: where the packages cannot be installed it says why and exits 0, and those tests are then skipped with
# that reason.
set -u

have_all() {
  command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 \
    && command -v munged >/dev/null 2>&1 && command -v mungekey >/dev/null 2>&1
}

# The daemons live in /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

if have_all; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-slurm: no apt-get on this machine: SLURM tests will be skipped (install slurm-wlm and munge by hand)"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "install-slurm: not root and no password-less sudo: SLURM tests will be skipped"
    exit 0
  fi
fi
echo "install-slurm: installing slurm-wlm and munge from the distribution's packages"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# The packages' own post-install scripts try to start system daemons; policy-rc.d stops that (our fixture starts
# its own daemons in a temporary folder).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && made_policy=1
fi
if $SUDO apt-get update -qq >"$log" 2>&1 \
  && $SUDO apt-get install -y -qq --no-install-recommends slurm-wlm munge >>"$log" 2>&1; then
  status="installed"
else
  status="failed"
fi
if [[ $made_policy -eq 1 ]]; then
  $SUDO rm -f "$policy"
fi
if [[ $status == failed ]] || ! have_all; then
  echo "install-slurm: could not install slurm-wlm and munge (last lines below): SLURM tests will be skipped"
  tail -n 5 "$log"
  rm -f "$log"
  exit 0
fi
rm -f "$log"
echo "install-slurm: $(slurmctld -V 2>/dev/null) and munge installed"
exit 0
