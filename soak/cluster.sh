#!/usr/bin/env bash
# make soak-cluster: exactly-once notify handling on a real database across nodes. The release
# extension in two php-fpm masters ("nodes" a and b, pm = static, 4 workers each) behind one
# nginx upstream, the examples' shop and notify endpoint with its order book on MariaDB
# (WXPAY_SHOP_DSN, PDO MySQL over TCP), against wxpay-mock (TLS, backup listener, time-scale
# 1000) delivering notifies to both nodes, also as simultaneous copies. Faults during the run:
# php-fpm workers SIGKILLed in the middle of the notify transaction (soak/cluster-killer.php,
# in a window soak/cluster-faults.sql opens), injected InnoDB deadlocks, MariaDB restarted
# (SIGTERM) and crashed (SIGKILL), the mock's API faults, FAIL answers and lost
# acknowledgements (the mock retries). ≥ 100,000 HTTP requests from soak/driver.php; then the
# order book is reconciled with the mock's paid orders (each applied exactly once, amounts
# equal) and the figures go to soak/results/cluster-latest.json.
#
#   bash soak/cluster.sh                      # build (release), install packages if root, run
#   SOAK_REQUESTS=5000 bash soak/cluster.sh   # a short run
#
# Environment: SOAK_REQUESTS (100000) SOAK_CONCURRENCY (12) SOAK_MAX_SECONDS (2400)
# SOAK_NO_BUILD=1 SOAK_PROFILE=debug (a quick check of the harness) SOAK_KEEP=1 SOAK_RESULTS (soak/results/cluster-latest.json).
# MariaDB runs from a temp dir (mariadb-install-db, then mariadbd under a supervisor that
# restarts it), as the `mysql` user when run as root; loopback only. Everything it starts runs
# in its own session and is stopped on exit (trap), also on failure or Ctrl-C. The load
# generator runs at nice 19, the servers at nice 10.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOAK_NAME=soak-cluster
# shellcheck source=lib.sh
source "$ROOT/soak/lib.sh"
REQUESTS=${SOAK_REQUESTS:-100000}
CONCURRENCY=${SOAK_CONCURRENCY:-12}
MAX_SECONDS=${SOAK_MAX_SECONDS:-2400}
RESULTS=${SOAK_RESULTS:-$ROOT/soak/results/cluster-latest.json}
NODES=(a b)
WORKERS_PER_NODE=4
WORKERS=$((${#NODES[@]} * WORKERS_PER_NODE))

soak_packages "${SOAK_WEB_PACKAGES[@]}" "php$PHP_VERSION-mysql" mariadb-server mariadb-client
soak_web_binaries
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
command -v mariadb-install-db >/dev/null && command -v mariadb >/dev/null && [[ -x "$MARIADBD" ]] \
  || die "mariadb-install-db, mariadb or mariadbd not found (packages mariadb-server, mariadb-client)"
soak_init wxpay-soak-cluster
soak_build
mkdir -p "$TMP/spool"

# --- MariaDB ----------------------------------------------------------------------------------
DB_DIR=$TMP/db
DB_PORT=$(soak_free_port)
DB_USER_ARGS=()
mkdir -p "$DB_DIR"
if [[ $(id -u) == 0 ]]; then
  id mysql >/dev/null 2>&1 || die "no 'mysql' user (the mariadb-server package creates it)"
  DB_USER_ARGS=(--user=mysql) # mariadbd refuses to run as root
fi
secret() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
SHOP_DB_PASSWORD=$(secret)
KILLER_DB_PASSWORD=$(secret)
cat >"$DB_DIR/my.cnf" <<EOF
[mariadbd]
datadir = $DB_DIR/data
socket = $DB_DIR/mysqld.sock
pid-file = $DB_DIR/mysqld.pid
log-error = $DB_DIR/mysqld.err
bind-address = 127.0.0.1
port = $DB_PORT
skip-name-resolve
innodb_buffer_pool_size = 128M
innodb_log_file_size = 48M
# Durable commits (the default): a crashed mariadbd must keep every acknowledged payment.
innodb_flush_log_at_trx_commit = 1
max_connections = 200
performance_schema = OFF
EOF
# Runs at every start (idempotent): the shop's account (TCP from the nodes, the socket for the
# driver) and the killer's, which only needs to see the process list and soak_window.
cat >"$DB_DIR/init.sql" <<EOF
CREATE DATABASE IF NOT EXISTS shop;
CREATE USER IF NOT EXISTS 'shop'@'127.0.0.1' IDENTIFIED BY '$SHOP_DB_PASSWORD';
CREATE USER IF NOT EXISTS 'shop'@'localhost' IDENTIFIED BY '$SHOP_DB_PASSWORD';
GRANT ALL ON shop.* TO 'shop'@'127.0.0.1', 'shop'@'localhost';
CREATE USER IF NOT EXISTS 'killer'@'localhost' IDENTIFIED BY '$KILLER_DB_PASSWORD';
GRANT PROCESS ON *.* TO 'killer'@'localhost';
GRANT SELECT ON shop.* TO 'killer'@'localhost';
EOF
cat >"$DB_DIR/shop-client.cnf" <<EOF
[client]
user = shop
password = $SHOP_DB_PASSWORD
socket = $DB_DIR/mysqld.sock
EOF
chmod 600 "$DB_DIR"/*.cnf "$DB_DIR/init.sql"
[[ ${#DB_USER_ARGS[@]} == 0 ]] || chown -R mysql: "$DB_DIR"
mariadb-install-db --defaults-file="$DB_DIR/my.cnf" "${DB_USER_ARGS[@]}" --auth-root-authentication-method=socket \
  --skip-test-db >"$TMP/mariadb-install.log" 2>&1 || { tail -n 20 "$TMP/mariadb-install.log" >&2; die "mariadb-install-db failed"; }

# db_supervise: mariadbd, started again whenever it exits (the driver's restart and crash
# phases), until $DB_DIR/stop exists. Each exit is a line in $DB_DIR/exits.log.
db_supervise() {
  local rc
  while :; do
    nice -n 10 "$MARIADBD" --defaults-file="$DB_DIR/my.cnf" "${DB_USER_ARGS[@]}" --init-file="$DB_DIR/init.sql"
    rc=$?
    [[ -e "$DB_DIR/stop" ]] && exit 0
    echo "$(date +%s.%N) $rc" >>"$DB_DIR/exits.log"
    sleep 0.5
  done
}
export DB_DIR MARIADBD
SOAK_STOP_HOOKS+=('touch "$DB_DIR/stop"')
soak_start mariadb bash -c "DB_USER_ARGS=(${DB_USER_ARGS[*]}); $(declare -f db_supervise); db_supervise"
db_ready() {
  for _ in $(seq 300); do
    mariadb --defaults-file="$DB_DIR/shop-client.cnf" -e 'SELECT 1' shop >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 20 "$DB_DIR/mysqld.err" >&2
  die "MariaDB did not answer within 30 s"
}
db_ready
SHOP_DSN="mysql:host=127.0.0.1;port=$DB_PORT;dbname=shop"
WXPAY_SHOP_DSN=$SHOP_DSN WXPAY_SHOP_DB_USER=shop WXPAY_SHOP_DB_PASSWORD=$SHOP_DB_PASSWORD \
  php -d extension="$EXT" -r 'require $argv[1]; WxPayExample\Shop::createSchema(WxPayExample\Shop::dbFromEnv());' \
  "$ROOT/examples/lib/Shop.php"
mariadb --defaults-file="$DB_DIR/shop-client.cnf" shop <"$ROOT/soak/cluster-faults.sql"
log "MariaDB $(mariadb --defaults-file="$DB_DIR/shop-client.cnf" -N -e 'SELECT VERSION()') on 127.0.0.1:$DB_PORT ($DB_DIR)"

# --- wxpay-mock, two php-fpm nodes, nginx ----------------------------------------------------
soak_start_mock 10
PORT=$(soak_free_port)
SHOP=http://127.0.0.1:$PORT
FPM_MASTERS=()
upstream=""
for node in "${NODES[@]}"; do
  soak_start_fpm "$node" "$WORKERS_PER_NODE" 10 "env[WXPAY_SHOP_DSN] = \"$SHOP_DSN\"
env[WXPAY_SHOP_DB_USER] = shop
env[WXPAY_SHOP_DB_PASSWORD] = $SHOP_DB_PASSWORD
env[SOAK_SPOOL_RATE] = 0.01
env[SOAK_NOTIFY_LOSE_RATE] = 0.05"
  FPM_MASTERS+=("$STARTED")
  # max_fails=0: a worker killed mid-request is one of four, not a dead node; traffic keeps
  # going to both nodes.
  upstream+="server unix:$TMP/php-fpm-$node.sock max_fails=0; "
done
soak_start_nginx "$upstream"
log "nginx $SHOP → php-fpm nodes ${NODES[*]} (masters ${FPM_MASTERS[*]}, $WORKERS_PER_NODE workers each) → MariaDB, wxpay-mock"
for _ in $(seq 50); do [[ $(soak_workers | wc -l) == "$WORKERS" ]] && break; sleep 0.1; done
soak_rss_start
[[ $(wc -w <<<"$WORKERS_START") == "$WORKERS" ]] || die "expected $WORKERS workers, got: $WORKERS_START"

# --- the killer --------------------------------------------------------------------------------
php -r 'echo json_encode(["socket" => $argv[1], "user" => "killer", "password" => $argv[2],
  "db_port" => (int) $argv[3], "masters" => array_slice($argv, 5), "out" => $argv[4]]);' \
  "$DB_DIR/mysqld.sock" "$KILLER_DB_PASSWORD" "$DB_PORT" "$TMP/killer.log" "${FPM_MASTERS[@]}" >"$TMP/killer.json"
chmod 600 "$TMP/killer.json"
soak_start killer nice -n 10 php "$ROOT/soak/cluster-killer.php" "$TMP/killer.json"

# --- the run ----------------------------------------------------------------------------------
rates() { printf '"UPDATE soak_fault SET crash_window_rate = %s, deadlock_rate = %s WHERE id = 1"' "$1" "$2"; }
db_kill() { printf '{"pid_file": "%s", "signal": "%s"}' "$DB_DIR/mysqld.pid" "$1"; }
cat >"$TMP/driver.json" <<EOF
{
  "shop": "$SHOP", "control": "$WXPAY_BACKUP_URL", "ca": "$WXPAY_CA_PATH",
  "dsn": "mysql:unix_socket=$DB_DIR/mysqld.sock;dbname=shop", "db_user": "shop", "db_password": "$SHOP_DB_PASSWORD",
  "spool": "$TMP/spool", "out": "$TMP/driver-report.json",
  "requests": $REQUESTS, "concurrency": $CONCURRENCY, "max_seconds": $MAX_SECONDS,
  "pay_rate": 0.9, "replay_copies": 3,
  "phases": [
    {"from": 0.00, "name": "clean", "faults": {}},
    {"from": 0.05, "name": "notify-copies-x3", "faults": {"notify_copies": 3}},
    {"from": 0.15, "name": "worker-kills", "faults": {"notify_copies": 2}, "sql": [$(rates 0.02 0)]},
    {"from": 0.30, "name": "deadlocks", "faults": {}, "sql": [$(rates 0 0.1)]},
    {"from": 0.40, "name": "mariadb-restart", "faults": {}, "sql": [$(rates 0 0)], "kill": $(db_kill TERM)},
    {"from": 0.46, "name": "api-faults", "faults": {"latency_ms": 5, "system_error_rate": 0.03, "drop_rate": 0.02}},
    {"from": 0.58, "name": "mariadb-crash", "faults": {"notify_copies": 2}, "kill": $(db_kill KILL)},
    {"from": 0.64, "name": "everything", "faults": {"notify_copies": 3, "system_error_rate": 0.02}, "sql": [$(rates 0.01 0.05)]},
    {"from": 0.82, "name": "primary-down", "faults": {"primary_down": true}, "sql": [$(rates 0 0)]},
    {"from": 0.88, "name": "bad-sign-x20", "faults": {"bad_sign": true, "count": 20}},
    {"from": 0.90, "name": "clean-2", "faults": {}}
  ]
}
EOF
chmod 600 "$TMP/driver.json"
soak_drive 19
# What report.php needs besides the driver's report: the order book (MariaDB is still up) and
# the logs of the killer and the supervisor. The password (alphanumeric) stays in $TMP.
cat >"$TMP/cluster.json" <<EOF
{"dsn": "mysql:unix_socket=$DB_DIR/mysqld.sock;dbname=shop", "db_user": "shop", "db_password": "$SHOP_DB_PASSWORD",
 "killer_log": "$TMP/killer.log", "db_exits_log": "$DB_DIR/exits.log", "mariadb_error_log": "$DB_DIR/mysqld.err",
 "nodes": $(php -r 'echo json_encode(array_slice($argv, 1));' "${NODES[@]}")}
EOF
chmod 600 "$TMP/cluster.json"
soak_finish cluster
