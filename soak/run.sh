#!/usr/bin/env bash
# make soak: the release extension in Debian's php-fpm of the running PHP (X.Y from `php`) (pm = static, 4 workers) behind
# nginx, serving the examples' shop and notify endpoint, against wxpay-mock (TLS, backup
# listener, time-scale 1000) with faults toggled during the run; ≥ 100,000 HTTP requests
# from soak/driver.php; then crash, failure, reconciliation, pooling and RSS figures.
#
#   bash soak/run.sh                    # build (release), install packages if root, run
#   SOAK_REQUESTS=5000 bash soak/run.sh # a short run
#
# Environment: SOAK_REQUESTS (100000) SOAK_CONCURRENCY (12) SOAK_MAX_SECONDS (1500)
# SOAK_NO_BUILD=1 (use target/release as it is) SOAK_KEEP=1 (keep the temp dir)
# SOAK_RESULTS (soak/results/soak-latest.json). Everything it starts runs in its own session
# and is stopped on exit (trap), also on failure or Ctrl-C. Nothing under /etc is written.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQUESTS=${SOAK_REQUESTS:-100000}
CONCURRENCY=${SOAK_CONCURRENCY:-12}
MAX_SECONDS=${SOAK_MAX_SECONDS:-1500}
RESULTS=${SOAK_RESULTS:-$ROOT/soak/results/soak-latest.json}
WORKERS=4
PHP_VERSION=$(${PHP:-php} -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')
PACKAGES=("php$PHP_VERSION-cli" "php$PHP_VERSION-fpm" "php$PHP_VERSION-sqlite3" "php$PHP_VERSION-curl" nginx-light)

PIDS=()
TMP=""
SAMPLER=""

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  [[ -n "$SAMPLER" ]] && kill "$SAMPLER" 2>/dev/null || true
  # Stop in reverse start order: nginx, php-fpm, mock. Each is a session leader (setsid).
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
    if [[ -n "${SOAK_KEEP:-}" ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- packages ---------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || die "missing packages; run: sudo apt-get install -y ${missing[*]}"
  log "installing ${missing[*]}"
  apt-get update -qq
  # policy-rc.d / no systemd: the package's own service is not started (and we never use it).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
FPM=$(command -v "php-fpm$PHP_VERSION" || echo "/usr/sbin/php-fpm$PHP_VERSION")
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$FPM" && -x "$NGINX" ]] || die "php-fpm$PHP_VERSION or nginx not found"

# --- build --------------------------------------------------------------------------------
if [[ -z "${SOAK_NO_BUILD:-}" ]]; then
  log "cargo build --release (niced)"
  (cd "$ROOT" && nice -n 10 cargo build --workspace --release --quiet)
fi
EXT_SRC=$ROOT/target/release/libwxpay.so
MOCK_SRC=$ROOT/target/release/wxpay-mock
[[ -f "$EXT_SRC" && -x "$MOCK_SRC" ]] || die "release build missing ($EXT_SRC, $MOCK_SRC)"

# Private copies: a concurrent cargo build cannot swap them under the running workers.
base=/tmp
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm   # SQLite fsyncs on tmpfs: the disk is shared
TMP=$(mktemp -d "$base/wxpay-soak.XXXXXX")
chmod 755 "$TMP"
mkdir -p "$TMP/mock" "$TMP/spool" "$TMP/nginx" "$(dirname "$RESULTS")"
cp "$EXT_SRC" "$TMP/libwxpay.so"
cp "$MOCK_SRC" "$TMP/wxpay-mock"
EXT=$TMP/libwxpay.so
log "temp dir $TMP; extension $(sha256sum "$EXT" | cut -c1-16) from $EXT_SRC ($(stat -c %y "$EXT_SRC" | cut -d. -f1))"

free_port() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1), "\n";'
}

# --- wxpay-mock -----------------------------------------------------------------------------
setsid nice -n 5 "$TMP/wxpay-mock" --tls --listen 127.0.0.1:0 --backup-listen 127.0.0.1:0 \
  --time-scale 1000 --state-dir "$TMP/mock" >"$TMP/mock.ready" 2>"$TMP/mock.log" &
PIDS+=("$!")
for _ in $(seq 200); do grep -q '"event":"ready"' "$TMP/mock.ready" 2>/dev/null && break; sleep 0.05; done
grep -q '"event":"ready"' "$TMP/mock.ready" || { cat "$TMP/mock.log" >&2; die "wxpay-mock not ready"; }
eval "$(php "$ROOT/examples/lib/mock-env.php" "$TMP/mock.ready")"
WXPAY_BACKUP_URL=$(php -r 'echo json_decode(strtok(file_get_contents($argv[1]), "\n"), true)["backup_url"];' "$TMP/mock.ready")
[[ -n "$WXPAY_BACKUP_URL" ]] || die "the mock has no backup_url"
log "wxpay-mock $WXPAY_BASE_URL (backup $WXPAY_BACKUP_URL)"

PORT=$(free_port)
SHOP=http://127.0.0.1:$PORT
DB=$TMP/shop.sqlite
php -d extension="$EXT" -r 'require $argv[1]; WxPayExample\Shop::openDb($argv[2]);' "$ROOT/examples/lib/Shop.php" "$DB"

# --- php-fpm: own config, pid, socket, logs; the extension loaded in the master (MINIT, then fork)
cat >"$TMP/php-fpm.conf" <<EOF
[global]
pid = $TMP/php-fpm.pid
error_log = $TMP/php-fpm.log
log_level = notice
daemonize = no
process_control_timeout = 5s

[soak]
; The harness runs as root (-R); a real deployment uses its own user.
user = root
group = root
listen = $TMP/php-fpm.sock
listen.mode = 0666
listen.backlog = 511
pm = static
pm.max_children = $WORKERS
pm.max_requests = 0
request_terminate_timeout = 60s
catch_workers_output = yes
decorate_workers_output = no
clear_env = yes
php_admin_value[error_log] = $TMP/php-errors.log
php_admin_flag[log_errors] = on
php_admin_value[display_errors] = off
env[WXPAY_APPID] = $WXPAY_APPID
env[WXPAY_MCH_ID] = $WXPAY_MCH_ID
env[WXPAY_KEY] = $WXPAY_KEY
env[WXPAY_BASE_URL] = $WXPAY_BASE_URL
env[WXPAY_BACKUP_URL] = $WXPAY_BACKUP_URL
env[WXPAY_CA_PATH] = $WXPAY_CA_PATH
env[WXPAY_CLIENT_CERT_PATH] = $WXPAY_CLIENT_CERT_PATH
env[WXPAY_CLIENT_KEY_PATH] = $WXPAY_CLIENT_KEY_PATH
env[WXPAY_NOTIFY_BASE] = $SHOP
env[WXPAY_DB] = $DB
env[SOAK_SPOOL] = $TMP/spool
env[SOAK_SPOOL_RATE] = 0.02
env[SOAK_NOTIFY_LOSE_RATE] = 0.05
EOF
"$FPM" -t -R -y "$TMP/php-fpm.conf" -p "$TMP" -d extension="$EXT" 2>"$TMP/fpm-test.log" \
  || { cat "$TMP/fpm-test.log" >&2; die "php-fpm config test failed"; }
setsid nice -n 5 "$FPM" -F -R -y "$TMP/php-fpm.conf" -p "$TMP" -d extension="$EXT" >>"$TMP/php-fpm.out" 2>&1 &
FPM_PID=$!
PIDS+=("$FPM_PID")

# --- nginx: own config, pid, logs and temp paths; loopback only
cat >"$TMP/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 2048; }
http {
  log_format soak '\$msec \$status \$request_method \$uri \$request_time \$upstream_status';
  access_log $TMP/nginx-access.log soak buffer=256k flush=2s;
  client_body_temp_path $TMP/nginx/body;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  proxy_temp_path $TMP/nginx/proxy;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 100000;
  # No upstream keepalive / fastcgi_keep_conn: an fpm worker bound to an idle kept
  # connection stops accepting, and with pm = static a 5th connection starves in the backlog.
  upstream fpm { server unix:$TMP/php-fpm.sock; }
  # WeChat-side failures before the endpoint: 3 % of the mock's notify deliveries get 503
  # (never reaching PHP), so the mock retries on its schedule. Driver replays are exempt.
  split_clients "\${request_id}" \$notify_drop { 3% "1"; * ""; }
  map "\$notify_drop:\$http_x_soak_replay" \$notify_refuse { "1:" 1; default 0; }
  server {
    listen 127.0.0.1:$PORT;
    location /notify/ {
      if (\$notify_refuse) { return 503; }
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $ROOT/soak/www/notify.php;
      fastcgi_pass fpm;
    }
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $ROOT/soak/www/shop.php;
      fastcgi_pass fpm;
    }
  }
}
EOF
"$NGINX" -t -q -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -p "$TMP" || die "nginx config test failed"
setsid "$NGINX" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -p "$TMP" -g 'daemon off;' >>"$TMP/nginx.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [[ -S "$TMP/php-fpm.sock" ]] && curl -sf -o /dev/null "$SHOP/" && break; sleep 0.1; done
curl -sf -o /dev/null "$SHOP/" || { tail -n 20 "$TMP"/php-fpm.log "$TMP"/nginx-error.log >&2; die "the shop does not answer on $SHOP"; }
log "nginx $SHOP → php-fpm ($WORKERS workers, $FPM_PID) → wxpay-mock"

