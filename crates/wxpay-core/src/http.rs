//! Per-process HTTP machinery: one current-thread tokio runtime and the reqwest clients that
//! own its pooled connections, kept together in a static and rebuilt when the process id
//! changes (php-fpm forks workers after module init; threads and sockets inherited from the
//! parent are unusable, ext-php-rs-notes §4.1). Nothing is created before the first call.
//!
//! Also per process: the failover state of each primary URL and the cached sandbox keys.

use crate::config::{Config, Secret};
use crate::error::{Error, HttpError, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// WeChat closes idle keep-alive connections after 8 s; dropping ours at 7 s avoids sending
/// on a socket the server is closing. Nothing runs between PHP requests (the runtime only
/// runs inside a call), so between calls this is enforced at the start of the next call.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(7);
/// Idle connections kept per host and client: a burst of concurrent queries must not leave
/// its connections open for the life of the worker.
pub const POOL_MAX_IDLE_PER_HOST: usize = 8;
/// How long the backup URL is used after the primary failed at transport level.
pub const FAILOVER_COOL_DOWN: Duration = Duration::from_secs(60);

/// What a reqwest client is built from: different TLS identities or timeouts never share
/// a client (or its pooled connections).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub ca_path: Option<String>,
    /// `(cert_path, key_path)` when the client certificate is presented.
    pub identity: Option<(String, String)>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl ClientKey {
    /// The key for `config`, with or without the client certificate.
    pub fn new(config: &Config, with_cert: bool, what: &str) -> Result<Self> {
        let identity = if with_cert {
            match (&config.cert_path, &config.key_path) {
                (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
                _ => {
                    return Err(Error::Config(format!(
                        "{what} needs the merchant's client certificate: set config \"cert_path\" and \"key_path\""
                    )));
                }
            }
        } else {
            None
        };
        Ok(Self {
            ca_path: config.ca_path.clone(),
            identity,
            timeout: config.timeout,
            connect_timeout: config.connect_timeout,
        })
    }
}

fn read_pem(key: &str, path: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::Config(format!("config \"{key}\": cannot read \"{path}\": {e}")))
}

fn certificates(key: &str, path: &str) -> Result<Vec<CertificateDer<'static>>> {
    let pem = read_pem(key, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::Config(format!(
                "config \"{key}\": \"{path}\" is not valid PEM: {e}"
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "config \"{key}\": \"{path}\" holds no PEM certificate"
        )));
    }
    Ok(certs)
}

fn tls_error(what: &str, e: rustls::Error) -> Error {
    Error::Config(format!("{what}: {e}"))
}

/// The TLS configuration for a client: the bundled web PKI roots plus `ca_path`, the
/// client certificate when asked for, HTTP/1.1. Certificate verification cannot be turned
/// off. ring is the provider, chosen here rather than process-wide, so that no other
/// library's provider choice can change it.
pub fn tls_config(key: &ClientKey) -> Result<rustls::ClientConfig> {
    let mut roots: rustls::RootCertStore = webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
    if let Some(path) = &key.ca_path {
        for cert in certificates("ca_path", path)? {
            roots
                .add(cert)
                .map_err(|e| tls_error(&format!("config \"ca_path\": \"{path}\""), e))?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_error("TLS setup", e))?
    .with_root_certificates(roots);
    let mut tls = match &key.identity {
        None => builder.with_no_client_auth(),
        Some((cert_path, key_path)) => {
            let chain = certificates("cert_path", cert_path)?;
            let pem = read_pem("key_path", key_path)?;
            let private = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
                Error::Config(format!(
                    "config \"key_path\": \"{key_path}\" holds no usable PEM private key: {e}"
                ))
            })?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| tls_error("config \"cert_path\"/\"key_path\"", e))?
        }
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

fn build_client(key: &ClientKey) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(key)?)
        .timeout(key.timeout)
        .connect_timeout(key.connect_timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
        // A redirect would turn the POST into a GET to another place: never follow one.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("HTTP client setup failed: {e}")))
}

/// At most this many reqwest clients (each with its pool) are kept per process; the least
/// recently used goes first. A worker that varies timeouts per request or serves many
/// merchant certificates would otherwise grow without bound.
pub const MAX_CLIENTS: usize = 16;

