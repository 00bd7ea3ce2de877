#!/usr/bin/env bash
# make demo: the checkout walk-through against wxpay-mock, then the marketing one (red
# packets and transfers; WXPAY_DEMO_MARKETING=0 skips it).
#   WXPAY_EXT=target/debug/libwxpay.so WXPAY_MOCK_BIN=target/debug/wxpay-mock bash examples/demo.sh
# Starts the mock (HTTPS, notify retries 1000× faster) and the notify endpoint (php -S
# examples/notify.php), runs examples/checkout.php, and stops both, also on failure.
set -euo pipefail

WX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$WX_DIR/lib/common.sh"
wx_init

echo "Starting wxpay-mock…"
wx_start_mock --time-scale 1000
echo "  $WXPAY_BASE_URL (control page $WXPAY_BASE_URL/mock/)"

port=$(wx_free_port)
export WXPAY_NOTIFY_BASE="http://127.0.0.1:$port"
wx_order_book "$WX_TMP/demo.sqlite"
echo "Starting the notify endpoint: php -S 127.0.0.1:$port examples/notify.php"
wx_start_php_server "$port" "$WX_DIR/notify.php" "$WX_TMP/notify.log"

status=0
"${WX_PHP[@]}" "$WX_DIR/checkout.php" || status=$?
if ((status == 0)) && [[ ${WXPAY_DEMO_MARKETING:-1} != 0 ]]; then
  "${WX_PHP[@]}" "$WX_DIR/marketing.php" || status=$?
fi
if ((status != 0)); then
  echo >&2
  echo "--- notify endpoint log ---" >&2
  tail -n 40 "$WX_TMP/notify.log" >&2 || true
  echo "--- wxpay-mock log ---" >&2
  tail -n 40 "$WX_TMP/mock.log" >&2 || true
  echo "demo FAILED (exit $status)" >&2
  exit "$status"
fi
# A PHP warning or notice anywhere in the notify endpoint counts as a failure.
if grep -E 'PHP (Warning|Notice|Deprecated|Fatal)' "$WX_TMP/notify.log" >&2; then
  echo "demo FAILED: the notify endpoint logged PHP diagnostics" >&2
  exit 1
fi
echo "Stopping the notify endpoint and wxpay-mock."
