#!/usr/bin/env bash
# make shop: the example web shop on php -S with wxpay-mock as WeChat Pay.
#   WXPAY_EXT=target/debug/libwxpay.so WXPAY_MOCK_BIN=target/debug/wxpay-mock bash examples/shop.sh [--check]
# Without --check it prints the URLs and runs until Ctrl-C (SHOP_PORT picks the port).
# --check drives one purchase end to end with curl and exits 0 when the order is paid.
set -euo pipefail

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

WX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$WX_DIR/lib/common.sh"
wx_init
command -v curl >/dev/null || wx_die "curl is needed"

wx_start_mock --time-scale 1000
port=${SHOP_PORT:-$(wx_free_port)}
shop="http://127.0.0.1:$port"
export WXPAY_NOTIFY_BASE="$shop"
export WXPAY_MOCK_CONTROL=1
wx_order_book "$WX_TMP/shop.sqlite"
wx_start_php_server "$port" "$WX_DIR/shop/index.php" "$WX_TMP/shop.log"

if ((check == 0)); then
  cat <<INFO

  wxpay example shop      $shop/
  WeChat Pay (wxpay-mock) $WXPAY_BASE_URL
  the payer's page        $WXPAY_BASE_URL/mock/   (HTTPS with the mock's own CA: $WXPAY_CA_PATH)
  notify endpoints        $shop/notify/pay  $shop/notify/refund
  order book              ${WXPAY_SHOP_DSN:-$WXPAY_DB}

  Buy something, then pay on the QR page ("simulate the payer") or on the mock's page.
  Ctrl-C stops the shop and the mock.

INFO
  setsid tail -n +1 -f "$WX_TMP/shop.log" &
  WX_PIDS+=("$!")
  # Runs until Ctrl-C (the trap stops everything) or until the mock or the shop dies.
  wait -n "${WX_PIDS[@]}" || true
  echo "the mock or the shop stopped; shutting down" >&2
  exit 1
fi

# --check: one purchase, end to end.
fail() {
  echo "shop check FAILED: $*" >&2
  echo "--- shop log ---" >&2
  tail -n 40 "$WX_TMP/shop.log" >&2 || true
  echo "--- wxpay-mock log ---" >&2
  tail -n 40 "$WX_TMP/mock.log" >&2 || true
  exit 1
}
get() { curl -sS --max-time 10 "$@"; }

echo "shop check: $shop"
page=$(get "$shop/") || fail "GET / failed"
grep -q 'Pay by QR code' <<<"$page" || fail "the product page has no order button"

location=$(get -o /dev/null -w '%{redirect_url}' -X POST -d sku=flat-white -d mode=native "$shop/order")
[[ "$location" == "$shop/pay?o="* ]] || fail "POST /order did not redirect to the QR page (got '$location')"
order=${location#"$shop/pay?o="}
echo "  order $order created (unifiedOrder NATIVE)"

page=$(get "$location") || fail "GET $location failed"
grep -q '<svg' <<<"$page" || fail "the QR page has no SVG"
grep -q "$order" <<<"$page" || fail "the QR page does not name the order"
status=$(get "$shop/status?o=$order") || fail "GET /status failed"
grep -q '"trade_state":"NOTPAY"' <<<"$status" || fail "status is not NOTPAY before paying: $status"
echo "  QR page served (Qr::svg), status NOTPAY (orderQuery)"

get --cacert "$WXPAY_CA_PATH" -X POST -H 'Content-Type: application/json' -d '{}' \
  "$WXPAY_BASE_URL/mock/orders/$order/pay" >/dev/null || fail "the mock refused to pay $order"
echo "  paid through the mock's control API"

status=""
for ((i = 0; i < 100; i++)); do
  status=$(get "$shop/status?o=$order") || fail "GET /status failed"
  if grep -q '"paid":true' <<<"$status" && grep -q '"notified":true' <<<"$status"; then
    break
  fi
  sleep 0.1
done
grep -q '"notified":true' <<<"$status" || fail "no verified payment notify recorded: $status"
grep -q '"paid":true' <<<"$status" || fail "order not paid: $status"
echo "  notify verified and recorded: $status"

page=$(get "$shop/paid?o=$order") || fail "GET /paid failed"
grep -q 'Paid ✓' <<<"$page" || fail "the paid page does not say paid"
echo "  paid page confirms the order"

location=$(get -o /dev/null -w '%{redirect_url}' -X POST -d sku=croissant -d mode=jsapi "$shop/order")
[[ "$location" == "$shop/jsapi?o="* ]] || fail "POST /order (JSAPI) did not redirect to the JSAPI page (got '$location')"
page=$(get "$location") || fail "GET $location failed"
grep -q "WeixinJSBridge.invoke('getBrandWCPayRequest'" <<<"$page" || fail "the JSAPI page has no invoke call"
echo "  JSAPI page prints WeixinJSBridge.invoke (jsapiParams)"

if grep -E 'PHP (Warning|Notice|Deprecated|Fatal)' "$WX_TMP/shop.log" >&2; then
  fail "the shop logged PHP diagnostics"
fi
echo "shop check: OK"