/// A cached client with its last use: the tick orders evictions, the instant ends idle pools.
struct Cached {
    client: reqwest::Client,
    tick: u64,
    used_at: Instant,
}

struct Process {
    pid: u32,
    runtime: Arc<Runtime>,
    clients: HashMap<ClientKey, Cached>,
    tick: u64,
    /// Primary base URL → end of its cool-down.
    down_until: HashMap<String, Instant>,
    /// (base URL, mch_id) → sandbox key.
    sandbox_keys: HashMap<(String, String), Secret>,
}

static PROCESS: Mutex<Option<Process>> = Mutex::new(None);

fn with_process<T>(f: impl FnOnce(&mut Process) -> Result<T>) -> Result<T> {
    let mut guard = PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    if let Some(inherited) = guard.take_if(|p| p.pid != pid) {
        // Built by the parent before a fork: its runtime's threads do not exist here, so
        // dropping it could block on them. Leaking one runtime per fork is the safe cost.
        std::mem::forget(inherited);
    }
    let process = match &mut *guard {
        Some(process) => process,
        empty => empty.insert(Process {
            pid,
            runtime: Arc::new(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        Error::Http(HttpError {
                            message: format!("cannot start the HTTP runtime: {e}"),
                            ..HttpError::default()
                        })
                    })?,
            ),
            clients: HashMap::new(),
            tick: 0,
            down_until: HashMap::new(),
            sandbox_keys: HashMap::new(),
        }),
    };
    f(process)
}

impl Process {
    /// Drops the clients unused for [`POOL_IDLE_TIMEOUT`], and with them every connection
    /// of their pools: the sockets would otherwise stay open until the process ends.
    fn reap_idle(&mut self, now: Instant) {
        self.clients
            .retain(|_, c| now.saturating_duration_since(c.used_at) < POOL_IDLE_TIMEOUT);
    }
}

/// Lets the runtime's other tasks run: a connection whose pool was dropped, or that its
/// pool did not keep, is closed by its own task, which only runs inside a call.
async fn run_pending_tasks() {
    // A closing connection task needs a poll or two; a few spare rounds cost microseconds.
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
}

/// Runs `future` to completion on this process's runtime, after closing the connections
/// that were idle too long and before returning, closing those the pool did not keep.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        // block_on inside a runtime would panic; the PHP side never has one.
        return Err(Error::Http(HttpError {
            message: "the blocking client cannot be used from inside an async runtime".into(),
            ..HttpError::default()
        }));
    }
    let runtime = with_process(|p| {
        p.reap_idle(Instant::now());
        Ok(Arc::clone(&p.runtime))
    })?;
    Ok(runtime.block_on(async {
        run_pending_tasks().await;
        let output = future.await;
        run_pending_tasks().await;
        output
    }))
}

/// This process's client for `key`, built on first use.
pub fn client(key: &ClientKey) -> Result<reqwest::Client> {
    with_process(|p| {
        p.tick += 1;
        let tick = p.tick;
        let now = Instant::now();
        if let Some(cached) = p.clients.get_mut(key) {
            cached.tick = tick;
            cached.used_at = now;
            return Ok(cached.client.clone());
        }
        if p.clients.len() >= MAX_CLIENTS
            && let Some(oldest) = p
                .clients
                .iter()
                .min_by_key(|(_, c)| c.tick)
                .map(|(k, _)| k.clone())
        {
            p.clients.remove(&oldest);
        }
        // Built inside the runtime's context so that anything it spawns lands there.
        let _context = p.runtime.enter();
        let client = build_client(key)?;
        p.clients.insert(
            key.clone(),
            Cached {
                client: client.clone(),
                tick,
                used_at: now,
            },
        );
        Ok(client)
    })
}

/// The base URL to use now: the backup while the primary is cooling down.
pub fn base_url(config: &Config) -> String {
    let down = config.failover
        && with_process(|p| {
            Ok(p.down_until
                .get(&config.base_url)
                .is_some_and(|until| Instant::now() < *until))
        })
        .unwrap_or(false);
    if down {
        config.backup_url.clone()
    } else {
        config.base_url.clone()
    }
}