# --- worker RSS: at start, every 15 s, at the end
workers() { pgrep -P "$FPM_PID" | sort -n; }
rss_line() {
  local pid out=""
  for pid in $(workers); do
    out+=" $pid:$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo gone)"
  done
  echo "$(date +%s)$out"
}
START_WORKERS=$(workers | tr '\n' ' ')
[[ $(wc -w <<<"$START_WORKERS") == "$WORKERS" ]] || die "expected $WORKERS workers, got: $START_WORKERS"
rss_line >"$TMP/rss.log"
log "workers at start (pid:VmRSS kB): $(tail -n1 "$TMP/rss.log" | cut -d' ' -f2-)"
( while sleep 15; do rss_line >>"$TMP/rss.log"; done ) &
SAMPLER=$!

# --- the run ----------------------------------------------------------------------------------
cat >"$TMP/driver.json" <<EOF
{
  "shop": "$SHOP", "control": "$WXPAY_BACKUP_URL", "ca": "$WXPAY_CA_PATH", "db": "$DB",
  "spool": "$TMP/spool", "out": "$TMP/driver-report.json",
  "requests": $REQUESTS, "concurrency": $CONCURRENCY, "max_seconds": $MAX_SECONDS,
  "pay_rate": 0.9, "replay_copies": 3,
  "phases": [
    {"from": 0.00, "name": "clean", "faults": {}},
    {"from": 0.08, "name": "latency+systemerror", "faults": {"latency_ms": 15, "system_error_rate": 0.05}},
    {"from": 0.22, "name": "drops", "faults": {"drop_rate": 0.03}},
    {"from": 0.36, "name": "primary-down", "faults": {"primary_down": true}},
    {"from": 0.50, "name": "clean-2", "faults": {}},
    {"from": 0.58, "name": "mixed", "faults": {"latency_ms": 5, "system_error_rate": 0.03, "drop_rate": 0.02}},
    {"from": 0.78, "name": "bad-sign-x20", "faults": {"bad_sign": true, "count": 20}},
    {"from": 0.80, "name": "clean-3", "faults": {}}
  ]
}
EOF
log "driving $REQUESTS shop requests, concurrency $CONCURRENCY (bounded to ${MAX_SECONDS}s)"
set +e
nice -n 5 php "$ROOT/soak/driver.php" "$TMP/driver.json" 2> >(tee "$TMP/driver.log" >&2)
DRIVER_RC=$?
set -e
sleep 3   # nginx flushes its access log every 2 s
rss_line >>"$TMP/rss.log"
END_WORKERS=$(workers | tr '\n' ' ')
[[ -f "$TMP/driver-report.json" ]] || die "the driver wrote no report (rc $DRIVER_RC)"

# --- figures --------------------------------------------------------------------------------
php "$ROOT/soak/report.php" "$TMP" "$START_WORKERS" "$END_WORKERS" "$RESULTS" || true
cp "$TMP/php-fpm.log" "$(dirname "$RESULTS")/php-fpm-latest.log" 2>/dev/null || true
tail -n 50 "$TMP/php-errors.log" >"$(dirname "$RESULTS")/php-errors-latest.log" 2>/dev/null || true
verdict=$(php -r '$r = json_decode(file_get_contents($argv[1]), true); echo $r["verdict"] ?? "FAIL";' "$RESULTS")
log "verdict: $verdict (driver exit $DRIVER_RC); results in $RESULTS"
[[ "$verdict" == PASS && $DRIVER_RC == 0 ]]
