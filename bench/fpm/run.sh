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
# Environment: BENCH_SECONDS (10) BENCH_REQUESTS (20000) BENCH_CONNECTIONS (8)
# BENCH_FLAME=out.svg (also record the wxpay notify endpoint with perf and draw a flame
# graph; needs linux-perf, installed here, and inferno's tools on PATH) BENCH_KEEP=1.
# Everything it starts runs in its own session and is stopped on exit, also on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/fpm
SDK=${1:-${SDK:-}}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
REQUESTS=${BENCH_REQUESTS:-20000}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
THREADS=2
WORKERS=4
ORDERS=500
PHP_VERSION=$(${PHP:-php} -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')
PACKAGES=("php$PHP_VERSION-cli" "php$PHP_VERSION-fpm" "php$PHP_VERSION-sqlite3" "php$PHP_VERSION-curl"
  "php$PHP_VERSION-xml" "php$PHP_VERSION-opcache" nginx-light wrk curl)
[[ -n "${BENCH_FLAME:-}" ]] && PACKAGES+=(linux-perf)

PIDS=()
TMP=""

log() { printf '[bench-fpm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$TMP" && -d "$TMP" ]]; then
    if [[ -n "${BENCH_KEEP:-}" ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n "$SDK" ]]; then
  SDK=$(cd "$SDK" && pwd)
  [[ -f "$SDK/WxPay.Notify.php" && -f "$SDK/WxPay.Api.php" ]] \
    || die "$SDK is not the official SDK's lib/ directory (WxPay.Api.php, WxPay.Notify.php)"
fi

# --- packages ---------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || die "missing packages; run: sudo apt-get install -y ${missing[*]}"
  log "installing ${missing[*]}"
  apt-get update -qq
  # No service is started by us through the packages (policy-rc.d / no systemd in chroots).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
FPM=$(command -v "php-fpm$PHP_VERSION" || echo "/usr/sbin/php-fpm$PHP_VERSION")
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$FPM" && -x "$NGINX" ]] || die "php-fpm$PHP_VERSION or nginx not found"

EXT_SRC=$ROOT/target/release/libwxpay.so
MOCK_SRC=$ROOT/target/release/wxpay-mock
[[ -f "$EXT_SRC" && -x "$MOCK_SRC" ]] || die "release build missing ($EXT_SRC, $MOCK_SRC): make release"

base=/tmp
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm   # SQLite on tmpfs: the disk is not measured
TMP=$(mktemp -d "$base/wxpay-bench-fpm.XXXXXX")
chmod 755 "$TMP"
mkdir -p "$TMP/mock" "$TMP/nginx"
cp "$EXT_SRC" "$TMP/libwxpay.so"
cp "$MOCK_SRC" "$TMP/wxpay-mock"

# --- wxpay-mock -------------------------------------------------------------------------
setsid "$TMP/wxpay-mock" --tls --listen 127.0.0.1:0 --state-dir "$TMP/mock" \
  >"$TMP/mock.ready" 2>"$TMP/mock.log" &
PIDS+=("$!")
for _ in $(seq 200); do grep -q '"event":"ready"' "$TMP/mock.ready" 2>/dev/null && break; sleep 0.05; done
grep -q '"event":"ready"' "$TMP/mock.ready" || { cat "$TMP/mock.log" >&2; die "wxpay-mock not ready"; }
eval "$(php "$ROOT/examples/lib/mock-env.php" "$TMP/mock.ready")"
mock_faults() {
  curl -sf --cacert "$WXPAY_CA_PATH" -H 'Content-Type: application/json' -X POST -d "$1" \
    "$WXPAY_BASE_URL/mock/faults" >/dev/null || die "mock faults $1"
}

NOTIFY_VARIANTS=(wxpay php)
[[ -n "$SDK" ]] && NOTIFY_VARIANTS+=(sdk)
DB=$TMP/shop.sqlite
php "$HERE/gen.php" "$DB" "$TMP" "$ORDERS" "${NOTIFY_VARIANTS[@]}"

PORT=$(php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);')
URL=http://127.0.0.1:$PORT

# --- php-fpm: OPcache on (as in production), no JIT; the extension loaded in the master ---
cat >"$TMP/php-fpm.conf" <<CONF
[global]
pid = $TMP/php-fpm.pid
error_log = $TMP/php-fpm.log
daemonize = no

[bench]
; run as root (-R): the harness's own temp dir; a real deployment uses its own user
user = root
group = root
listen = $TMP/php-fpm.sock
listen.mode = 0666
listen.backlog = 511
pm = static
pm.max_children = $WORKERS
pm.max_requests = 0
request_terminate_timeout = 30s
clear_env = yes
php_admin_value[error_log] = $TMP/php-errors.log
php_admin_flag[log_errors] = on
php_admin_value[display_errors] = off
; the SDK calls libxml_disable_entity_loader() (deprecated since PHP 8.0) on every notify
php_admin_value[error_reporting] = E_ALL & ~E_DEPRECATED
php_admin_value[opcache.enable] = 1
php_admin_value[opcache.jit] = disable
env[WXPAY_APPID] = $WXPAY_APPID
env[WXPAY_MCH_ID] = $WXPAY_MCH_ID
env[WXPAY_KEY] = $WXPAY_KEY
env[WXPAY_BASE_URL] = $WXPAY_BASE_URL
env[WXPAY_CA_PATH] = $WXPAY_CA_PATH
env[BENCH_DB] = $DB
env[BENCH_SDK_LIB] = ${SDK:-none}
CONF
"$FPM" -t -R -y "$TMP/php-fpm.conf" -p "$TMP" -d extension="$TMP/libwxpay.so" 2>"$TMP/fpm-test.log" \
  || { cat "$TMP/fpm-test.log" >&2; die "php-fpm config test failed"; }
setsid "$FPM" -F -R -y "$TMP/php-fpm.conf" -p "$TMP" -d extension="$TMP/libwxpay.so" >>"$TMP/php-fpm.out" 2>&1 &
FPM_PID=$!
PIDS+=("$FPM_PID")

locations=""
for script in notify-wxpay notify-php notify-sdk order-wxpay order-curl; do
  locations+="    location = /${script/-//} { include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_FILENAME $HERE/www/$script.php; fastcgi_pass fpm; }
"
done
cat >"$TMP/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  proxy_temp_path $TMP/nginx/proxy;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 1000000;
  upstream fpm { server unix:$TMP/php-fpm.sock; }
  server {
    listen 127.0.0.1:$PORT;
$locations  }
}
CONF
"$NGINX" -t -q -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -p "$TMP" || die "nginx config test failed"
setsid "$NGINX" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -p "$TMP" -g 'daemon off;' >>"$TMP/nginx.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [[ -S "$TMP/php-fpm.sock" ]] && curl -s -o /dev/null "$URL/order/wxpay" && break; sleep 0.1; done
log "nginx $URL -> php-fpm $PHP_VERSION ($WORKERS workers) -> wxpay-mock $WXPAY_BASE_URL; load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- runs -------------------------------------------------------------------------------
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
# run NAME PATH EXPECT [BODIES]: a warm-up, then the bounded wrk run; one JSON line kept.
run() {
  local name=$1 path=$2 expect=$3 bodies=${4:-} out
  local warm=(-o /dev/null)
  [[ -n "$bodies" ]] && warm+=(--data-binary "@$bodies")
  for _ in $(seq $((2 * WORKERS))); do curl -s "${warm[@]}" "$URL$path" || true; done
  out=$(BENCH_BODIES=$bodies BENCH_EXPECT=$expect BENCH_MAX=$REQUESTS BENCH_THREADS=$THREADS \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 10s -s "$HERE/wrk.lua" "$URL$path" \
    | grep '^{"requests"') || die "$name: wrk printed no result"
  printf '{"name": "%s", "load": "%s", %s\n' "$name" "$(cut -d' ' -f1 /proc/loadavg)" "${out#\{}" >>"$RESULTS"
  log "$name: $out"
}

for v in "${NOTIFY_VARIANTS[@]}"; do
  run "notify $v" "/notify/$v" SUCCESS "$TMP/bodies-$v.txt"
  paid=$(php -r '$db = new SQLite3($argv[1]); echo $db->querySingle("SELECT COUNT(*) FROM orders WHERE status = '"'"'PAID'"'"' AND out_trade_no LIKE '"'"'" . strtoupper($argv[2]) . "%'"'"'");' "$DB" "$v")
  [[ "$paid" == "$ORDERS" ]] || die "notify $v: $paid of $ORDERS orders marked paid"
done

mock_faults '{"latency_ms": 20, "path": "pay/unifiedorder"}'
run "order wxpay (pooled)" /order/wxpay 'weixin://'
run "order curl (new handle)" /order/curl 'weixin://'
mock_faults '{}'

if [[ -n "${BENCH_FLAME:-}" ]]; then
  command -v inferno-collapse-perf >/dev/null || die "BENCH_FLAME needs inferno-collapse-perf and inferno-flamegraph on PATH (cargo install inferno)"
  workers=$(pgrep -P "$FPM_PID" | paste -sd, -)
  log "recording the wxpay notify endpoint with perf (workers $workers)"
  perf record -q -F 997 -g -p "$workers" -o "$TMP/perf.data" -- sleep "$SECONDS_PER_RUN" 2>"$TMP/perf.log" &
  perf_pid=$!
  sleep 0.5
  BENCH_BODIES=$TMP/bodies-wxpay.txt BENCH_EXPECT=SUCCESS BENCH_MAX=0 BENCH_THREADS=$THREADS \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$((SECONDS_PER_RUN - 1))s" -s "$HERE/wrk.lua" "$URL/notify/wxpay" >/dev/null
  wait "$perf_pid" || die "perf record failed: $(cat "$TMP/perf.log")"
  perf script -i "$TMP/perf.data" 2>/dev/null | inferno-collapse-perf >"$TMP/perf.folded"
  inferno-flamegraph --title "wxpay notify endpoint: php-fpm workers (nginx, wrk, mock not shown)" \
    <"$TMP/perf.folded" >"$BENCH_FLAME"
  log "flame graph: $BENCH_FLAME"
fi

php "$HERE/report.php" "$RESULTS" "$PHP_VERSION" "$WORKERS" "$CONNECTIONS"
