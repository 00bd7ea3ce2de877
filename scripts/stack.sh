# shellcheck shell=bash
# The loopback stack that make soak and make bench-fpm run: wxpay-mock, php-fpm, nginx, each
# in its own session, in a private temp dir, stopped on exit (also on failure or Ctrl-C).
# Sourced; the caller sets STACK_NAME (the log prefix) and STACK_KEEP (non-empty: keep the
# temp dir), and may set STACK_ON_EXIT to a command run first when stopping.

PIDS=()
TMP=""
STACK_ON_EXIT=${STACK_ON_EXIT:-}

log() { printf '[%s %s] %s\n' "$STACK_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

stack_cleanup() {
  local rc=$? pid i
  trap - EXIT INT TERM
  [[ -n "$STACK_ON_EXIT" ]] && { eval "$STACK_ON_EXIT" || true; }
  # Stop in reverse start order (nginx, php-fpm, mock): each is a session leader (setsid).
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
    if [[ -n "${STACK_KEEP:-}" ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}
trap stack_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stack_packages PACKAGE…: installs the missing ones (as root; otherwise says what to run).
stack_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "missing packages; run: sudo apt-get install -y ${missing[*]}"
  log "installing ${missing[*]}"
  apt-get update -qq
  # policy-rc.d / no systemd: the packages' own services are not started (and never used).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# stack_tmp: the private temp dir, on tmpfs when there is one (SQLite fsyncs there, not on
# the shared disk).
stack_tmp() {
  local base=/tmp
  [[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
  TMP=$(mktemp -d "$base/wxpay-$STACK_NAME.XXXXXX")
  chmod 755 "$TMP"
}

# stack_mock BINARY ARG…: starts wxpay-mock over TLS on loopback with the given arguments and
# exports its WXPAY_* environment (examples/lib/mock-env.php).
stack_mock() {
  local bin=$1
  shift
  mkdir -p "$TMP/mock"
  setsid nice -n "${STACK_NICE:-0}" "$bin" --tls --listen 127.0.0.1:0 --state-dir "$TMP/mock" "$@" >"$TMP/mock.ready" 2>"$TMP/mock.log" &
  PIDS+=("$!")
  for _ in $(seq 200); do grep -q '"event":"ready"' "$TMP/mock.ready" 2>/dev/null && break; sleep 0.05; done
  grep -q '"event":"ready"' "$TMP/mock.ready" || { cat "$TMP/mock.log" >&2; die "wxpay-mock not ready"; }
  eval "$(php "$STACK_ROOT/examples/lib/mock-env.php" "$TMP/mock.ready")"
}

stack_free_port() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1), "\n";'
}

# stack_fpm FPM EXT: checks and starts php-fpm with $TMP/php-fpm.conf, the extension loaded
# in the master (module start there, then fork); sets FPM_PID.
stack_fpm() {
  "$1" -t -R -y "$TMP/php-fpm.conf" -p "$TMP" -d extension="$2" 2>"$TMP/fpm-test.log" \
    || { cat "$TMP/fpm-test.log" >&2; die "php-fpm config test failed"; }
  setsid nice -n "${STACK_NICE:-0}" "$1" -F -R -y "$TMP/php-fpm.conf" -p "$TMP" -d extension="$2" >>"$TMP/php-fpm.out" 2>&1 &
  FPM_PID=$!
  PIDS+=("$FPM_PID")
}

# stack_nginx NGINX: checks and starts nginx with $TMP/nginx.conf.
stack_nginx() {
  "$1" -t -q -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -p "$TMP" || die "nginx config test failed"
  setsid "$1" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -p "$TMP" -g 'daemon off;' >>"$TMP/nginx.out" 2>&1 &
  PIDS+=("$!")
}

# stack_servers PHP_VERSION: sets FPM and NGINX to the installed binaries.
stack_servers() {
  FPM=$(command -v "php-fpm$1" || echo "/usr/sbin/php-fpm$1")
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x "$FPM" && -x "$NGINX" ]] || die "php-fpm$1 or nginx not found"
}

# stack_fpm_conf POOL WORKERS: writes $TMP/php-fpm.conf up to the pool's common settings
# (static workers, a socket in $TMP, errors to $TMP/php-errors.log, the mock's merchant in
# the environment); the caller appends the rest of the pool (timeouts, env[…], …).
stack_fpm_conf() {
  cat >"$TMP/php-fpm.conf" <<CONF
[global]
pid = $TMP/php-fpm.pid
error_log = $TMP/php-fpm.log
log_level = notice
daemonize = no
process_control_timeout = 5s

[$1]
; The harness runs as root (-R); a real deployment uses its own user.
user = root
group = root
listen = $TMP/php-fpm.sock
listen.mode = 0666
listen.backlog = 511
pm = static
pm.max_children = $2
pm.max_requests = 0
clear_env = yes
php_admin_value[error_log] = $TMP/php-errors.log
php_admin_flag[log_errors] = on
php_admin_value[display_errors] = off
env[WXPAY_APPID] = $WXPAY_APPID
env[WXPAY_MCH_ID] = $WXPAY_MCH_ID
env[WXPAY_KEY] = $WXPAY_KEY
env[WXPAY_BASE_URL] = $WXPAY_BASE_URL
env[WXPAY_CA_PATH] = $WXPAY_CA_PATH
CONF
}

# stack_nginx_head: prints the start of an nginx.conf for $TMP (one worker, its pid, logs
# and temp paths there, the fpm upstream); the caller writes the rest of the http block.
stack_nginx_head() {
  cat <<CONF
user root;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 2048; }
http {
  client_body_temp_path $TMP/nginx/body;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  proxy_temp_path $TMP/nginx/proxy;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 100000;
  # No upstream keepalive / fastcgi_keep_conn: an fpm worker bound to an idle kept
  # connection stops accepting, and with pm = static a 5th connection starves in the backlog.
  upstream fpm { server unix:$TMP/php-fpm.sock; }
CONF
}
