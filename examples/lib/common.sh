# Shared by demo.sh and shop.sh (sourced): starting and stopping wxpay-mock and php -S, and
# the order book.
# Every process is started in its own session (setsid) and stopped as a group on exit.

WX_PIDS=()
WX_TMP=""

wx_cleanup() {
  local pid
  for pid in "${WX_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${WX_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  WX_PIDS=()
  if [[ -n "$WX_TMP" && -d "$WX_TMP" && -z "${WXPAY_KEEP_TMP:-}" ]]; then
    rm -rf "$WX_TMP"
  fi
}

wx_die() {
  echo "error: $*" >&2
  exit 1
}

wx_init() {
  # From a checkout (make demo) WXPAY_EXT names the fresh build; after installing the
  # php8.x-wxpay and wxpay-mock packages both may be left unset.
  WXPAY_MOCK_BIN=${WXPAY_MOCK_BIN:-$(command -v wxpay-mock || true)}
  [[ -n "$WXPAY_MOCK_BIN" ]] || wx_die "set WXPAY_MOCK_BIN to the wxpay-mock binary, or run make demo"
  [[ -x "$WXPAY_MOCK_BIN" ]] || wx_die "wxpay-mock not found: $WXPAY_MOCK_BIN (cargo build -p wxpay-mock)"
  PHP=${PHP:-php}
  command -v "$PHP" >/dev/null || wx_die "php not found"
  WX_PHP=("$PHP" -d display_errors=stderr -d error_reporting=-1)
  if [[ -n "${WXPAY_EXT:-}" ]]; then
    [[ -f "$WXPAY_EXT" ]] || wx_die "extension not found: $WXPAY_EXT (cargo build -p wxpay)"
    WX_PHP+=(-d "extension=$WXPAY_EXT")
  fi
  "${WX_PHP[@]}" -r 'exit(class_exists("WxPay\\Client") && extension_loaded("pdo_sqlite") && extension_loaded("curl") ? 0 : 1);' \
    || wx_die "php cannot load wxpay (${WXPAY_EXT:-not installed; set WXPAY_EXT}), or pdo_sqlite / curl are missing"
  WX_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wxpay-example.XXXXXX")
  trap wx_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Prints a free TCP port on 127.0.0.1.
wx_free_port() {
  "$PHP" -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1), "\n";'
}

# wx_start_mock [extra flags…]: starts wxpay-mock with TLS and exports WXPAY_* from its ready line.
wx_start_mock() {
  local ready="$WX_TMP/mock.ready" log="$WX_TMP/mock.log" pid i
  mkdir -p "$WX_TMP/mock"
  setsid "$WXPAY_MOCK_BIN" --tls --listen 127.0.0.1:0 --state-dir "$WX_TMP/mock" "$@" >"$ready" 2>"$log" &
  pid=$!
  WX_PIDS+=("$pid")
  for ((i = 0; i < 200; i++)); do
    if grep -q '"event":"ready"' "$ready" 2>/dev/null; then
      eval "$("$PHP" "$WX_DIR/lib/mock-env.php" "$ready")"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; wx_die "wxpay-mock exited before it was ready"; }
    sleep 0.05
  done
  cat "$log" >&2
  wx_die "wxpay-mock printed no ready line within 10 s"
}

# wx_order_book FILE: the order book is the SQLite FILE (exported as WXPAY_DB) unless
# WXPAY_SHOP_DSN names another (mysql:…, with WXPAY_SHOP_DB_USER / WXPAY_SHOP_DB_PASSWORD);
# its tables are created here, once.
wx_order_book() {
  [[ -n "${WXPAY_SHOP_DSN:-}" ]] || export WXPAY_DB="$1"
  "${WX_PHP[@]}" -r 'require $argv[1]; WxPayExample\Shop::createSchema(WxPayExample\Shop::dbFromEnv());' \
    "$WX_DIR/lib/Shop.php"
}

# wx_start_php_server PORT ROUTER LOG: php -S with the extension, several workers (WeChat
# may deliver a notify concurrently), the WXPAY_* environment.
wx_start_php_server() {
  local port=$1 router=$2 log=$3 pid i
  PHP_CLI_SERVER_WORKERS=${PHP_CLI_SERVER_WORKERS:-4} setsid "${WX_PHP[@]}" -S "127.0.0.1:$port" "$router" >"$log" 2>&1 &
  pid=$!
  WX_PIDS+=("$pid")
  for ((i = 0; i < 200; i++)); do
    if "$PHP" -r 'exit(@fsockopen("127.0.0.1", (int) $argv[1]) ? 0 : 1);' "$port" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; wx_die "php -S on port $port exited"; }
    sleep 0.05
  done
  cat "$log" >&2
  wx_die "php -S did not listen on port $port within 10 s"
}
