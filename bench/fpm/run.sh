#!/usr/bin/env bash
# make bench-fpm: nginx + php-fpm (4 static workers) on loopback, the release extension,
# wxpay-mock over TLS, load from wrk (Debian's package), each run bounded in requests and
# seconds. Two endpoints, same logic on every side:
#   notify  parse, verify, update the order in SQLite, reply: wxpay (handleNotify) vs the
#           hand-written tutorial code vs the official SDK's WxPayNotify flow (its lib/
#           directory given as SDK=…; not part of this repository, the column is left out
#           without it)
#   order   unifiedOrder against the mock with 20 ms latency: wxpay (pooled connections)
#           vs curl with a new handle per request
# Prints a table (requests/s, p50, p99); docs/performance.md keeps the figures.
#
#   bash bench/fpm/run.sh [SDK_LIB_DIR]
# Environment: BENCH_SECONDS (10) BENCH_REQUESTS (100000, per run) BENCH_ROUNDS (3)
# BENCH_CONNECTIONS (8)
# BENCH_FLAME=out.svg (also record the wxpay notify endpoint with perf and draw a flame
# graph; needs linux-perf, installed here, and inferno's tools on PATH) BENCH_KEEP=1.
# Everything it starts runs in its own session and is stopped on exit, also on failure
# (soak/lib.sh, the harness shared with make soak).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/fpm
SDK=${1:-${SDK:-}}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
# High enough that a run ends by time on this 2-CPU VM: wrk's clock runs for the whole -d
# even when every thread has stopped at its share, so a run that reaches the cap reports a
# rate that is only a lower bound (report.php marks it).
REQUESTS=${BENCH_REQUESTS:-100000}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
THREADS=2
WORKERS=4
# Notify bodies (orders) per variant: each wrk thread posts them in turn from its own
# start, so that a run of BENCH_REQUESTS posts every one of them.
ORDERS=$((REQUESTS / (2 * THREADS) < 500 ? REQUESTS / (2 * THREADS) : 500))
((ORDERS > 0)) || { echo "bench-fpm: BENCH_REQUESTS must be at least $((2 * THREADS))" >&2; exit 2; }

SOAK_NAME=bench-fpm
SOAK_KEEP=${BENCH_KEEP:-}
# The release build that make bench-fpm has just made, nothing else: the figures are release ones.
SOAK_PROFILE=release
SOAK_NO_BUILD=1
# shellcheck source=../../soak/lib.sh
source "$ROOT/soak/lib.sh"
PACKAGES=("${SOAK_WEB_PACKAGES[@]}" "php$PHP_VERSION-xml" "php$PHP_VERSION-opcache" wrk curl)
[[ -n "${BENCH_FLAME:-}" ]] && PACKAGES+=(linux-perf)

if [[ -n "$SDK" ]]; then
  SDK=$(cd "$SDK" && pwd)
  [[ -f "$SDK/WxPay.Notify.php" && -f "$SDK/WxPay.Api.php" ]] \
    || die "$SDK is not the official SDK's lib/ directory (WxPay.Api.php, WxPay.Notify.php)"
fi

# --- packages, temp dir, the release build copied there ------------------------------
soak_packages "${PACKAGES[@]}"
soak_web_binaries
soak_init wxpay-bench-fpm
soak_build

# --- wxpay-mock -------------------------------------------------------------------------
soak_start_mock 0
mock_faults() {
  curl -sf --cacert "$WXPAY_CA_PATH" -H 'Content-Type: application/json' -X POST -d "$1" \
    "$WXPAY_BASE_URL/mock/faults" >/dev/null || die "mock faults $1"
}

NOTIFY_VARIANTS=(wxpay php)
[[ -n "$SDK" ]] && NOTIFY_VARIANTS+=(sdk)
DB=$TMP/shop.sqlite
php "$HERE/gen.php" "$DB" "$TMP" "$ORDERS" "${NOTIFY_VARIANTS[@]}"

PORT=$(soak_free_port)
SHOP=http://127.0.0.1:$PORT

# --- php-fpm: OPcache on (as in production), no JIT; the extension loaded in the master ---
# No E_DEPRECATED: the SDK calls libxml_disable_entity_loader() (deprecated in PHP 8.0) on
# every notify. BENCH_SDK_LIB only with an SDK (an INI value `none` is read as empty, which
# php-fpm refuses).
soak_start_fpm bench "$WORKERS" 0 "php_admin_value[error_reporting] = E_ALL & ~E_DEPRECATED
php_admin_value[opcache.enable] = 1
php_admin_value[opcache.jit] = disable
env[BENCH_DB] = $DB
${SDK:+env[BENCH_SDK_LIB] = $SDK}"
FPM_PID=$STARTED

