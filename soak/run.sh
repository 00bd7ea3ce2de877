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

SAMPLER=""
STACK_NAME=soak
STACK_KEEP=${SOAK_KEEP:-}
STACK_NICE=5
STACK_ROOT=$ROOT
STACK_ON_EXIT='[[ -n "$SAMPLER" ]] && kill "$SAMPLER" 2>/dev/null'
# shellcheck source=../scripts/stack.sh
source "$ROOT/scripts/stack.sh"

# --- packages ---------------------------------------------------------------------------
stack_packages "${PACKAGES[@]}"
stack_servers "$PHP_VERSION"

# --- build --------------------------------------------------------------------------------
if [[ -z "${SOAK_NO_BUILD:-}" ]]; then
  log "cargo build --release (niced)"
  (cd "$ROOT" && nice -n 10 cargo build --workspace --release --quiet)
fi
EXT_SRC=$ROOT/target/release/libwxpay.so
MOCK_SRC=$ROOT/target/release/wxpay-mock
[[ -f "$EXT_SRC" && -x "$MOCK_SRC" ]] || die "release build missing ($EXT_SRC, $MOCK_SRC)"

# Private copies: a concurrent cargo build cannot swap them under the running workers.
stack_tmp
mkdir -p "$TMP/spool" "$TMP/nginx" "$(dirname "$RESULTS")"
cp "$EXT_SRC" "$TMP/libwxpay.so"
cp "$MOCK_SRC" "$TMP/wxpay-mock"
EXT=$TMP/libwxpay.so
log "temp dir $TMP; extension $(sha256sum "$EXT" | cut -c1-16) from $EXT_SRC ($(stat -c %y "$EXT_SRC" | cut -d. -f1))"

# --- wxpay-mock -----------------------------------------------------------------------------
stack_mock "$TMP/wxpay-mock" --backup-listen 127.0.0.1:0 --time-scale 1000
WXPAY_BACKUP_URL=$(php -r 'echo json_decode(strtok(file_get_contents($argv[1]), "\n"), true)["backup_url"];' "$TMP/mock.ready")
[[ -n "$WXPAY_BACKUP_URL" ]] || die "the mock has no backup_url"
log "wxpay-mock $WXPAY_BASE_URL (backup $WXPAY_BACKUP_URL)"

PORT=$(stack_free_port)
SHOP=http://127.0.0.1:$PORT
DB=$TMP/shop.sqlite
php -d extension="$EXT" -r 'require $argv[1]; WxPayExample\Shop::openDb($argv[2]);' "$ROOT/examples/lib/Shop.php" "$DB"

# --- php-fpm: own config, pid, socket, logs; the extension loaded in the master (MINIT, then fork)
stack_fpm_conf soak "$WORKERS"
cat >>"$TMP/php-fpm.conf" <<EOF
request_terminate_timeout = 60s
catch_workers_output = yes
decorate_workers_output = no
env[WXPAY_BACKUP_URL] = $WXPAY_BACKUP_URL
env[WXPAY_CLIENT_CERT_PATH] = $WXPAY_CLIENT_CERT_PATH
env[WXPAY_CLIENT_KEY_PATH] = $WXPAY_CLIENT_KEY_PATH
env[WXPAY_NOTIFY_BASE] = $SHOP
env[WXPAY_DB] = $DB
env[SOAK_SPOOL] = $TMP/spool
env[SOAK_SPOOL_RATE] = 0.02
env[SOAK_NOTIFY_LOSE_RATE] = 0.05
EOF
stack_fpm "$FPM" "$EXT"

# --- nginx: own config, pid, logs and temp paths; loopback only
{
  stack_nginx_head
  cat <<EOF
  log_format soak '\$msec \$status \$request_method \$uri \$request_time \$upstream_status';
  access_log $TMP/nginx-access.log soak buffer=256k flush=2s;
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
} >"$TMP/nginx.conf"
stack_nginx "$NGINX"
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
