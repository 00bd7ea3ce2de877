<?php

/**
 * wxpay compatibility layer: the internal bridge from the SDK 3.0.x classes to the wxpay
 * extension. Not part of the SDK's surface; shops do not call it.
 */

declare(strict_types=1);

namespace WxPay\Compat;

use WxPay\ApiException;
use WxPay\Client;
use WxPay\ExceptionInterface as WxPayError;
use WxPay\HttpException;
use WxPay\SignatureException;
use WxPay\XmlException;

require_once __DIR__ . '/WxPay.Exception.php';

/** @internal */
final class Bridge
{
    /** Values the extension accepts as arrays (sent as JSON). */
    private const JSON_FIELDS = ['detail' => true, 'scene_info' => true];

    /** Fields the extension fills itself on every call. */
    private const FILLED = [
        'appid' => true, 'mch_id' => true, 'nonce_str' => true, 'sign' => true, 'sign_type' => true,
    ];

    /** @var \WeakMap<object, array<string, Client>>|null one Client per config object and timeout */
    private static ?\WeakMap $clients = null;

    private function __construct()
    {
    }

    /**
     * The wxpay Client for a WxPayConfigInterface object, created once per config object (and
     * per distinct timeout, which is part of the connection pool's identity) and reused.
     */
    public static function client(object $config, int|float $timeout): Client
    {
        self::$clients ??= new \WeakMap();
        $slot = sprintf('%.3F', (float) $timeout);
        $clients = self::$clients[$config] ?? [];
        if (!isset($clients[$slot])) {
            $clients[$slot] = self::newClient($config, (float) $timeout);
            self::$clients[$config] = $clients;
        }
        return $clients[$slot];
    }

    private static function newClient(object $config, float $timeout): Client
    {
        $proxyHost = '0.0.0.0';
        $proxyPort = 0;
        $config->GetProxy($proxyHost, $proxyPort);
        if ((string) $proxyHost !== '0.0.0.0' && (string) $proxyHost !== '' && (int) $proxyPort !== 0) {
            throw new \WxPayException(sprintf(
                'wxpay不支持代理（GetProxy() 返回 %s:%d）：wxpay does not support an HTTP proxy yet',
                $proxyHost,
                (int) $proxyPort
            ));
        }
        $settings = [
            'appid' => (string) $config->GetAppId(),
            'mch_id' => (string) $config->GetMerchantId(),
            'key' => (string) $config->GetKey(),
            'sign_type' => self::signType($config),
            'timeout' => $timeout > 0 ? $timeout : 6.0,
        ];
        $certPath = '';
        $keyPath = '';
        $config->GetSSLCertPath($certPath, $keyPath);
        // As the SDK, the certificate matters only to refund and reverse: a config whose
        // certificate files are not there still works for every other call.
        if (is_string($certPath) && is_string($keyPath) && is_file($certPath) && is_file($keyPath)) {
            $settings['cert_path'] = $certPath;
            $settings['key_path'] = $keyPath;
        }
        foreach (['GetBaseUrl' => 'base_url', 'GetCaPath' => 'ca_path'] as $method => $name) {
            if (method_exists($config, $method)) {
                $value = $config->$method();
                if ($value !== null && $value !== '') {
                    $settings[$name] = (string) $value;
                }
            }
        }
        try {
            return new Client($settings);
        } catch (WxPayError $e) {
            throw self::exception($e);
        }
    }

    /** The config's sign type, which must be one the SDK supports. */
    public static function signType(object $config): string
    {
        $type = $config->GetSignType();
        if ($type !== 'MD5' && $type !== 'HMAC-SHA256') {
            throw new \WxPayException('签名类型不支持！');
        }
        return $type;
    }

    /**
     * SDK data values as the extension takes them: null and false are absent (the SDK neither
     * signs nor meaningfully sends them), true is "1", floats are cast as PHP casts them into
     * the SDK's XML (so 19.99 * 100 is "1999"), objects with __toString are strings; arrays
     * only for detail and scene_info.
     *
     * @param array<mixed> $values
     * @return array<string, string|int|array<mixed>>
     */
    public static function params(array $values, bool $dropFilled = false): array
    {
        $out = [];
        foreach ($values as $name => $value) {
            $name = (string) $name;
            if ($value === null || $value === false || ($dropFilled && isset(self::FILLED[$name]))) {
                continue;
            }
            if (is_string($value) || is_int($value)) {
                $out[$name] = $value;
            } elseif ($value === true) {
                $out[$name] = '1';
            } elseif (is_float($value) || $value instanceof \Stringable) {
                $out[$name] = (string) $value;
            } elseif (is_array($value) && isset(self::JSON_FIELDS[$name])) {
                $out[$name] = $value;
            } else {
                throw new \WxPayException(sprintf('参数%s的值不能是%s！', $name, get_debug_type($value)));
            }
        }
        return $out;
    }

    /** Signs SDK values with the key and an explicit type, through the extension. */
    public static function sign(array $values, object $config, string $signType): string
    {
        try {
            return \WxPay\Signer::sign(self::params($values), (string) $config->GetKey(), $signType);
        } catch (WxPayError $e) {
            throw self::exception($e);
        }
    }

    /**
     * Runs one extension call the SDK way: a business or protocol failure (return_code or
     * result_code FAIL) is not an exception but the answer's array; everything else that goes
     * wrong is a WxPayException.
     *
     * @return array<string, string>
     */
    public static function call(callable $call): array
    {
        try {
            return $call();
        } catch (ApiException $e) {
            $answer = $e->getResponse();
            if (($answer['return_code'] ?? '') !== 'SUCCESS') {
                // The SDK's WxPayResults::Init: a FAIL answer may only hold return_code/return_msg.
                foreach ($answer as $name => $value) {
                    if ($name !== 'return_code' && $name !== 'return_msg') {
                        throw new \WxPayException('输入数据存在异常！', 0, $e);
                    }
                }
            }
            return $answer;
        } catch (WxPayError $e) {
            throw self::exception($e);
        }
    }

    /** The SDK's exception for an extension failure, with the original as previous. */
    public static function exception(WxPayError $e): \WxPayException
    {
        if ($e instanceof SignatureException) {
            return new \WxPayException('签名错误！', 0, $e);
        }
        if ($e instanceof XmlException) {
            return new \WxPayException('xml数据异常！', 0, $e);
        }
        if ($e instanceof HttpException) {
            // The SDK reported curl's error number; wxpay does not use curl. 28 is curl's
            // "timed out", 7 its "could not connect"; the extension's own message follows.
            return new \WxPayException(
                sprintf('curl出错，错误码:%d (%s)', $e->isTimeout() ? 28 : 7, $e->getMessage()),
                0,
                $e
            );
        }
        return new \WxPayException($e->getMessage(), 0, $e);
    }

    /** new WxPayConfig(): the class the SDK's example helpers use, defined by the shop. */
    public static function shopConfig(): object
    {
        if (!class_exists('WxPayConfig')) {
            throw new \WxPayException('缺少配置类WxPayConfig：请先 require 商户自己的 WxPay.Config.php');
        }
        return new \WxPayConfig();
    }

    /** The client's address as the SDK took it, when there is a valid one. */
    public static function remoteAddr(): ?string
    {
        $ip = $_SERVER['REMOTE_ADDR'] ?? null;
        return is_string($ip) && filter_var($ip, FILTER_VALIDATE_IP) !== false ? $ip : null;
    }
}
