#!/usr/bin/env bash
# make soak: the release extension in Debian's php-fpm of the running PHP (X.Y from `php`) (pm = static, 4 workers) behind
# nginx, serving the examples' shop and notify endpoint (SQLite order book), against
# wxpay-mock (TLS, backup listener, time-scale 1000) with faults toggled during the run;
# ≥ 100,000 HTTP requests from soak/driver.php; then crash, failure, reconciliation, pooling
# and RSS figures. soak/cluster.sh is the same on MariaDB with two php-fpm nodes.
#
#   bash soak/run.sh                    # build (release), install packages if root, run
#   SOAK_REQUESTS=5000 bash soak/run.sh # a short run
#
# Environment: SOAK_REQUESTS (100000) SOAK_CONCURRENCY (12) SOAK_MAX_SECONDS (1500)
# SOAK_NO_BUILD=1 (use target/release as it is) SOAK_PROFILE=debug (the debug build) SOAK_KEEP=1 (keep the temp dir)
# SOAK_RESULTS (soak/results/soak-latest.json). Everything it starts runs in its own session
# and is stopped on exit (trap), also on failure or Ctrl-C. Nothing under /etc is written.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOAK_NAME=soak
# shellcheck source=lib.sh
source "$ROOT/soak/lib.sh"
REQUESTS=${SOAK_REQUESTS:-100000}
CONCURRENCY=${SOAK_CONCURRENCY:-12}
MAX_SECONDS=${SOAK_MAX_SECONDS:-1500}
RESULTS=${SOAK_RESULTS:-$ROOT/soak/results/soak-latest.json}
WORKERS=4

soak_packages "${SOAK_WEB_PACKAGES[@]}"
soak_web_binaries
soak_init wxpay-soak
soak_build
mkdir -p "$TMP/spool"
soak_start_mock 5

PORT=$(soak_free_port)
SHOP=http://127.0.0.1:$PORT
DB=$TMP/shop.sqlite
WXPAY_DB=$DB php -d extension="$EXT" -r 'require $argv[1]; WxPayExample\Shop::createSchema(WxPayExample\Shop::dbFromEnv());' \
  "$ROOT/examples/lib/Shop.php"

soak_start_fpm a "$WORKERS" 5 "env[WXPAY_DB] = $DB
env[SOAK_SPOOL_RATE] = 0.02
env[SOAK_NOTIFY_LOSE_RATE] = 0.05"
FPM_MASTERS=("$STARTED")
soak_start_nginx "server unix:$TMP/php-fpm-a.sock;"
log "nginx $SHOP → php-fpm ($WORKERS workers, ${FPM_MASTERS[0]}) → wxpay-mock"

soak_rss_start
[[ $(wc -w <<<"$WORKERS_START") == "$WORKERS" ]] || die "expected $WORKERS workers, got: $WORKERS_START"

# --- the run ----------------------------------------------------------------------------------
cat >"$TMP/driver.json" <<EOF
{
  "shop": "$SHOP", "control": "$WXPAY_BACKUP_URL", "ca": "$WXPAY_CA_PATH", "dsn": "sqlite:$DB",
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
soak_drive 5
soak_finish soak