locations="access_log off;"
for script in notify-wxpay notify-php notify-sdk order-wxpay order-curl; do
  locations+="
    location = /${script/-//} { include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_FILENAME $HERE/www/$script.php; fastcgi_pass fpm; }"
done
soak_start_nginx "server unix:$TMP/php-fpm-bench.sock;" "$locations" /order/wxpay
log "nginx $SHOP -> php-fpm $PHP_VERSION ($WORKERS workers) -> wxpay-mock $WXPAY_BASE_URL; load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- runs -------------------------------------------------------------------------------
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
# run NAME PATH EXPECT [BODIES]: a warm-up, then the bounded wrk run; one JSON line kept.
run() {
  local name=$1 path=$2 expect=$3 bodies=${4:-} out
  local warm=(-o /dev/null)
  [[ -n "$bodies" ]] && warm+=(--data-binary "@$bodies")
  for _ in $(seq $((2 * WORKERS))); do curl -s "${warm[@]}" "$SHOP$path" || true; done
  out=$(BENCH_BODIES=$bodies BENCH_EXPECT=$expect BENCH_MAX=$REQUESTS BENCH_THREADS=$THREADS \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 10s -s "$HERE/wrk.lua" "$SHOP$path" \
    | grep '^{"requests"') || die "$name: wrk printed no result"
  printf '{"name": "%s", "load": "%s", %s\n' "$name" "$(cut -d' ' -f1 /proc/loadavg)" "${out#\{}" >>"$RESULTS"
  log "$name: $out"
}

# Rounds of every variant in turn, so that a change of load on a shared machine hits them
# alike; the report takes each variant's median round.
for round in $(seq "$ROUNDS"); do
  log "round $round of $ROUNDS"
  for v in "${NOTIFY_VARIANTS[@]}"; do
    run "notify $v" "/notify/$v" SUCCESS "$TMP/bodies-$v.txt"
    paid=$(php -r '$db = new SQLite3($argv[1]); echo $db->querySingle("SELECT COUNT(*) FROM orders WHERE status = '"'"'PAID'"'"' AND out_trade_no LIKE '"'"'" . strtoupper($argv[2]) . "%'"'"'");' "$DB" "$v")
    # Every body was posted unless the time bound ended the run first.
    posted=$(tail -n1 "$RESULTS" | php -r 'echo json_decode(stream_get_contents(STDIN), true)["requests"];')
    if ((posted >= 2 * ORDERS)); then
      [[ "$paid" == "$ORDERS" ]] || die "notify $v: $paid of $ORDERS orders marked paid"
    else
      ((paid > 0)) || die "notify $v: no order marked paid"
    fi
  done
  mock_faults '{"latency_ms": 20, "path": "pay/unifiedorder"}'
  run "order wxpay (pooled)" /order/wxpay 'weixin://'
  run "order curl (new handle)" /order/curl 'weixin://'
  mock_faults '{}'
done

if [[ -n "${BENCH_FLAME:-}" ]]; then
  command -v inferno-collapse-perf >/dev/null || die "BENCH_FLAME needs inferno-collapse-perf and inferno-flamegraph on PATH (cargo install inferno)"
  workers=$(pgrep -P "$FPM_PID" | paste -sd, -)
  log "recording the wxpay notify endpoint with perf (workers $workers)"
  # DWARF unwinding: Debian's PHP has no frame pointers, so -g alone leaves most stacks unknown.
  perf record -q -F 249 --call-graph dwarf,16384 -p "$workers" -o "$TMP/perf.data" -- sleep "$SECONDS_PER_RUN" 2>"$TMP/perf.log" &
  perf_pid=$!
  sleep 0.5
  BENCH_BODIES=$TMP/bodies-wxpay.txt BENCH_EXPECT=SUCCESS BENCH_MAX=0 BENCH_THREADS=$THREADS \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$((SECONDS_PER_RUN - 1))s" -s "$HERE/wrk.lua" "$SHOP/notify/wxpay" >/dev/null
  wait "$perf_pid" || die "perf record failed: $(cat "$TMP/perf.log")"
  perf script -i "$TMP/perf.data" 2>/dev/null | inferno-collapse-perf >"$TMP/perf.folded"
  inferno-flamegraph --minwidth 0.5 \
    --title "wxpay notify endpoint: php-fpm workers (nginx, wrk, mock not shown)" \
    <"$TMP/perf.folded" >"$BENCH_FLAME"
  log "flame graph: $BENCH_FLAME; the workers' time by library:"
  perf report -i "$TMP/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 8 >&2
fi

php "$HERE/report.php" "$RESULTS" "$PHP_VERSION" "$WORKERS" "$CONNECTIONS" "$REQUESTS"