/// Records a transport failure at `base`: a failing primary starts its cool-down; a failing
/// backup ends it, so the next attempt goes back to the primary.
pub fn transport_failed(config: &Config, base: &str) {
    if !config.failover {
        return;
    }
    // Only bookkeeping: a process-state failure here changes nothing for the caller.
    let _ = with_process(|p| {
        if base == config.base_url {
            p.down_until
                .insert(config.base_url.clone(), Instant::now() + FAILOVER_COOL_DOWN);
        } else {
            p.down_until.remove(&config.base_url);
        }
        Ok(())
    });
}

/// The cached sandbox key for this merchant at this base URL.
pub fn sandbox_key(config: &Config) -> Option<Secret> {
    with_process(|p| {
        Ok(p.sandbox_keys
            .get(&(config.base_url.clone(), config.mch_id.clone()))
            .cloned())
    })
    .ok()
    .flatten()
}

pub fn store_sandbox_key(config: &Config, key: Secret) {
    // A cache: failing to store only means fetching again next time.
    let _ = with_process(|p| {
        p.sandbox_keys
            .insert((config.base_url.clone(), config.mch_id.clone()), key);
        Ok(())
    });
}

/// How a POST failed; decides whether it may be retried or fail over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// No connection was made: nothing was sent.
    Connect,
    /// The connection closed before an answer: typically a pooled connection the server
    /// was closing. Whether the request was processed is unknown.
    Stale,
    Timeout,
    /// Any other failure after the request may have been sent.
    Dropped,
    /// HTTP 5xx.
    ServerError,
    /// Another non-2xx status, or a body over the size cap: not a transport fault.
    Refused,
}

impl FailureKind {
    /// Whether the failure is the transport's (so another attempt or host may help).
    pub fn is_transport(self) -> bool {
        self != Self::Refused
    }
}

#[derive(Clone, Debug)]
pub struct Failure {
    pub kind: FailureKind,
    pub error: HttpError,
}

/// The causes below reqwest's own "error sending request for url (…)", which add the part
/// worth reading ("connection refused", "certificate expired").
fn causes(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// Whether any cause below `e` passes `test`, including the errors `io::Error`s wrap (their
/// `source()` skips the wrapped error; rustls's arrives wrapped twice).
fn any_cause(
    e: &reqwest::Error,
    test: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let mut layer = Some(s);
        while let Some(l) = layer {
            if test(l) {
                return true;
            }
            layer = l
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|inner| inner as &(dyn std::error::Error + 'static));
        }
        source = s.source();
    }
    false
}

fn closed_early(e: &reqwest::Error) -> bool {
    any_cause(e, |s| {
        s.downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_incomplete_message() || h.is_canceled())
            || s.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                )
            })
    })
}

/// The server's certificate was refused (unknown issuer, expired, wrong name, …): a retry
/// cannot help, and when the server is a simulator or a proxy its CA belongs in `ca_path`.
fn certificate_refused(e: &reqwest::Error) -> bool {
    any_cause(e, |s| {
        matches!(
            s.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        )
    })
}

fn failure(base: &str, path: &str, e: &reqwest::Error) -> Failure {
    let kind = if e.is_connect() {
        FailureKind::Connect
    } else if e.is_timeout() {
        FailureKind::Timeout
    } else if closed_early(e) {
        FailureKind::Stale
    } else {
        FailureKind::Dropped
    };
    let what = match kind {
        FailureKind::Connect => "cannot connect",
        FailureKind::Timeout => "timed out",
        FailureKind::Stale => "connection closed before the answer",
        _ => "request failed",
    };
    Failure {
        kind,
        error: HttpError {
            message: format!(
                "POST {path} on {base}: {what}: {}{}",
                causes(e),
                if certificate_refused(e) {
                    "; the server's certificate is not trusted: for a simulator or a proxy, \
                     set config \"ca_path\" to its CA certificate"
                } else {
                    ""
                }
            ),
            timeout: e.is_timeout(),
            status: None,
        },
    }
}

