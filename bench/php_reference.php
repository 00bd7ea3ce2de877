<?php

/**
 * The hand-written PHP that shops use today (the article's way): ksort + loop + md5 +
 * strtoupper; SimpleXML with LIBXML_NOCDATA and a json round trip. It is the baseline
 * the extension is measured against, made correct where the article is not (== compare,
 * no entity guard), so that both sides do the same work.
 */

declare(strict_types=1);

function php_sign(array $params, string $key, string $signType): string
{
    ksort($params, SORT_STRING);
    $string = '';
    foreach ($params as $k => $v) {
        if ($k !== 'sign' && $v !== '' && $v !== null && !is_array($v)) {
            $string .= $k . '=' . $v . '&';
        }
    }
    $string .= 'key=' . $key;
    return $signType === 'HMAC-SHA256'
        ? strtoupper(hash_hmac('sha256', $string, $key))
        : strtoupper(md5($string));
}

function php_xml_encode(array $params): string
{
    $xml = '<xml>';
    foreach ($params as $k => $v) {
        $xml .= '<' . $k . '><![CDATA[' . str_replace(']]>', ']]]]><![CDATA[>', (string) $v) . ']]></' . $k . '>';
    }
    return $xml . '</xml>';
}

/** @return array<string, string> */
function php_xml_decode(string $xml): array
{
    if (stripos($xml, '<!DOCTYPE') !== false) {
        throw new RuntimeException('DOCTYPE refused');
    }
    $doc = simplexml_load_string($xml, 'SimpleXMLElement', LIBXML_NOCDATA);
    if ($doc === false) {
        throw new RuntimeException('bad XML');
    }
    $data = json_decode(json_encode($doc), true);
    return array_map(fn ($v) => is_array($v) ? '' : (string) $v, $data);
}

/** The tutorial's notify endpoint; `$onPaid` is the shop's own step (as handleNotify's callback). */
function php_handle_notify(string $body, string $key, string $appid, string $mchId, ?callable $onPaid = null): string
{
    $data = php_xml_decode($body);
    if (($data['return_code'] ?? '') !== 'SUCCESS' || !isset($data['sign'])) {
        return php_fail('bad notify');
    }
    if (!hash_equals(php_sign($data, $key, 'MD5'), $data['sign'])) {
        return php_fail('bad sign');
    }
    if (($data['appid'] ?? '') !== $appid || ($data['mch_id'] ?? '') !== $mchId) {
        return php_fail('not ours');
    }
    if ($onPaid !== null && $onPaid($data, ($data['result_code'] ?? '') === 'SUCCESS') === false) {
        return php_fail('not processed');
    }
    return '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
}

function php_fail(string $message): string
{
    return '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[' . $message . ']]></return_msg></xml>';
}
