#!/usr/bin/env bash
# The whole payment life cycle against wxpay-mock with nothing but curl (and PHP's md5 for
# the signature): order → pay → notify (retried until acknowledged) → refund → refund notify
# → bill. Shows how any WeChat Pay v2 client talks to the mock.
# Usage: crates/wxpay-mock/scripts/curl-walkthrough.sh [path/to/wxpay-mock]
set -euo pipefail
MOCK=${1:-target/debug/wxpay-mock}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

# A notify receiver that refuses the first delivery of each notify, then acknowledges.
cat > "$dir/receiver.php" <<'PHP'
<?php
$log = getenv('RECEIVER_DIR') . '/' . trim($_SERVER['REQUEST_URI'], '/') . '.count';
$n = (int) @file_get_contents($log) + 1;
file_put_contents($log, (string) $n);
echo $n === 1
    ? '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[busy]]></return_msg></xml>'
    : '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
PHP
RECEIVER_DIR=$dir php -S 127.0.0.1:18099 "$dir/receiver.php" >/dev/null 2>&1 & pids+=($!)

"$MOCK" --tls --listen 127.0.0.1:0 --state-dir "$dir/state" --time-scale 1000 >"$dir/ready" 2>"$dir/mock.log" & pids+=($!)
for _ in $(seq 100); do [ -s "$dir/ready" ] && break; sleep 0.1; done
ready=$(head -1 "$dir/ready")
field() { php -r 'echo json_decode($argv[1], true)[$argv[2]];' "$ready" "$1"; }
URL=$(field url); CA=$(field ca_path); CERT=$(field cert_path); CKEY=$(field key_path)
APPID=$(field appid); MCH=$(field mch_id); KEY=$(field key)

# Sign (MD5: sorted k=v&…&key=KEY, uppercase hex) and wrap a request as XML.
signed_xml() {
  php -r '
    parse_str($argv[1], $p); ksort($p, SORT_STRING);
    $s = ""; foreach ($p as $k => $v) { if ($v !== "") { $s .= "$k=$v&"; } }
    $p["sign"] = strtoupper(md5($s . "key=" . $argv[2]));
    echo "<xml>"; foreach ($p as $k => $v) { echo "<$k><![CDATA[$v]]></$k>"; } echo "</xml>";
  ' "$1" "$KEY"
}
show() { printf '\n$ %s\n' "$*"; }
post() {  # path, query-string params, extra curl args…
  local path=$1 params=$2; shift 2
  show curl -s --cacert ca.pem "$@" -d "<signed xml: $params>" "$URL$path"
  curl -s --cacert "$CA" "$@" -d "$(signed_xml "appid=$APPID&mch_id=$MCH&nonce_str=n$RANDOM&$params")" "$URL$path"
  echo
}
NO=CURL$(date +%s)

post /pay/unifiedorder "body=curl demo&out_trade_no=$NO&total_fee=88&spbill_create_ip=127.0.0.1&notify_url=http://127.0.0.1:18099/pay&trade_type=NATIVE&product_id=sku-1"
show curl -s --cacert ca.pem -X POST "$URL/mock/orders/$NO/pay"
curl -s --cacert "$CA" -X POST "$URL/mock/orders/$NO/pay"; echo
sleep 1
show curl -s --cacert ca.pem "$URL/mock/notifies"
curl -s --cacert "$CA" "$URL/mock/notifies"; echo
post /pay/orderquery "out_trade_no=$NO"
post /secapi/pay/refund "out_trade_no=$NO&out_refund_no=R$NO&total_fee=88&refund_fee=88&notify_url=http://127.0.0.1:18099/refund"
post /secapi/pay/refund "out_trade_no=$NO&out_refund_no=R$NO&total_fee=88&refund_fee=88&notify_url=http://127.0.0.1:18099/refund" --cert "$CERT" --key "$CKEY"
sleep 1.5
show curl -s --cacert ca.pem "$URL/mock/notifies"
curl -s --cacert "$CA" "$URL/mock/notifies"; echo
post /pay/downloadbill "bill_date=$(TZ=Asia/Shanghai date +%Y%m%d)&bill_type=ALL"
