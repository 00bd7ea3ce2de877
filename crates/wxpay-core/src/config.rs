//! Merchant configuration, validated once. The API key lives in a [`Secret`] that never
//! prints itself.

use crate::error::{Error, Result};
use crate::sign::SignType;
use std::fmt;
use std::time::Duration;

pub const PRIMARY_URL: &str = "https://api.mch.weixin.qq.com";
pub const BACKUP_URL: &str = "https://api2.mch.weixin.qq.com";
/// `risk/getpublickey` (bank-card transfers) has a host of its own (docs/protocol.md §12.5).
pub const RISK_URL: &str = "https://fraud.mch.weixin.qq.com";

/// A secret string: redacted in `Debug`, wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zero bytes keep the String valid UTF-8.
        for b in unsafe { self.0.as_mut_vec() }.iter_mut() {
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// A configuration value as the caller gave it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A string that is not UTF-8: refused, never converted (a converted key would sign
    /// with other bytes than the merchant's).
    NotUtf8,
    /// A logger the caller holds (in PHP: a PSR-3 logger object or a callable). The core
    /// only records that there is one: [`Config::logger`].
    Logger,
    /// Anything else (array, object): named for the error message.
    Other(&'static str),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Str(_) => "string",
            Self::NotUtf8 => "non-UTF-8 string",
            Self::Logger => "logger",
            Self::Other(t) => t,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub appid: String,
    pub mch_id: String,
    pub key: Secret,
    pub sign_type: SignType,
    pub sub_appid: Option<String>,
    pub sub_mch_id: Option<String>,
    pub notify_url: Option<String>,
    pub spbill_create_ip: Option<String>,
    pub cert_path: Option<String>,
    pub key_path: Option<String>,
    pub ca_path: Option<String>,
    pub base_url: String,
    pub backup_url: String,
    /// Where `risk/getpublickey` goes: the config's `risk_url`, else `base_url` when that is
    /// set (a simulator or proxy serves it too), else WeChat's risk host.
    pub risk_url: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Bounds one whole call: every attempt, retry pause and poll.
    pub deadline: Duration,
    pub retries: u32,
    pub failover: bool,
    pub sandbox: bool,
    /// Every HTTP connection goes through this proxy (`scheme://host:port`, checked by
    /// [`proxy_url`]); without it, none does: proxies from the environment (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) are never used.
    pub proxy: Option<String>,
    /// Whether a logger is configured: the calls then keep an [`crate::log::Attempt`] per
    /// HTTP attempt for it ([`crate::Client::take_attempts`]).
    pub logger: bool,
    /// Opt-in for a switch of `sign_type`: payment notifies signed with the previous type
    /// are also accepted until a set time (docs/protocol.md §1.4, docs/migration.md §4).
    pub notify_previous_sign_type: Option<PreviousSignType>,
    /// The largest bill `download` accepts, as sent and once inflated ([`DEFAULT_BILL_MAX_BYTES`]).
    pub bill_max_bytes: usize,
}

/// The sign type a merchant used before `sign_type`, accepted for payment notifies until
/// `until` (Unix seconds). WeChat signs a notify with the type of its order's unifiedorder,
/// so orders placed before a switch are notified with the old type for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreviousSignType {
    pub sign_type: SignType,
    pub until: u64,
}

/// How far ahead `notify_previous_sign_type_until` may be set. What a switch needs is a
/// `prepay_id`'s 2 hours (or the orders' `time_expire`) plus WeChat's notify retries of about
/// 24 hours (§5); a week covers that with room, and a longer window would turn the opt-in
/// into a permanent second accepted sign type.
pub const MAX_PREVIOUS_SIGN_TYPE_SECONDS: u64 = 7 * 24 * 3600;

/// The length of every v2 API key (merchant platform → API安全 → API密钥).
const KEY_CHARS: usize = 32;

/// Every accepted configuration key.
pub const KEYS: &[&str] = &[
    "appid",
    "mch_id",
    "key",
    "sign_type",
    "sub_appid",
    "sub_mch_id",
    "notify_url",
    "spbill_create_ip",
    "cert_path",
    "key_path",
    "ca_path",
    "base_url",
    "backup_url",
    "timeout",
    "connect_timeout",
    "deadline",
    "retries",
    "failover",
    "sandbox",
    "proxy",
    "logger",
    "notify_previous_sign_type",
    "notify_previous_sign_type_until",
    "risk_url",
    "bill_max_bytes",
];