/// POSTs an XML body to `base` + `path` and returns the answer's body (at most `max`
/// bytes), all within `timeout` (connect, send and read). Error messages name the path and
/// the cause, never the body.
pub async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: String,
    max: usize,
    timeout: Duration,
) -> std::result::Result<Vec<u8>, Failure> {
    let mut response = client
        .post(format!("{base}{path}"))
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .map_err(|e| failure(base, path, &e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Failure {
            kind: if status.is_server_error() {
                FailureKind::ServerError
            } else {
                FailureKind::Refused
            },
            error: HttpError {
                message: format!("POST {path} on {base}: HTTP status {status}"),
                timeout: false,
                status: Some(status.as_u16()),
            },
        });
    }
    let mut out = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failure(base, path, &e))?
    {
        if out.len() + chunk.len() > max {
            return Err(Failure {
                kind: FailureKind::Refused,
                error: HttpError {
                    message: format!(
                        "POST {path} on {base}: the answer is larger than {max} bytes"
                    ),
                    timeout: false,
                    status: Some(status.as_u16()),
                },
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ca_path: Option<&str>) -> ClientKey {
        ClientKey {
            ca_path: ca_path.map(str::to_owned),
            identity: None,
            timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_millis(200),
        }
    }

    #[test]
    fn tls_material_errors_are_config_errors() {
        tls_config(&key(None)).unwrap();
        let dir = std::env::temp_dir().join(format!("wxpay-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let junk = junk.to_str().unwrap();
        match tls_config(&key(Some(junk))) {
            Err(Error::Config(m)) => assert!(m.contains("holds no PEM certificate"), "{m}"),
            other => panic!("{other:?}"),
        }
        let with_cert = ClientKey {
            identity: Some((junk.to_owned(), junk.to_owned())),
            ..key(None)
        };
        assert!(matches!(tls_config(&with_cert), Err(Error::Config(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unreachable_host_is_a_connect_failure_naming_the_path() {
        // Port 9 on loopback: nothing listens, the connection is refused at once.
        let client = client(&key(None)).unwrap();
        let result = block_on(post(
            &client,
            "http://127.0.0.1:9",
            "/pay/orderquery",
            "<xml/>".into(),
            1024,
            Duration::from_secs(1),
        ))
        .unwrap();
        let failure = result.unwrap_err();
        assert_eq!(failure.kind, FailureKind::Connect);
        assert!(
            failure
                .error
                .message
                .starts_with("POST /pay/orderquery on http://127.0.0.1:9: cannot connect"),
            "{}",
            failure.error.message
        );
    }

    /// Tests that inspect or reset the per-process state run one at a time.
    static PROCESS_TESTS: Mutex<()> = Mutex::new(());

    #[test]
    fn client_cache_is_bounded_and_keeps_the_recent_ones() {
        let _serial = PROCESS_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
        let timed = |ms: u64| ClientKey {
            timeout: Duration::from_millis(1000 + ms),
            ..key(None)
        };
        client(&timed(0)).unwrap();
        for ms in 1..(3 * MAX_CLIENTS as u64) {
            client(&timed(ms)).unwrap();
            // Keep the first one in use: it must survive the evictions.
            client(&timed(0)).unwrap();
        }
        with_process(|p| {
            assert!(p.clients.len() <= MAX_CLIENTS);
            assert!(p.clients.contains_key(&timed(0)));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn clients_idle_longer_than_the_pool_timeout_are_dropped() {
        let _serial = PROCESS_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
        let idle = ClientKey {
            timeout: Duration::from_millis(4321),
            ..key(None)
        };
        let busy = ClientKey {
            timeout: Duration::from_millis(4322),
            ..key(None)
        };
        client(&idle).unwrap();
        client(&busy).unwrap();
        let later = Instant::now() + POOL_IDLE_TIMEOUT;
        with_process(|p| {
            // `busy` was used just before `later`, `idle` a whole idle timeout before it.
            p.clients.get_mut(&busy).unwrap().used_at = later - Duration::from_secs(1);
            p.reap_idle(later);
            assert!(!p.clients.contains_key(&idle));
            assert!(p.clients.contains_key(&busy));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn state_is_rebuilt_when_the_pid_changes() {
        let _serial = PROCESS_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
        let first = with_process(|p| Ok(Arc::as_ptr(&p.runtime))).unwrap();
        // Pretend the state was inherited from a parent process.
        with_process(|p| {
            p.pid = 0;
            Ok(())
        })
        .unwrap();
        let second = with_process(|p| Ok(Arc::as_ptr(&p.runtime))).unwrap();
        assert_ne!(first, second);
        assert_eq!(with_process(|p| Ok(p.pid)).unwrap(), std::process::id());
    }
}
