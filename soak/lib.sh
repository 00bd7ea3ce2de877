# The loopback harness of make soak (soak/run.sh), make soak-cluster (soak/cluster.sh) and
# make bench-fpm (bench/fpm/run.sh), sourced: packages, the build, the temp dir, wxpay-mock,
# php-fpm nodes, nginx; for the soaks also RSS samples, the driver and the report. Everything
# started runs in its own session (setsid) and is stopped on exit (trap), also on failure or
# Ctrl-C. Nothing under /etc is written.
#
# The caller sets SOAK_NAME (log prefix) and ROOT, then calls soak_init.

SOAK_PIDS=()      # session leaders, stopped in reverse order
SOAK_STOP_HOOKS=() # commands run first on exit (e.g. ask a supervisor not to restart)
TMP=""
SAMPLER=""
DRIVER=""
PHP_VERSION=$(${PHP:-php} -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')

log() { printf '[%s %s] %s\n' "$SOAK_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

soak_cleanup() {
  local rc=$? pid hook i
  trap - EXIT INT TERM
  for hook in "${SOAK_STOP_HOOKS[@]}"; do eval "$hook" || true; done
  [[ -n "$SAMPLER" ]] && kill "$SAMPLER" 2>/dev/null || true
  [[ -n "$DRIVER" ]] && kill "$DRIVER" 2>/dev/null || true
  for ((i = ${#SOAK_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${SOAK_PIDS[i]}
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  # Until the whole process group is gone (a database shuts down after its supervisor),
  # then SIGKILL what is left after 15 s.
  for pid in "${SOAK_PIDS[@]}"; do
    for _ in $(seq 150); do kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$TMP" && -d "$TMP" ]]; then
    if [[ -n "${SOAK_KEEP:-}" ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}

# soak_init PREFIX: traps, and the temp dir (on tmpfs when there is one: the disk is shared).
soak_init() {
  trap soak_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local base=/tmp
  [[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
  TMP=$(mktemp -d "$base/$1.XXXXXX")
  chmod 755 "$TMP"
}

# soak_start NAME COMMAND…: COMMAND in its own session, output to $TMP/NAME.out; sets STARTED.
soak_start() {
  local name=$1
  shift
  setsid "$@" >>"$TMP/$name.out" 2>&1 &
  STARTED=$!
  SOAK_PIDS+=("$STARTED")
}

# soak_packages PACKAGE…: installs the missing ones as root (apt-get), else prints the command.
soak_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "missing packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  log "installing ${missing[*]}"
  apt-get update -qq
  # Where policy-rc.d forbids it (containers) the packages' own services are not started; on
  # a systemd host they are, and the soak never uses them (own configs, sockets and ports).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The web tier both soaks need: the running PHP's fpm, sqlite3 and curl, and nginx.
SOAK_WEB_PACKAGES=("php$PHP_VERSION-cli" "php$PHP_VERSION-fpm" "php$PHP_VERSION-sqlite3" "php$PHP_VERSION-curl" nginx)

soak_web_binaries() {
  FPM=$(command -v "php-fpm$PHP_VERSION" || echo "/usr/sbin/php-fpm$PHP_VERSION")
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x "$FPM" && -x "$NGINX" ]] || die "php-fpm$PHP_VERSION or nginx not found"
}

# soak_build: the release build (unless SOAK_NO_BUILD=1; SOAK_PROFILE=debug takes the debug
# build, for a quick check of the harness itself), copied into $TMP so that a concurrent
# cargo build cannot swap it under the running workers. Sets EXT and MOCK_BIN.
soak_build() {
  local profile=${SOAK_PROFILE:-release}
  [[ $profile == release || $profile == debug ]] || die "SOAK_PROFILE must be release or debug, got $profile"
  if [[ -z "${SOAK_NO_BUILD:-}" ]]; then
    log "cargo build ($profile, niced)"
    (cd "$ROOT" && nice -n 10 cargo build --workspace $([[ $profile == release ]] && echo --release) --quiet)
  fi
  local ext_src=$ROOT/target/$profile/libwxpay.so mock_src=$ROOT/target/$profile/wxpay-mock
  [[ -f "$ext_src" && -x "$mock_src" ]] || die "$profile build missing ($ext_src, $mock_src)"
  cp "$ext_src" "$TMP/libwxpay.so"
  cp "$mock_src" "$TMP/wxpay-mock"
  EXT=$TMP/libwxpay.so
  MOCK_BIN=$TMP/wxpay-mock
  log "temp dir $TMP; extension $(sha256sum "$EXT" | cut -c1-16) from $ext_src ($(stat -c %y "$ext_src" | cut -d. -f1))"
}

soak_free_port() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1), "\n";'
}

# soak_start_mock NICE: wxpay-mock with TLS, a backup listener and time scale 1000; exports
# the WXPAY_* of its ready line and WXPAY_BACKUP_URL.
soak_start_mock() {
  mkdir -p "$TMP/mock"
  setsid nice -n "$1" "$MOCK_BIN" --tls --listen 127.0.0.1:0 --backup-listen 127.0.0.1:0 \
    --time-scale 1000 --state-dir "$TMP/mock" >"$TMP/mock.ready" 2>"$TMP/mock.log" &
  SOAK_PIDS+=("$!")
  for _ in $(seq 200); do grep -q '"event":"ready"' "$TMP/mock.ready" 2>/dev/null && break; sleep 0.05; done
  grep -q '"event":"ready"' "$TMP/mock.ready" || { cat "$TMP/mock.log" >&2; die "wxpay-mock not ready"; }
  eval "$(php "$ROOT/examples/lib/mock-env.php" "$TMP/mock.ready")"
  WXPAY_BACKUP_URL=$(php -r 'echo json_decode(strtok(file_get_contents($argv[1]), "\n"), true)["backup_url"];' "$TMP/mock.ready")
  [[ -n "$WXPAY_BACKUP_URL" ]] || die "the mock has no backup_url"
  log "wxpay-mock $WXPAY_BASE_URL (backup $WXPAY_BACKUP_URL)"
}

# soak_start_fpm NODE WORKERS NICE POOL_LINES: one php-fpm master (a "node") with its own
# config, pid, socket $TMP/php-fpm-NODE.sock and logs; pm = static, never recycled; the
# extension loaded in the master (MINIT, then fork). POOL_LINES: extra pool settings, such as
# `env[K] = V` lines. Needs SHOP (the notify base). Sets STARTED to the master's pid.
soak_start_fpm() {
  local node=$1 workers=$2 nice=$3 pool_lines=$4
  cat >"$TMP/php-fpm-$node.conf" <<EOF
[global]
pid = $TMP/php-fpm-$node.pid
error_log = $TMP/php-fpm-$node.log
log_level = notice
daemonize = no
process_control_timeout = 5s

[node-$node]
; The harness runs as root (-R); a real deployment uses its own user.
user = root
group = root
listen = $TMP/php-fpm-$node.sock
listen.mode = 0666
listen.backlog = 511
pm = static
pm.max_children = $workers
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
env[SOAK_SPOOL] = $TMP/spool
$pool_lines
EOF
  chmod 600 "$TMP/php-fpm-$node.conf"
  "$FPM" -t -R -y "$TMP/php-fpm-$node.conf" -p "$TMP" -d extension="$EXT" 2>"$TMP/fpm-test.log" \
    || { cat "$TMP/fpm-test.log" >&2; die "php-fpm config test failed (node $node)"; }
  soak_start "php-fpm-$node" nice -n "$nice" "$FPM" -F -R -y "$TMP/php-fpm-$node.conf" -p "$TMP" -d extension="$EXT"
}

# soak_start_nginx UPSTREAM_SERVERS [SERVER_LINES PROBE_PATH]: nginx on $PORT, loopback only,
# own config, pid, logs and temp paths, PHP behind `upstream fpm { UPSTREAM_SERVERS }`.
# SERVER_LINES (the server block after `listen`) default to the shop's: /notify/* to
# soak/www/notify.php, the rest to soak/www/shop.php. Waits until $SHOP PROBE_PATH (default /)
# answers 2xx.
soak_start_nginx() {
  local server_lines=${2:-"location /notify/ {
      if (\$notify_refuse) { return 503; }
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $ROOT/soak/www/notify.php;
      fastcgi_pass fpm;
    }
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $ROOT/soak/www/shop.php;
      fastcgi_pass fpm;
    }"} probe=$SHOP${3:-/}
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 2048; }
http {
  log_format soak '\$msec \$status \$request_method \$uri \$request_time \$upstream_status \$upstream_addr';
  access_log $TMP/nginx-access.log soak buffer=256k flush=2s;
  client_body_temp_path $TMP/nginx/body;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  proxy_temp_path $TMP/nginx/proxy;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 100000;
  # No upstream keepalive / fastcgi_keep_conn: an fpm worker bound to an idle kept
  # connection stops accepting, and with pm = static a 5th connection starves in the backlog.
  upstream fpm { $1 }
  # WeChat-side failures before the endpoint: 3 % of the mock's notify deliveries get 503
  # (never reaching PHP), so the mock retries on its schedule. Driver replays are exempt.
  split_clients "\${request_id}" \$notify_drop { 3% "1"; * ""; }
  map "\$notify_drop:\$http_x_soak_replay" \$notify_refuse { "1:" 1; default 0; }
  server {
    listen 127.0.0.1:$PORT;
    $server_lines
  }
}
EOF
  "$NGINX" -t -q -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -p "$TMP" || die "nginx config test failed"
  soak_start nginx "$NGINX" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -p "$TMP" -g 'daemon off;'
  for _ in $(seq 100); do curl -sf -o /dev/null "$probe" && break; sleep 0.1; done
  curl -sf -o /dev/null "$probe" || { tail -n 20 "$TMP"/php-fpm-*.log "$TMP"/nginx-error.log >&2; die "no answer from $probe"; }
}

# The fpm workers of the masters in FPM_MASTERS, by pid.
soak_workers() {
  local master
  for master in "${FPM_MASTERS[@]}"; do pgrep -P "$master"; done | sort -n
}

soak_rss_line() {
  local pid out=""
  for pid in $(soak_workers); do
    out+=" $pid:$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo gone)"
  done
  echo "$(date +%s)$out"
}

# Worker RSS at start, every 15 s (in the background), and at the end (soak_finish).
soak_rss_start() {
  WORKERS_START=$(soak_workers | tr '\n' ' ')
  soak_rss_line >"$TMP/rss.log"
  log "workers at start (pid:VmRSS kB): $(tail -n1 "$TMP/rss.log" | cut -d' ' -f2-)"
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 15 &
      nap=$!
      wait "$nap"
      soak_rss_line >>"$TMP/rss.log"
    done
  ) &
  SAMPLER=$!
}

# soak_drive NICE: soak/driver.php with $TMP/driver.json; sets DRIVER_RC.
soak_drive() {
  log "driving $REQUESTS shop requests, concurrency $CONCURRENCY (bounded to ${MAX_SECONDS}s)"
  # In the background, so that a signal to this script runs its trap at once (bash runs
  # traps only between foreground commands); the trap stops the driver too.
  nice -n "$1" php "$ROOT/soak/driver.php" "$TMP/driver.json" 2> >(tee "$TMP/driver.log" >&2) &
  DRIVER=$!
  DRIVER_RC=0
  wait "$DRIVER" || DRIVER_RC=$?
  DRIVER=""
}

# soak_finish KIND: the last RSS sample, then soak/report.php (figures, checks, the JSON in
# $RESULTS) with $TMP/run.json; exits non-zero unless the verdict is PASS and the driver passed.
soak_finish() {
  sleep 3 # nginx flushes its access log every 2 s
  soak_rss_line >>"$TMP/rss.log"
  [[ -f "$TMP/driver-report.json" ]] || die "the driver wrote no report (rc $DRIVER_RC)"
  mkdir -p "$(dirname "$RESULTS")"
  php -r 'echo json_encode(["kind" => $argv[1], "workers" => (int) $argv[2],
      "workers_start" => trim($argv[3]), "workers_end" => trim($argv[4])]);' \
    "$1" "$WORKERS" "$WORKERS_START" "$(soak_workers | tr '\n' ' ')" >"$TMP/run.json"
  php "$ROOT/soak/report.php" "$TMP" "$RESULTS" || true
  cat "$TMP"/php-fpm-*.log >"$(dirname "$RESULTS")/$1-fpm-latest.log" 2>/dev/null || true
  tail -n 50 "$TMP/php-errors.log" >"$(dirname "$RESULTS")/$1-php-errors-latest.log" 2>/dev/null || true
  local verdict
  verdict=$(php -r '$r = json_decode(file_get_contents($argv[1]), true); echo $r["verdict"] ?? "FAIL";' "$RESULTS")
  log "verdict: $verdict (driver exit $DRIVER_RC); results in $RESULTS"
  [[ "$verdict" == PASS && $DRIVER_RC == 0 ]]
}