fn bad(key: &str, rule: &str, value: &Value) -> Error {
    // Never echo the value itself: it may be a secret given under the wrong key.
    Error::Config(format!(
        "config \"{key}\" {rule}, {} given",
        value.type_name()
    ))
}

fn string(key: &str, value: Value) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::Str(s) if s.is_empty() => Ok(None),
        Value::Str(s) => Ok(Some(s)),
        Value::Int(i) if key != "key" => Ok(Some(i.to_string())),
        other @ Value::NotUtf8 => Err(bad(key, "must be UTF-8 text", &other)),
        other => Err(bad(key, "must be a string", &other)),
    }
}

/// Upper limits, in seconds. PHP's `max_execution_time` counts CPU time on Linux and never
/// stops a call waiting on the network, so these and [`DEFAULT_DEADLINE`] are what bound it.
pub const MAX_TIMEOUT: f64 = 60.0;
pub const MAX_CONNECT_TIMEOUT: f64 = 30.0;
pub const MAX_DEADLINE: f64 = 120.0;
pub const MAX_RETRIES: i64 = 5;
/// Well under a typical `max_execution_time` of 30 s.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(15);

fn seconds(key: &str, value: Value, max: f64) -> Result<Option<Duration>> {
    let secs = match value {
        Value::Null => return Ok(None),
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
        other => return Err(bad(key, "must be a number of seconds", &other)),
    };
    if !(secs > 0.0 && secs <= max) {
        return Err(Error::Config(format!(
            "config \"{key}\" must be more than 0 and at most {max} seconds, {secs} given"
        )));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

/// Bills are held whole in memory twice on their way to PHP (the download, then the PHP
/// string), the first time outside `memory_limit`. A trade bill row is 230–350 bytes (27
/// columns; 28-character ids, product names), so 64 MiB is 190,000–290,000 payments and
/// refunds in one day, over two a second round the clock; a worker that downloads one
/// peaks at about 2 × 64 MiB over its usual size, and the string fits PHP's default
/// `memory_limit` of 128M.
pub const DEFAULT_BILL_MAX_BYTES: usize = 64 << 20;
/// Smaller is a unit mistake more likely than a wish; larger does not fit a PHP worker.
pub const BILL_MAX_BYTES_RANGE: std::ops::RangeInclusive<usize> = (1 << 20)..=(1 << 30);

fn bill_max_bytes(value: Value) -> Result<usize> {
    let rule = format!(
        "must be an int from {} (1 MiB) to {} (1 GiB) bytes",
        BILL_MAX_BYTES_RANGE.start(),
        BILL_MAX_BYTES_RANGE.end()
    );
    match value {
        Value::Null => Ok(DEFAULT_BILL_MAX_BYTES),
        Value::Int(n) => usize::try_from(n)
            .ok()
            .filter(|n| BILL_MAX_BYTES_RANGE.contains(n))
            .ok_or_else(|| Error::Config(format!("config \"bill_max_bytes\" {rule}, {n} given"))),
        other => Err(bad("bill_max_bytes", &rule, &other)),
    }
}

/// The rule every configured URL shares (`base_url`, `backup_url`, `proxy`): no
/// `user:password@`. Requests go to the host after the `@`, so text before it must never be
/// taken for the host, and a password there would show in `var_dump($client)` and in error
/// messages.
const USERINFO_RULE: &str = "must not contain a user name or password";

/// Checks `base_url` / `backup_url` with a real URL parser (the one reqwest uses, so the
/// host checked is the host called) and returns its normalised form without a trailing `/`.
fn url(key: &str, value: Option<String>, default: &str) -> Result<String> {
    // The defaults are WeChat's own URLs, checked by a test: not parsed on every construction.
    let Some(given) = value else {
        return Ok(default.to_owned());
    };
    // Text with an `@` may hold a password, even when the parser rejects it.
    let shown = if given.contains('@') {
        "the value is not repeated here: it may hold a password".to_owned()
    } else {
        format!("\"{given}\" given")
    };
    let refuse = |rule: &str| Error::Config(format!("config \"{key}\" {rule}, {shown}"));
    let https_rule = "must be an https:// URL (http:// only for a loopback simulator)";
    let parsed = ::url::Url::parse(&given).map_err(|e| refuse(&format!("{https_rule}: {e}")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse(USERINFO_RULE));
    }
    let loopback = match parsed.host() {
        Some(::url::Host::Domain(name)) => name == "localhost",
        Some(::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let allowed = match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => loopback,
        _ => false,
    };
    if !allowed {
        return Err(refuse(https_rule));
    }
    // Call paths are appended to the base: a query or fragment would swallow them.
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(refuse("must not have a query or fragment"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Proxy schemes: HTTP CONNECT over plain TCP or TLS, SOCKS5 with local or proxy-side DNS.
pub const PROXY_SCHEMES: &[&str] = &["http", "https", "socks5", "socks5h"];

/// Checks a `proxy` URL: `scheme://host:port` with a scheme of [`PROXY_SCHEMES`], a DNS name,
/// IPv4 address or bracketed IPv6 address, an explicit port 1–65535 and at most a trailing
/// `/`. A user name or password is refused (proxy authentication is not supported), and no
/// message ever repeats the value, which may hold one. Returns the URL in lower case,
/// without the trailing `/`.
pub fn proxy_url(value: &str) -> Result<String> {
    let refuse = |rule: &str| {
        Error::Config(format!(
            "config \"proxy\" {rule} (the value is not repeated here: it may hold a password)"
        ))
    };
    let shape = "must be scheme://host:port, like http://gateway.internal:3128, with a scheme of \
                 http, https, socks5 or socks5h";
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(refuse(shape));
    };
    let scheme = scheme.to_ascii_lowercase();
    if !PROXY_SCHEMES.contains(&scheme.as_str()) {
        return Err(refuse(shape));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        return Err(refuse(&format!(
            "{USERINFO_RULE}: proxy authentication is not supported"
        )));
    }
    if authority.contains(['/', '?', '#']) {
        return Err(refuse("must not have a path, query or fragment"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (ip, after) = v6.split_once(']').ok_or_else(|| refuse(shape))?;
            if ip.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(refuse("has an invalid IPv6 address"));
            }
            (format!("[{ip}]"), after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        },
    };
    let Some(port) = port else {
        return Err(refuse(
            "must name the port, like http://gateway.internal:3128",
        ));
    };
    if port.is_empty()
        || !port.bytes().all(|b| b.is_ascii_digit())
        || !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(refuse("must have a port from 1 to 65535"));
    }
    if !host.starts_with('[') && !is_host_name(&host) {
        return Err(refuse(
            "must name the host as a DNS name, an IPv4 address or an [IPv6] address",
        ));
    }
    Ok(format!(
        "{scheme}://{}:{}",
        host.to_ascii_lowercase(),
        port.trim_start_matches('0')
    ))
}

/// A DNS name (labels of letters, digits and inner hyphens) or a dotted IPv4 address; a
/// name of digits and dots only must be a valid IPv4 address.
fn is_host_name(host: &str) -> bool {
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<std::net::Ipv4Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn sign_type(key: &str, value: Value) -> Result<Option<SignType>> {
    string(key, value)?
        .map(|name| {
            SignType::parse(&name).ok_or_else(|| {
                Error::Config(format!(
                    "config \"{key}\" must be one of {}, \"{name}\" given",
                    SignType::NAMES
                ))
            })
        })
        .transpose()
}

/// Unix seconds now; 0 if the clock is before 1970 (then no window is open).
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `notify_previous_sign_type` with its `…_until`: both or neither, another type than
/// `sign_type`, and a window that ends at most [`MAX_PREVIOUS_SIGN_TYPE_SECONDS`] from `now`.
/// A window that has ended is accepted (and closed): a config left in place after the switch
/// must not break the shop.
fn previous_sign_type(
    current: SignType,
    previous: Value,
    until: Value,
    now: u64,
) -> Result<Option<PreviousSignType>> {
    const TYPE: &str = "notify_previous_sign_type";
    const UNTIL: &str = "notify_previous_sign_type_until";
    let previous = sign_type(TYPE, previous)?;
    let until = match until {
        Value::Null => None,
        Value::Int(t) if t > 0 => Some(t as u64),
        other => return Err(bad(UNTIL, "must be a Unix time (int seconds)", &other)),
    };
    let (sign_type, until) = match (previous, until) {
        (None, None) => return Ok(None),
        (Some(p), Some(u)) => (p, u),
        (Some(_), None) => {
            return Err(Error::Config(format!(
                "config \"{TYPE}\" needs \"{UNTIL}\": the time the switch ends"
            )));
        }
        (None, Some(_)) => {
            return Err(Error::Config(format!(
                "config \"{UNTIL}\" needs \"{TYPE}\""
            )));
        }
    };
    if sign_type == current {
        return Err(Error::Config(format!(
            "config \"{TYPE}\" must differ from \"sign_type\" ({})",
            current.as_str()
        )));
    }
    if until > now.saturating_add(MAX_PREVIOUS_SIGN_TYPE_SECONDS) {
        return Err(Error::Config(format!(
            "config \"{UNTIL}\" must be at most {} days from now: the previous sign type is \
             accepted for a switch, not for good",
            MAX_PREVIOUS_SIGN_TYPE_SECONDS / 86400
        )));
    }
    Ok(Some(PreviousSignType { sign_type, until }))
}

impl Config {
    /// Validates configuration entries. Unknown keys are refused with the list of valid ones.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, Value)>) -> Result<Self> {
        let mut values: Vec<(usize, Value)> = Vec::new();
        for (key, value) in entries {
            match KEYS.iter().position(|k| *k == key) {
                Some(i) => values.push((i, value)),
                None => {
                    return Err(Error::Config(format!(
                        "unknown config key \"{key}\"; valid keys: {}",
                        KEYS.join(", ")
                    )));
                }
            }
        }
        let mut take = |name: &str| -> Value {
            let i = KEYS.iter().position(|k| *k == name).unwrap_or(usize::MAX);
            values
                .iter()
                .position(|(k, _)| *k == i)
                .map(|p| values.swap_remove(p).1)
                .unwrap_or(Value::Null)
        };
        let required = |key: &str, value: Value| -> Result<String> {
            // `getenv()` answers false for an unset variable: that is a missing value, not
            // a wrongly typed one.
            let value = if value == Value::Bool(false) {
                Value::Null
            } else {
                value
            };
            string(key, value)?.ok_or_else(|| {
                Error::Config(format!(
                    "config \"{key}\" is required: missing or empty (did getenv() return false?)"
                ))
            })
        };
        let appid = required("appid", take("appid"))?;
        let mch_id = required("mch_id", take("mch_id"))?;
        let key = Secret::new(required("key", take("key"))?);
        // Every v2 API key is 32 characters (the sandbox's too): anything else is a paste
        // error or another credential, which would only show up later as 签名错误.
        let key_chars = key.expose().chars().count();
        if key_chars != KEY_CHARS {
            return Err(Error::Config(format!(
                "config \"key\" must be the {KEY_CHARS}-character API key set in the merchant \
                 platform, {key_chars} characters given"
            )));
        }
        let sign_type = sign_type("sign_type", take("sign_type"))?.unwrap_or(SignType::Md5);
        let notify_previous_sign_type = previous_sign_type(
            sign_type,
            take("notify_previous_sign_type"),
            take("notify_previous_sign_type_until"),
            now_seconds(),
        )?;
        let base_given = string("base_url", take("base_url"))?;
        let backup_given = string("backup_url", take("backup_url"))?;
        // WeChat's backup host only backs up WeChat's primary: a client pointed elsewhere (a
        // simulator, a proxy) must name its own backup, or it would fail over to the real
        // WeChat.
        let own_primary = base_given.is_some() && backup_given.is_none();
        let base_url = url("base_url", base_given, PRIMARY_URL)?;
        let backup_url = url("backup_url", backup_given, BACKUP_URL)?;
        // Like the backup: a client pointed elsewhere never reaches WeChat's risk host unasked.
        let risk_default = if base_url == PRIMARY_URL {
            RISK_URL
        } else {
            base_url.as_str()
        };
        let risk_url = url(
            "risk_url",
            string("risk_url", take("risk_url"))?,
            risk_default,
        )?;
        let retries = match take("retries") {
            Value::Null => 1,
            Value::Int(n) if (0..=MAX_RETRIES).contains(&n) => n as u32,
            other => {
                return Err(bad(
                    "retries",
                    &format!("must be an int from 0 to {MAX_RETRIES}"),
                    &other,
                ));
            }
        };
        let flag = |key: &str, value: Value, default: bool| match value {
            Value::Null => Ok(default),
            Value::Bool(b) => Ok(b),
            other => Err(bad(key, "must be a bool", &other)),
        };
        let failover = match take("failover") {
            Value::Bool(true) if own_primary => {
                return Err(Error::Config(
                    "config \"failover\" needs \"backup_url\" when \"base_url\" is set".into(),
                ));
            }
            value => flag("failover", value, !own_primary)?,
        };
        let sandbox = flag("sandbox", take("sandbox"), false)?;
        let proxy = match take("proxy") {
            Value::Str(s) if !s.is_empty() => Some(proxy_url(&s)?),
            Value::Null | Value::Str(_) => None,
            // Not `bad()`: that names only the type, and says nothing else either.
            other => return Err(bad("proxy", "must be a URL string", &other)),
        };
        let logger = match take("logger") {
            Value::Null => false,
            Value::Logger => true,
            other => {
                return Err(bad(
                    "logger",
                    "must be a PSR-3 logger (an object with debug(), info() and warning(), \
                     or log()) or a callable(string $level, string $message, array $context)",
                    &other,
                ));
            }
        };
        let config = Self {
            sub_appid: string("sub_appid", take("sub_appid"))?,
            sub_mch_id: string("sub_mch_id", take("sub_mch_id"))?,
            notify_url: string("notify_url", take("notify_url"))?,
            spbill_create_ip: string("spbill_create_ip", take("spbill_create_ip"))?,
            cert_path: string("cert_path", take("cert_path"))?,
            key_path: string("key_path", take("key_path"))?,
            ca_path: string("ca_path", take("ca_path"))?,
            timeout: seconds("timeout", take("timeout"), MAX_TIMEOUT)?
                .unwrap_or(Duration::from_secs(6)),
            connect_timeout: seconds(
                "connect_timeout",
                take("connect_timeout"),
                MAX_CONNECT_TIMEOUT,
            )?
            .unwrap_or(Duration::from_secs(2)),
            deadline: seconds("deadline", take("deadline"), MAX_DEADLINE)?
                .unwrap_or(DEFAULT_DEADLINE),
            appid,
            mch_id,
            key,
            sign_type,
            base_url,
            backup_url,
            risk_url,
            retries,
            failover,
            sandbox,
            proxy,
            logger,
            notify_previous_sign_type,
            bill_max_bytes: bill_max_bytes(take("bill_max_bytes"))?,
        };
        if config.cert_path.is_some() != config.key_path.is_some() {
            return Err(Error::Config(
                "config \"cert_path\" and \"key_path\" must be given together".into(),
            ));
        }
        for (key, path) in [
            ("cert_path", &config.cert_path),
            ("key_path", &config.key_path),
            ("ca_path", &config.ca_path),
        ] {
            if let Some(path) = path
                && let Err(e) = std::fs::File::open(path)
            {
                return Err(Error::Config(format!(
                    "config \"{key}\": cannot read \"{path}\": {e}"
                )));
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn base() -> Vec<(String, Value)> {
        vec![
            ("appid".into(), s("wx1")),
            ("mch_id".into(), Value::Int(1000)),
            ("key".into(), s("SECRET-KEY-VALUE-0123456789abcde")),
        ]
    }

    fn err(entries: Vec<(String, Value)>) -> String {
        match Config::from_entries(entries) {
            Err(Error::Config(m)) => m,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = Config::from_entries(base()).unwrap();
        assert_eq!(c.mch_id, "1000");
        assert_eq!(c.sign_type, SignType::Md5);
        assert_eq!(c.base_url, PRIMARY_URL);
        assert_eq!(c.risk_url, RISK_URL);
        // The defaults pass the rule a given URL must pass, unchanged.
        for default in [PRIMARY_URL, BACKUP_URL] {
            assert_eq!(
                url("base_url", Some(default.to_owned()), "").as_deref(),
                Ok(default)
            );
        }
        assert_eq!(c.retries, 1);
        assert_eq!(c.deadline, DEFAULT_DEADLINE);
        assert!(c.failover);
        assert!(!format!("{c:?}").contains("SECRET-KEY-VALUE"));
    }

    #[test]
    fn risk_url_follows_a_custom_base_url_and_never_reaches_wechat_unasked() {
        let with = |extra: &[(&str, &str)]| {
            let mut e = base();
            e.extend(extra.iter().map(|(k, v)| (k.to_string(), s(v))));
            Config::from_entries(e).unwrap().risk_url
        };
        assert_eq!(
            with(&[("base_url", "http://127.0.0.1:9/")]),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            with(&[
                ("base_url", "http://127.0.0.1:9"),
                ("risk_url", "http://127.0.0.1:8")
            ]),
            "http://127.0.0.1:8"
        );
        assert_eq!(with(&[("base_url", PRIMARY_URL)]), RISK_URL);
        let mut e = base();
        e.push(("risk_url".into(), s("http://fraud.example")));
        assert!(err(e).starts_with("config \"risk_url\" must be an https:// URL"));
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:9/x",
            "https://x.example",
        ] {
            let mut e = base();
            e.push(("base_url".into(), s(ok)));
            assert!(Config::from_entries(e).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.mch.weixin.qq.com",
            "http://10.0.0.1",
            "http://127.0.0.1.evil.com",
            "ftp://x",
        ] {
            let mut e = base();
            e.push(("base_url".into(), s(bad)));
            assert!(err(e).contains("must be an https:// URL"), "{bad}");
        }
    }

    #[test]
    fn urls_with_userinfo_are_refused_without_echo() {
        // Each of these once passed the loopback check: the text before `:` looked like
        // the host, while the request goes to the host after `@`.
        for given in [
            "http://localhost:x@evil.example",
            "http://127.0.0.1:80@evil.example",
            "http://[::1]@evil.example",
            "http://localhost:1@10.0.0.1",
            "https://user:SECRET-PASS@127.0.0.1:9",
            "https://SECRET-PASS@api.mch.weixin.qq.com",
        ] {
            for key in ["base_url", "backup_url"] {
                let mut e = base();
                e.push((key.into(), s(given)));
                let m = err(e);
                assert!(
                    m.starts_with(&format!(
                        "config \"{key}\" must not contain a user name or password"
                    )),
                    "{given}: {m}"
                );
                assert!(
                    !m.contains('@') && !m.contains("SECRET") && !m.contains("evil"),
                    "{m}"
                );
            }
        }
        let mut e = base();
        e.push(("base_url".into(), s("https://x.example/?a=1")));
        assert!(err(e).contains("\"base_url\" must not have a query or fragment"));
    }

    #[test]
    fn proxy_urls_are_checked_precisely_and_never_echoed() {
        for (given, kept) in [
            ("http://127.0.0.1:3128", "http://127.0.0.1:3128"),
            ("HTTPS://Proxy.Example:443/", "https://proxy.example:443"),
            ("socks5://[::1]:1080", "socks5://[::1]:1080"),
            (
                "socks5h://gw-1.corp.example:01080",
                "socks5h://gw-1.corp.example:1080",
            ),
        ] {
            assert_eq!(proxy_url(given).unwrap(), kept, "{given}");
        }
        for (given, rule) in [
            ("127.0.0.1:3128", "must be scheme://host:port"),
            ("ftp://proxy.example:21", "must be scheme://host:port"),
            ("socks4://proxy.example:1080", "must be scheme://host:port"),
            ("http://proxy.example", "must name the port"),
            ("http://proxy.example:", "port from 1 to 65535"),
            ("http://proxy.example:0", "port from 1 to 65535"),
            ("http://proxy.example:65536", "port from 1 to 65535"),
            ("http://proxy.example:80x", "port from 1 to 65535"),
            ("http://proxy.example:3128/path", "path, query or fragment"),
            ("http://proxy.example:3128?x=1", "path, query or fragment"),
            ("http://proxy.example:3128#f", "path, query or fragment"),
            ("http://pro xy:3128", "DNS name"),
            ("http://-proxy.example:3128", "DNS name"),
            ("http://:3128", "DNS name"),
            ("http://999.1.1.1:3128", "DNS name"),
            ("http://[::zz]:3128", "invalid IPv6"),
            ("http://[::1]", "must name the port"),
            (
                "http://user:SECRET-PASS@proxy.example:3128",
                "user name or password",
            ),
            (
                "http://SECRET-PASS@proxy.example:3128",
                "user name or password",
            ),
            (
                "http://user:SECRET-PASS@[::1]:3128",
                "user name or password",
            ),
        ] {
            let mut e = base();
            e.push(("proxy".into(), s(given)));
            let m = err(e);
            assert!(m.starts_with("config \"proxy\" "), "{given}: {m}");
            assert!(m.contains(rule), "{given}: {m}");
            assert!(!m.contains("SECRET") && !m.contains(given), "{given}: {m}");
        }
        let mut e = base();
        e.push(("proxy".into(), Value::Int(3128)));
        assert!(err(e).contains("\"proxy\" must be a URL string, int given"));
        let mut e = base();
        e.push(("proxy".into(), s("socks5://127.0.0.1:1080")));
        let c = Config::from_entries(e).unwrap();
        assert_eq!(c.proxy.as_deref(), Some("socks5://127.0.0.1:1080"));
        assert_eq!(Config::from_entries(base()).unwrap().proxy, None);
    }

    #[test]
    fn logger_is_a_marker_the_face_holds() {
        assert!(!Config::from_entries(base()).unwrap().logger);
        let mut e = base();
        e.push(("logger".into(), Value::Logger));
        assert!(Config::from_entries(e).unwrap().logger);
        let mut e = base();
        e.push(("logger".into(), s("not_a_function")));
        assert!(err(e).contains("\"logger\" must be a PSR-3 logger"));
        let mut e = base();
        e.push(("logger".into(), Value::Other("object")));
        assert!(err(e).ends_with("object given"));
    }

    #[test]
    fn bill_max_bytes_is_an_int_in_range() {
        assert_eq!(
            Config::from_entries(base()).unwrap().bill_max_bytes,
            DEFAULT_BILL_MAX_BYTES
        );
        let with = |value: Value| {
            let mut e = base();
            e.push(("bill_max_bytes".into(), value));
            Config::from_entries(e)
        };
        for n in [1 << 20, 1 << 30] {
            assert_eq!(with(Value::Int(n)).unwrap().bill_max_bytes, n as usize);
        }
        let rule = "config \"bill_max_bytes\" must be an int from 1048576 (1 MiB) to 1073741824 (1 GiB) bytes";
        for (value, given) in [
            (Value::Int((1 << 20) - 1), "1048575 given"),
            (Value::Int((1 << 30) + 1), "1073741825 given"),
            (Value::Int(-1), "-1 given"),
            (Value::Float(1e7), "float given"),
            (s("64M"), "string given"),
        ] {
            match with(value) {
                Err(Error::Config(m)) => assert_eq!(m, format!("{rule}, {given}")),
                other => panic!("{given}: {other:?}"),
            }
        }
    }

    #[test]
    fn own_base_url_never_fails_over_to_wechat() {
        let mut e = base();
        e.push(("base_url".into(), s("https://127.0.0.1:9000/")));
        let c = Config::from_entries(e.clone()).unwrap();
        assert_eq!(c.base_url, "https://127.0.0.1:9000");
        assert!(!c.failover);
        e.push(("failover".into(), Value::Bool(true)));
        assert!(err(e.clone()).contains("needs \"backup_url\""));
        e.push(("backup_url".into(), s("https://127.0.0.1:9001")));
        assert!(Config::from_entries(e).unwrap().failover);
    }

    #[test]
    fn refusals_name_the_key_and_never_the_value() {
        let mut e = base();
        e.push(("colour".into(), s("red")));
        assert!(err(e).contains("unknown config key \"colour\"; valid keys: appid, mch_id"));
        let mut e = base();
        e.remove(2);
        assert!(err(e).contains("\"key\" is required"));
        let mut e = base();
        e.push(("sign_type".into(), s("SHA1")));
        assert!(err(e).contains("must be one of MD5, HMAC-SHA256"));
        let mut e = base();
        e[2].1 = Value::Int(5);
        assert!(err(e).contains("\"key\" must be a string, int given"));
        for missing in [Value::Bool(false), s(""), Value::Null] {
            let mut e = base();
            e[2].1 = missing;
            assert!(
                err(e)
                    .contains("\"key\" is required: missing or empty (did getenv() return false?)")
            );
        }
        let mut e = base();
        e[2].1 = s("SECRET-KEY-VALUE");
        let m = err(e);
        assert!(
            m.contains("\"key\" must be the 32-character API key")
                && m.contains("16 characters given")
        );
        assert!(!m.contains("SECRET"));
        let mut e = base();
        e[2].1 = Value::NotUtf8;
        assert_eq!(
            err(e),
            "config \"key\" must be UTF-8 text, non-UTF-8 string given"
        );
        let mut e = base();
        e.push(("timeout".into(), Value::Float(-1.0)));
        assert!(err(e).contains("\"timeout\" must be more than 0"));
        for (key, value, rule) in [
            ("timeout", Value::Int(61), "at most 60 seconds, 61 given"),
            ("connect_timeout", Value::Float(30.5), "at most 30 seconds"),
            (
                "deadline",
                Value::Int(600),
                "\"deadline\" must be more than 0 and at most 120",
            ),
            (
                "deadline",
                s("15"),
                "\"deadline\" must be a number of seconds, string given",
            ),
            (
                "retries",
                Value::Int(6),
                "\"retries\" must be an int from 0 to 5, int given",
            ),
        ] {
            let mut e = base();
            e.push((key.into(), value));
            assert!(err(e).contains(rule), "{key}");
        }
        let mut e = base();
        e.push(("cert_path".into(), s("/nonexistent/cert.pem")));
        e.push(("key_path".into(), s("/nonexistent/key.pem")));
        assert!(err(e).contains("cannot read \"/nonexistent/cert.pem\""));
        let mut e = base();
        e.push(("appid".into(), s("SECRET-KEY-VALUE")));
        e.push(("failover".into(), s("SECRET-KEY-VALUE")));
        assert!(!err(e).contains("SECRET"));
    }

    #[test]
    fn previous_sign_type_is_an_explicit_bounded_opt_in() {
        let now = 1_800_000_000;
        let window = |p: Value, u: Value| previous_sign_type(SignType::HmacSha256, p, u, now);
        assert_eq!(window(Value::Null, Value::Null).unwrap(), None);
        let until = now + 86400;
        assert_eq!(
            window(s("MD5"), Value::Int(until as i64)).unwrap(),
            Some(PreviousSignType {
                sign_type: SignType::Md5,
                until
            })
        );
        // Ended windows are kept (closed), so an old config does not break the shop.
        assert!(window(s("MD5"), Value::Int(1)).unwrap().is_some());
        let refused = |p: Value, u: Value| match window(p, u) {
            Err(Error::Config(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(
            refused(s("MD5"), Value::Null).contains("needs \"notify_previous_sign_type_until\"")
        );
        assert!(
            refused(Value::Null, Value::Int(until as i64))
                .contains("needs \"notify_previous_sign_type\"")
        );
        assert!(
            refused(s("HMAC-SHA256"), Value::Int(until as i64))
                .contains("must differ from \"sign_type\"")
        );
        assert!(refused(s("SHA1"), Value::Int(until as i64)).contains("must be one of"));
        assert!(refused(s("MD5"), s("tomorrow")).contains("must be a Unix time"));
        assert!(refused(s("MD5"), Value::Int(0)).contains("must be a Unix time"));
        let too_far = (now + MAX_PREVIOUS_SIGN_TYPE_SECONDS + 1) as i64;
        assert!(refused(s("MD5"), Value::Int(too_far)).contains("at most 7 days from now"));
        let last = (now + MAX_PREVIOUS_SIGN_TYPE_SECONDS) as i64;
        assert!(window(s("MD5"), Value::Int(last)).is_ok());
        // Through the config too: the keys are known and default to no window.
        assert_eq!(
            Config::from_entries(base())
                .unwrap()
                .notify_previous_sign_type,
            None
        );
        let mut e = base();
        e.push(("sign_type".into(), s("HMAC-SHA256")));
        e.push(("notify_previous_sign_type".into(), s("MD5")));
        e.push((
            "notify_previous_sign_type_until".into(),
            Value::Int((now_seconds() + 3600) as i64),
        ));
        assert!(
            Config::from_entries(e)
                .unwrap()
                .notify_previous_sign_type
                .is_some()
        );
    }
}
