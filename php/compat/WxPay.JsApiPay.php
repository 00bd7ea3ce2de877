<?php

/**
 * wxpay compatibility layer for the official WeChat Pay PHP SDK 3.0.x: the JsApiPay example
 * helper (example/WxPay.JsApiPay.php) that shops copy.
 *
 * As the SDK's, it uses the shop's `WxPayConfig` class (`new WxPayConfig()`), which the shop
 * requires itself; a config object may also be given to the constructor (wxpay addition).
 *
 * Differences from the SDK's example: the OAuth call to api.weixin.qq.com verifies TLS (the
 * example turned verification off) and throws a WxPayException when WeChat answers with an
 * error instead of returning null; the redirect URL keeps the page's scheme and does not
 * append the query string twice.
 */

require_once __DIR__ . '/WxPay.Api.php';

/**
 * JSAPI支付实现类: openid through OAuth (snsapi_base), the JSAPI pay parameters, the shared
 * address parameters.
 */
class JsApiPay
{
    /** The OAuth answer of GetOpenidFromMp(): access_token, expires_in, openid, scope … */
    public $data = null;

    /** Timeout of the OAuth request, seconds (the SDK used this property without defining it). */
    public $curl_timeout = 6;

    /** @var WxPayConfigInterface|null */
    private $config;

    /** @param WxPayConfigInterface|null $config default: new WxPayConfig() (wxpay addition) */
    public function __construct($config = null)
    {
        $this->config = $config;
    }

