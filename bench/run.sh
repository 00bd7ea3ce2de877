#!/usr/bin/env bash
# make bench: bench/bench.php (P1-P5) once per mode, for the PHP the Makefile runs:
#   no-opcache   OPcache off
#   opcache      OPcache on, no JIT: the mode the targets are judged in
#   tracing-jit  OPcache on with the tracing JIT
# WXPAY_BENCH_MODES="opcache" picks modes; WXPAY_BENCH_NETWORK=0 skips P4/P5.
# Usage (the Makefile's): bench/run.sh php -d extension=… (the PHP command to run with).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
(($#)) || { echo "usage: bench/run.sh PHP-COMMAND…" >&2; exit 2; }

declare -A flags=(
  [no-opcache]="-d opcache.enable_cli=0"
  [opcache]="-d opcache.enable_cli=1 -d opcache.jit=disable"
  [tracing-jit]="-d opcache.enable_cli=1 -d opcache.jit=tracing -d opcache.jit_buffer_size=64M"
)
modes=${WXPAY_BENCH_MODES:-no-opcache opcache tracing-jit}
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
for mode in $modes; do
  [[ -n "${flags[$mode]:-}" ]] || { echo "unknown mode $mode (${!flags[*]})" >&2; exit 2; }
  echo
  # shellcheck disable=SC2086 # the flags are words
  WXPAY_BENCH_MODE=$mode "$@" ${flags[$mode]} bench/bench.php
done