    /**
     * 通过跳转获取用户的openid: without ?code=, redirects the browser to WeChat's OAuth page
     * and exits; with it, exchanges the code for the openid.
     *
     * @return string the openid
     */
    public function GetOpenid()
    {
        if (!isset($_GET['code'])) {
            $https = !empty($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off';
            $baseUrl = urlencode(
                ($https ? 'https://' : 'http://') . ($_SERVER['HTTP_HOST'] ?? '') . ($_SERVER['REQUEST_URI'] ?? '/')
            );
            $url = $this->_CreateOauthUrlForCode($baseUrl);
            header("Location: $url");
            exit();
        }
        return $this->GetOpenidFromMp((string) $_GET['code']);
    }

    /**
     * 获取jsapi支付的参数: the JSON for WeixinJSBridge.invoke('getBrandWCPayRequest', …),
     * signed with the config's sign type (which is the unified order's).
     *
     * @param array $UnifiedOrderResult 统一支付接口返回的数据
     * @return string JSON
     * @throws WxPayException 参数错误
     */
    public function GetJsApiParameters($UnifiedOrderResult)
    {
        if (
            !is_array($UnifiedOrderResult)
            || !array_key_exists('appid', $UnifiedOrderResult)
            || !array_key_exists('prepay_id', $UnifiedOrderResult)
            || $UnifiedOrderResult['prepay_id'] == ''
        ) {
            throw new WxPayException('参数错误');
        }
        $jsapi = new WxPayJsApiPay();
        $jsapi->SetAppid($UnifiedOrderResult['appid']);
        $jsapi->SetTimeStamp((string) time());
        $jsapi->SetNonceStr(WxPayApi::getNonceStr());
        $jsapi->SetPackage('prepay_id=' . $UnifiedOrderResult['prepay_id']);
        $jsapi->SetPaySign($jsapi->MakeSign($this->config()));
        return json_encode($jsapi->GetValues());
    }

    /**
     * 通过code从工作平台获取openid及access_token (GET api.weixin.qq.com/sns/oauth2/access_token,
     * TLS verified). Needs WeChat's servers.
     *
     * @param string $code
     * @return string the openid
     * @throws WxPayException when the request fails or WeChat answers an error
     */
    public function GetOpenidFromMp($code)
    {
        $url = $this->__CreateOauthUrlForOpenid($code);
        $config = $this->config();
        $ch = curl_init();
        $options = [
            CURLOPT_URL => $url,
            CURLOPT_TIMEOUT => (int) $this->curl_timeout,
            CURLOPT_CONNECTTIMEOUT => 2,
            CURLOPT_SSL_VERIFYPEER => true,
            CURLOPT_SSL_VERIFYHOST => 2,
            CURLOPT_USERAGENT => 'wxpay-compat (' . PHP_OS . ') PHP/' . PHP_VERSION . ' ' . $config->GetMerchantId(),
            CURLOPT_HEADER => false,
            CURLOPT_RETURNTRANSFER => true,
        ];
        $proxyHost = '0.0.0.0';
        $proxyPort = 0;
        $config->GetProxy($proxyHost, $proxyPort);
        if ($proxyHost != '0.0.0.0' && $proxyPort != 0) {
            $options[CURLOPT_PROXY] = $proxyHost;
            $options[CURLOPT_PROXYPORT] = $proxyPort;
        }
        curl_setopt_array($ch, $options);
        $res = curl_exec($ch);
        $errno = curl_errno($ch);
        unset($ch); // curl_close() is a deprecated no-op since PHP 8.5
        if (!is_string($res)) {
            throw new WxPayException("curl出错，错误码:$errno");
        }
        $data = json_decode($res, true);
        $this->data = $data;
        if (!is_array($data) || !isset($data['openid']) || !is_string($data['openid'])) {
            $why = is_array($data) ? ($data['errcode'] ?? '') . ' ' . ($data['errmsg'] ?? '') : 'not JSON';
            throw new WxPayException('获取openid失败：' . trim((string) $why));
        }
        return $data['openid'];
    }

    /**
     * 获取共享收货地址js函数需要的参数 (editAddress), from the access_token of
     * GetOpenidFromMp() ($this->data). JSON.
     *
     * @return string
     */
    public function GetEditAddressParameters()
    {
        $config = $this->config();
        $getData = is_array($this->data) ? $this->data : [];
        $https = !empty($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off';
        $data = [];
        $data['appid'] = $config->GetAppId();
        $data['url'] = ($https ? 'https://' : 'http://') . ($_SERVER['HTTP_HOST'] ?? '')
            . ($_SERVER['REQUEST_URI'] ?? '/');
        $data['timestamp'] = (string) time();
        $data['noncestr'] = WxPayApi::getNonceStr();
        $data['accesstoken'] = $getData['access_token'] ?? '';
        ksort($data, SORT_STRING);
        $addrSign = sha1($this->ToUrlParams($data));
        return json_encode([
            'addrSign' => $addrSign,
            'signType' => 'sha1',
            'scope' => 'jsapi_address',
            'appId' => $config->GetAppId(),
            'timeStamp' => $data['timestamp'],
            'nonceStr' => $data['noncestr'],
        ]);
    }

    /** k=v&… of every entry but sign, raw. */
    private function ToUrlParams($urlObj)
    {
        $pairs = [];
        foreach ($urlObj as $k => $v) {
            if ($k != 'sign') {
                $pairs[] = $k . '=' . $v;
            }
        }
        return implode('&', $pairs);
    }

    /** The OAuth URL that sends the browser back to $redirectUrl (already URL-encoded) with a code. */
    private function _CreateOauthUrlForCode($redirectUrl)
    {
        $urlObj = [
            'appid' => $this->config()->GetAppId(),
            'redirect_uri' => (string) $redirectUrl,
            'response_type' => 'code',
            'scope' => 'snsapi_base',
            'state' => 'STATE#wechat_redirect',
        ];
        return 'https://open.weixin.qq.com/connect/oauth2/authorize?' . $this->ToUrlParams($urlObj);
    }

    /** The URL that exchanges a code for the openid and access_token. */
    private function __CreateOauthUrlForOpenid($code)
    {
        $config = $this->config();
        $urlObj = [
            'appid' => $config->GetAppId(),
            'secret' => $config->GetAppSecret(),
            'code' => urlencode((string) $code),
            'grant_type' => 'authorization_code',
        ];
        return 'https://api.weixin.qq.com/sns/oauth2/access_token?' . $this->ToUrlParams($urlObj);
    }

    /** @return WxPayConfigInterface */
    private function config()
    {
        return $this->config ??= \WxPay\Compat\Bridge::shopConfig();
    }
}
