//! Per-thread HTTP machinery: one current-thread tokio runtime and the reqwest clients that
//! own its pooled connections, kept together in a thread-local and rebuilt in a forked child
//! (php-fpm forks workers after module init; threads and sockets inherited from the parent
//! are unusable; checked with pcntl_fork and php-fpm). Nothing is created before the first
//! call.
//!
//! Per thread rather than per process: under ZTS PHP every thread serves its own requests,
//! and a shared current-thread runtime would run their calls one at a time. Threads share
//! nothing here, so they neither wait for nor race each other. Under NTS there is one thread
//! and so one runtime per process, as before.
//!
//! Also per thread: the failover state of each primary URL and the cached sandbox keys.

use crate::config::{Config, Secret};
use crate::error::{Error, HttpError, Result};
use crate::marketing::RiskKey;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
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
    /// The config's `proxy`; `None`: direct connections only (environment proxies are
    /// never used).
    pub proxy: Option<String>,
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
            proxy: config.proxy.clone(),
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
    let builder = reqwest::Client::builder();
    // reqwest reads HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY from the environment
    // unless told otherwise. wxpay never does: the environment differs between the CLI and
    // php-fpm (whose clear_env is on by default), a CGI's HTTP_PROXY can come from a request
    // header ("httpoxy"), and a loopback simulator must never be sent to a proxy nobody
    // configured. The config's `proxy` is the only one, for every host, loopback included.
    let builder = match &key.proxy {
        None => builder.no_proxy(),
        Some(url) => builder.proxy(
            reqwest::Proxy::all(url.as_str())
                .map_err(|e| Error::Config(format!("config \"proxy\" is not usable: {e}")))?,
        ),
    };
    builder
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

/// At most this many reqwest clients (each with its pool) are kept per thread; the least
/// recently used goes first. A worker that varies timeouts per request or serves many
/// merchant certificates would otherwise grow without bound.
pub const MAX_CLIENTS: usize = 16;

/// A cached client with its last use: the tick orders evictions, the instant ends idle pools.
struct Cached {
    key: ClientKey,
    client: reqwest::Client,
    tick: u64,
    used_at: Instant,
}

struct Process {
    /// [`forks`] when this state was built: another count means it was inherited.
    forks: u64,
    runtime: Rc<Runtime>,
    /// The runtime's descriptors of its epoll instance, to find what a forked child closes.
    epolls: Vec<RawFd>,
    /// At most [`MAX_CLIENTS`], looked up on every call: comparing keys costs less than
    /// hashing one.
    clients: Vec<Cached>,
    /// Request URLs parsed before, newest first: parsing one (its host above all) costs
    /// more than the rest of building a request.
    urls: std::collections::VecDeque<(String, url::Url)>,
    tick: u64,
    /// Primary base URL → end of its cool-down.
    down_until: HashMap<String, Instant>,
    /// (base URL, mch_id) → sandbox key.
    sandbox_keys: HashMap<(String, String), Secret>,
    /// (risk URL, mch_id) → WeChat's RSA key for bank-card fields (docs/protocol.md §12.5).
    risk_keys: HashMap<(String, String), Rc<RiskKey>>,
    /// The (local, remote) addresses of the connections answers came on, newest last: an
    /// answer on a pair seen before came on a reused connection.
    connections: std::collections::VecDeque<(SocketAddr, SocketAddr)>,
}

/// This thread's state, dropped when the thread ends; but one inherited through a fork is
/// abandoned, never dropped, even at exit: dropping its connections would deregister them
/// from the epoll instance the parent shares, and the parent's next call on them would wait
/// for an answer it is never woken for.
struct Slot(Option<Process>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(inherited) = self.0.take_if(|p| p.forks != FORKS.load(Ordering::Relaxed)) {
            inherited.abandon();
        }
    }
}

/// Forks of this process, counted in every child by a `pthread_atfork` handler: what tells
/// inherited state apart, without the `getpid()` syscall that several uses per call cost.
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_fork() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// The current [`FORKS`] count. The handler is registered before any state is built, so
/// every fork that could inherit state is counted; glibc removes it when this library is
/// unloaded. Fails only if it could not be registered: without it a fork would go unseen.
fn forks() -> Result<u64> {
    static WATCHING: OnceLock<bool> = OnceLock::new();
    // SAFETY: the handler only increments an atomic, which is async-signal-safe as a child
    // handler must be.
    let watching = *WATCHING
        .get_or_init(|| unsafe { libc::pthread_atfork(None, None, Some(count_fork)) } == 0);
    if !watching {
        return Err(Error::Http(HttpError {
            message: "cannot register the fork handler of the HTTP runtime".into(),
            ..HttpError::default()
        }));
    }
    Ok(FORKS.load(Ordering::Relaxed))
}

thread_local! {
    static PROCESS: RefCell<Slot> = const { RefCell::new(Slot(None)) };
}

/// Inode and device of the file behind this process's descriptor `fd`.
fn identity(fd: RawFd) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(format!("/proc/self/fd/{fd}")).ok()?;
    Some((meta.ino(), meta.dev()))
}

fn is_epoll(fd: RawFd) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .is_ok_and(|target| target.as_os_str() == "anon_inode:[eventpoll]")
}

/// What the epoll instance behind `epoll` watches: (descriptor, inode, device) as the kernel
/// lists them, from lines like "tfd:  9 events: 19 data: 0  pos:0 ino:1a2b sdev:8".
fn registrations(epoll: RawFd) -> Vec<(RawFd, u64, u64)> {
    let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{epoll}")) else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != "tfd:" {
                return None;
            }
            let fd = words.next()?.parse().ok()?;
            let hex = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .and_then(|v| u64::from_str_radix(v, 16).ok())
            };
            Some((fd, hex("ino:")?, user_dev(hex("sdev:")?)))
        })
        .collect()
}

/// A device number as the kernel prints it in fdinfo (major << 20 | minor) in the encoding
/// `stat` returns; they differ once a minor passes 255 (many mounts).
fn user_dev(kernel: u64) -> u64 {
    let (major, minor) = (kernel >> 20, kernel & 0xf_ffff);
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// The descriptors of `runtime`'s epoll instance (tokio holds two, a duplicate for its
/// registry). Found by registering a probe socket with the runtime and looking for the
/// instances that list it: other runtimes, of other threads, list other sockets.
fn runtime_epolls(runtime: &Runtime) -> Vec<RawFd> {
    let _context = runtime.enter();
    let Ok((probe, _peer)) = tokio::net::UnixStream::pair() else {
        return Vec::new();
    };
    let probe_fd = std::os::fd::AsRawFd::as_raw_fd(&probe);
    let Some(probe_id) = identity(probe_fd) else {
        return Vec::new();
    };
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| is_epoll(fd))
        .filter(|&fd| {
            registrations(fd)
                .iter()
                .any(|&(tfd, ino, dev)| tfd == probe_fd && (ino, dev) == probe_id)
        })
        .collect()
}

impl Process {
    fn new(forks: u64) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::Http(HttpError {
                    message: format!("cannot start the HTTP runtime: {e}"),
                    ..HttpError::default()
                })
            })?;
        Ok(Self {
            forks,
            epolls: runtime_epolls(&runtime),
            runtime: Rc::new(runtime),
            clients: Vec::new(),
            urls: std::collections::VecDeque::new(),
            tick: 0,
            down_until: HashMap::new(),
            sandbox_keys: HashMap::new(),
            risk_keys: HashMap::new(),
            connections: std::collections::VecDeque::new(),
        })
    }

    /// In a child forked after this state was built: closes the child's copies of the
    /// runtime's descriptors (its epoll instance, waker and pooled connections), so that
    /// they do not pile up over generations of forks. Nothing is sent or shut down: the
    /// parent keeps using the same connections. The rest is leaked, not dropped: dropping
    /// would wait for the parent's runtime threads, which do not exist here.
    fn abandon(self) {
        for fd in self.inherited_descriptors() {
            // SAFETY: `fd` is open and is the very file the inherited runtime owns (checked
            // by inode); nothing else in this process uses it, and the leaked state that
            // does is never touched again.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        std::mem::forget(self);
    }

    /// What the runtime registered and still holds, then its epoll descriptors. The epoll
    /// instance is shared with the parent, which may register new connections after the
    /// fork under numbers that mean other files here: a registration counts only when the
    /// descriptor with its number here is the same file.
    fn inherited_descriptors(&self) -> Vec<RawFd> {
        let epolls: Vec<RawFd> = self
            .epolls
            .iter()
            .copied()
            .filter(|&fd| is_epoll(fd))
            .collect();
        let Some(&epoll) = epolls.first() else {
            return Vec::new();
        };
        let mut fds: Vec<RawFd> = registrations(epoll)
            .into_iter()
            .filter(|&(fd, ino, dev)| !epolls.contains(&fd) && identity(fd) == Some((ino, dev)))
            .map(|(fd, _, _)| fd)
            .collect();
        fds.extend(epolls);
        fds
    }
}

impl Process {
    /// Drops the clients unused for [`POOL_IDLE_TIMEOUT`], and with them every connection
    /// of their pools: the sockets would otherwise stay open until the process ends.
    fn reap_idle(&mut self, now: Instant) {
        self.clients
            .retain(|c| now.saturating_duration_since(c.used_at) < POOL_IDLE_TIMEOUT);
    }

    fn cached(&mut self, key: &ClientKey) -> Option<&mut Cached> {
        self.clients.iter_mut().find(|c| c.key == *key)
    }
}

/// Lets the runtime's other tasks run for `rounds` scheduler rounds: a connection whose pool
/// was dropped, that its pool did not keep, or that the server closed, is closed by its own
/// task, which only runs inside a call. A round runs every task already woken (and those
/// they wake), then polls the driver for I/O events, whose tasks run in the next round;
/// each round costs an `epoll_wait`, so [`block_on`] asks for no more than it needs.
async fn run_pending_tasks(rounds: usize) {
    for _ in 0..rounds {
        tokio::task::yield_now().await;
    }
}

fn with_process<T>(f: impl FnOnce(&mut Process) -> Result<T>) -> Result<T> {
    let forks = forks()?;
    PROCESS.with_borrow_mut(|Slot(slot)| {
        if let Some(inherited) = slot.take_if(|p| p.forks != forks) {
            inherited.abandon();
        }
        let process = match slot {
            Some(process) => process,
            empty => empty.insert(Process::new(forks)?),
        };
        f(process)
    })
}

/// Runs `future` to completion on this thread's runtime, after closing the connections
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
        Ok(Rc::clone(&p.runtime))
    })?;
    Ok(runtime.block_on(async {
        // Two rounds: the first finds the connections the server closed since the last call
        // (and runs the tasks of reaped pools), the second runs the tasks the first woke, so
        // that no request is sent on such a connection.
        run_pending_tasks(2).await;
        let output = future.await;
        // One round: what the call left to close (connections the pool did not keep, or of a
        // failed or cancelled request) is already woken and needs no I/O event first.
        run_pending_tasks(1).await;
        output
    }))
}

/// This thread's client for `key`, built on first use.
pub fn client(key: &ClientKey) -> Result<reqwest::Client> {
    with_process(|p| {
        p.tick += 1;
        let tick = p.tick;
        let now = Instant::now();
        if let Some(cached) = p.cached(key) {
            cached.tick = tick;
            cached.used_at = now;
            return Ok(cached.client.clone());
        }
        if p.clients.len() >= MAX_CLIENTS
            && let Some(oldest) = (0..p.clients.len()).min_by_key(|&i| p.clients[i].tick)
        {
            p.clients.swap_remove(oldest);
        }
        // Built inside the runtime's context so that anything it spawns lands there.
        let _context = p.runtime.enter();
        let client = build_client(key)?;
        p.clients.push(Cached {
            key: key.clone(),
            client: client.clone(),
            tick,
            used_at: now,
        });
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
/// backup ends it, so the next attempt goes back to the primary. True when this moved the
/// thread to the backup URL.
pub fn transport_failed(config: &Config, base: &str) -> bool {
    if !config.failover {
        return false;
    }
    // Only bookkeeping: a process-state failure here changes nothing for the caller.
    with_process(|p| {
        if base == config.base_url {
            p.down_until
                .insert(config.base_url.clone(), Instant::now() + FAILOVER_COOL_DOWN);
            Ok(true)
        } else {
            p.down_until.remove(&config.base_url);
            Ok(false)
        }
    })
    .unwrap_or(false)
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

/// The cached RSA key of this merchant at this risk URL: fetched once per process (per
/// thread under ZTS), as the sandbox key is.
pub fn risk_key(config: &Config) -> Option<Rc<RiskKey>> {
    with_process(|p| {
        Ok(p.risk_keys
            .get(&(config.risk_url.clone(), config.mch_id.clone()))
            .cloned())
    })
    .ok()
    .flatten()
}

pub fn store_risk_key(config: &Config, key: Rc<RiskKey>) {
    // A cache: failing to store only means fetching again next time.
    let _ = with_process(|p| {
        p.risk_keys
            .insert((config.risk_url.clone(), config.mch_id.clone()), key);
        Ok(())
    });
}

/// Connections remembered per thread to tell a reused one from a new one: more than the
/// pool can hold ([`MAX_CLIENTS`] × [`POOL_MAX_IDLE_PER_HOST`] per host).
pub const CONNECTIONS_REMEMBERED: usize = 256;

/// Whether an answer came on a new connection or one reused from the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    New,
    Reused,
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Reused => "reused",
        }
    }
}

/// reqwest does not say whether a request went on a pooled connection. It does put the
/// connection's local and remote address in each response (hyper-util's `HttpInfo`; through
/// a proxy, the connection to the proxy): a pair this thread saw before is the same
/// connection again, since two open connections never share both addresses. Approximate
/// only in that a new connection that happens to get the port of a closed one to the same
/// server, while that one is still remembered, counts as reused; and a connection not seen
/// for [`CONNECTIONS_REMEMBERED`] answers counts as new. `None` when reqwest gave no address.
fn connection_of(response: &reqwest::Response) -> Option<Connection> {
    let info = response
        .extensions()
        .get::<hyper_util::client::legacy::connect::HttpInfo>()?;
    let pair = (info.local_addr(), info.remote_addr());
    with_process(|p| {
        let seen = match p.connections.iter().position(|c| *c == pair) {
            Some(i) => {
                p.connections.remove(i);
                true
            }
            None => false,
        };
        if p.connections.len() >= CONNECTIONS_REMEMBERED {
            p.connections.pop_front();
        }
        p.connections.push_back(pair);
        Ok(if seen {
            Connection::Reused
        } else {
            Connection::New
        })
    })
    .ok()
}

/// Request URLs remembered per thread: more than the calls one worker makes to one base.
pub const URLS_REMEMBERED: usize = 32;

/// `url` parsed, from this thread's memory of recent ones when it is there. `None` when it
/// does not parse: reqwest then refuses the text itself, with its own error.
fn parsed_url(url: &str) -> Option<url::Url> {
    with_process(|p| {
        if let Some((_, parsed)) = p.urls.iter().find(|(text, _)| text == url) {
            return Ok(Some(parsed.clone()));
        }
        let Ok(parsed) = url::Url::parse(url) else {
            return Ok(None);
        };
        p.urls.truncate(URLS_REMEMBERED - 1);
        p.urls.push_front((url.to_owned(), parsed.clone()));
        Ok(Some(parsed))
    })
    .ok()
    .flatten()
}

/// A 2xx answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub connection: Option<Connection>,
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
    /// The connection the failing answer came on, when there was an answer.
    pub connection: Option<Connection>,
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

fn failure(base: &str, path: &str, proxy: Option<&str>, e: &reqwest::Error) -> Failure {
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
    let through = proxy.map_or(String::new(), |p| format!(" (through proxy {p})"));
    Failure {
        kind,
        connection: None,
        error: HttpError {
            message: format!(
                "POST {path} on {base}{through}: {what}: {}{}",
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

/// POSTs an XML body to `base` + `path` and returns the answer (its body at most `max`
/// bytes), all within `timeout` (connect, send and read). Error messages name the path, the
/// proxy when there is one, and the cause, never the body.
pub async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: String,
    limit: BodyLimit,
    timeout: Duration,
) -> std::result::Result<Answer, Failure> {
    post_via(client, base, None, path, body, limit, timeout).await
}

/// How large an answer may be, and what the refusal calls that limit, so that it says
/// which setting was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimit {
    pub bytes: usize,
    pub name: &'static str,
}

impl BodyLimit {
    /// Every XML answer: the decoder's own cap.
    pub const XML: Self = Self {
        bytes: crate::xml::DEFAULT_MAX_BYTES,
        name: "the limit for XML answers",
    };

    /// Bills: the config's `bill_max_bytes`.
    pub fn bill(config: &Config) -> Self {
        Self {
            bytes: config.bill_max_bytes,
            name: "bill_max_bytes",
        }
    }
}

/// [`post`] on a client built with `proxy` (named in error messages).
pub async fn post_via(
    client: &reqwest::Client,
    base: &str,
    proxy: Option<&str>,
    path: &str,
    body: String,
    limit: BodyLimit,
    timeout: Duration,
) -> std::result::Result<Answer, Failure> {
    let url = format!("{base}{path}");
    let request = match parsed_url(&url) {
        Some(parsed) => client.post(parsed),
        None => client.post(url),
    };
    let mut response = request
        .timeout(timeout)
        .header(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("text/xml; charset=utf-8"),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| failure(base, path, proxy, &e))?;
    let status = response.status();
    let connection = connection_of(&response);
    if !status.is_success() {
        return Err(Failure {
            connection,
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
    let too_large = || Failure {
        connection,
        kind: FailureKind::Refused,
        error: HttpError {
            message: format!(
                "POST {path} on {base}: the answer is larger than {} ({} bytes)",
                limit.name, limit.bytes
            ),
            timeout: false,
            status: Some(status.as_u16()),
        },
    };
    // A declared length over the limit is refused before anything is read; a declared
    // length within it sizes the buffer once (growing by doubling would hold up to twice
    // the answer).
    let declared = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok());
    if declared.is_some_and(|n| n > limit.bytes) {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|e| Failure {
        connection,
        ..failure(base, path, proxy, &e)
    })? {
        if out.len() + chunk.len() > limit.bytes {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status: status.as_u16(),
        body: out,
        connection,
    })
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
            proxy: None,
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
            BodyLimit::XML,
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

    #[test]
    fn device_numbers_in_stat_encoding() {
        assert_eq!(user_dev(9), 9);
        assert_eq!(user_dev((8 << 20) | 1), (8 << 8) | 1);
        // Minor 300 of the unnamed major 0, as on a host with many mounts.
        assert_eq!(user_dev(300), 0x2c | (0x100 << 12));
    }

    #[test]
    fn client_cache_is_bounded_and_keeps_the_recent_ones() {
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
            assert!(p.cached(&timed(0)).is_some());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn clients_idle_longer_than_the_pool_timeout_are_dropped() {
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
            p.cached(&busy).unwrap().used_at = later - Duration::from_secs(1);
            p.reap_idle(later);
            assert!(p.cached(&idle).is_none());
            assert!(p.cached(&busy).is_some());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn state_is_rebuilt_after_a_fork() {
        let first = with_process(|p| Ok(Rc::as_ptr(&p.runtime))).unwrap();
        // Pretend the state was inherited from a parent process.
        with_process(|p| {
            p.forks = u64::MAX;
            Ok(())
        })
        .unwrap();
        let second = with_process(|p| Ok(Rc::as_ptr(&p.runtime))).unwrap();
        assert_ne!(first, second);
        assert_eq!(with_process(|p| Ok(p.forks)).unwrap(), forks().unwrap());
    }

    /// A real fork is counted in the child, and only there.
    #[test]
    fn forks_are_counted_in_the_child() {
        let before = forks().unwrap();
        // SAFETY: the child only reads an atomic and exits without unwinding.
        match unsafe { libc::fork() } {
            0 => unsafe { libc::_exit(i32::from(forks().ok() != Some(before + 1))) },
            -1 => panic!("fork failed"),
            child => {
                let mut status = 0;
                assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
            }
        }
        assert_eq!(forks().unwrap(), before);
    }

    /// A keep-alive HTTP/1.1 server on loopback that answers every POST with `ok` after
    /// `delay`, one thread per connection.
    fn server(delay: Duration) -> String {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    loop {
                        let mut length = 0;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap();
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        std::thread::sleep(delay);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if stream.write_all(answer).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        url
    }

    fn post_ok(url: &str) {
        let client = client(&key(None)).unwrap();
        let body = block_on(post(
            &client,
            url,
            "/x",
            "<xml/>".into(),
            BodyLimit::XML,
            Duration::from_secs(5),
        ))
        .unwrap();
        assert_eq!(body.unwrap().body, b"ok");
    }

    /// ZTS: every thread has its own runtime, so calls from several threads overlap instead
    /// of taking turns; each thread's state is dropped when it exits (with a pooled
    /// connection still open), which must not panic.
    #[test]
    fn threads_have_their_own_runtime_and_do_not_wait_for_each_other() {
        const THREADS: usize = 4;
        let delay = Duration::from_millis(400);
        let url = server(delay);
        let all_built = Arc::new(std::sync::Barrier::new(THREADS));
        let started = Instant::now();
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (url, all_built) = (url.clone(), Arc::clone(&all_built));
                std::thread::spawn(move || {
                    post_ok(&url);
                    // Every thread's state is alive at once, so their addresses differ
                    // unless the runtime is shared.
                    let runtime = with_process(|p| Ok(Rc::as_ptr(&p.runtime) as usize)).unwrap();
                    all_built.wait();
                    runtime
                })
            })
            .collect();
        let mut runtimes: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let elapsed = started.elapsed();
        runtimes.sort_unstable();
        runtimes.dedup();
        assert_eq!(runtimes.len(), THREADS);
        assert!(
            elapsed < delay * 3,
            "{THREADS} calls of {delay:?} took {elapsed:?}: they ran one at a time"
        );
    }

    /// A proxy on loopback speaking HTTP (CONNECT, or a request in absolute form) and SOCKS5
    /// without authentication, one thread per connection; every request line or SOCKS5
    /// target it handled goes into the returned list.
    fn proxy() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::net::TcpStream;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        fn pump(a: TcpStream, b: TcpStream) {
            let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
            let (mut a, mut b) = (a, b);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut a2, &mut b2);
                let _ = b2.shutdown(std::net::Shutdown::Write);
            });
            let _ = std::io::copy(&mut b, &mut a);
            let _ = a.shutdown(std::net::Shutdown::Write);
        }
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let mut first = [0u8; 1];
                    let mut peek = stream.try_clone().unwrap();
                    if stream.peek(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    if first[0] == 5 {
                        // SOCKS5: greeting, then CONNECT to an IPv4 address or a name.
                        let mut greeting = [0u8; 2];
                        peek.read_exact(&mut greeting).unwrap();
                        let mut methods = vec![0u8; greeting[1] as usize];
                        peek.read_exact(&mut methods).unwrap();
                        peek.write_all(&[5, 0]).unwrap();
                        let mut head = [0u8; 4];
                        peek.read_exact(&mut head).unwrap();
                        let host = match head[3] {
                            1 => {
                                let mut ip = [0u8; 4];
                                peek.read_exact(&mut ip).unwrap();
                                std::net::Ipv4Addr::from(ip).to_string()
                            }
                            3 => {
                                let mut len = [0u8; 1];
                                peek.read_exact(&mut len).unwrap();
                                let mut name = vec![0u8; len[0] as usize];
                                peek.read_exact(&mut name).unwrap();
                                String::from_utf8(name).unwrap()
                            }
                            _ => return,
                        };
                        let mut port = [0u8; 2];
                        peek.read_exact(&mut port).unwrap();
                        let target = format!("{host}:{}", u16::from_be_bytes(port));
                        log.lock().unwrap().push(format!("SOCKS5 {target}"));
                        let upstream = TcpStream::connect(&target).unwrap();
                        peek.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
                        pump(stream, upstream);
                        return;
                    }
                    let mut reader = BufReader::new(peek);
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    log.lock().unwrap().push(line.trim_end().to_owned());
                    let mut words = line.split_whitespace();
                    let (method, target) = (words.next().unwrap(), words.next().unwrap());
                    let mut head = Vec::new();
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        if h == "\r\n" || h.is_empty() {
                            break;
                        }
                        head.push(h);
                    }
                    if method == "CONNECT" {
                        let upstream = TcpStream::connect(target).unwrap();
                        let mut out = stream.try_clone().unwrap();
                        out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                            .unwrap();
                        pump(stream, upstream);
                    } else {
                        // Absolute form: forward the request as it came, to its host.
                        let authority = target
                            .strip_prefix("http://")
                            .unwrap()
                            .split('/')
                            .next()
                            .unwrap();
                        let mut upstream = TcpStream::connect(authority).unwrap();
                        upstream.write_all(line.as_bytes()).unwrap();
                        for h in &head {
                            upstream.write_all(h.as_bytes()).unwrap();
                        }
                        upstream.write_all(b"\r\n").unwrap();
                        let buffered = reader.buffer().to_vec();
                        upstream.write_all(&buffered).unwrap();
                        pump(stream, upstream);
                    }
                });
            }
        });
        (addr.to_string(), seen)
    }

    /// With config "proxy", every request goes through it (HTTP and SOCKS5), loopback
    /// included; a dead proxy is a connect failure that names it.
    #[test]
    fn the_configured_proxy_carries_every_request() {
        let url = server(Duration::ZERO);
        let (proxy_addr, seen) = proxy();
        for scheme in ["http", "socks5", "socks5h"] {
            let proxy = format!("{scheme}://{proxy_addr}");
            let client = client(&ClientKey {
                proxy: Some(proxy.clone()),
                ..key(None)
            })
            .unwrap();
            let answer = block_on(post_via(
                &client,
                &url,
                Some(&proxy),
                "/pay/orderquery",
                "<xml/>".into(),
                BodyLimit::XML,
                Duration::from_secs(5),
            ))
            .unwrap()
            .unwrap();
            assert_eq!(answer.body, b"ok");
            let target = url.strip_prefix("http://").unwrap();
            let expected = match scheme {
                "http" => format!("POST {url}/pay/orderquery HTTP/1.1"),
                _ => format!("SOCKS5 {target}"),
            };
            assert_eq!(seen.lock().unwrap().pop(), Some(expected), "{scheme}");
        }
        let dead = "http://127.0.0.1:9".to_owned();
        let client = client(&ClientKey {
            proxy: Some(dead.clone()),
            ..key(None)
        })
        .unwrap();
        let failure = block_on(post_via(
            &client,
            &url,
            Some(&dead),
            "/x",
            "<xml/>".into(),
            BodyLimit::XML,
            Duration::from_secs(5),
        ))
        .unwrap()
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Connect);
        assert!(
            failure
                .error
                .message
                .contains("(through proxy http://127.0.0.1:9): cannot connect"),
            "{}",
            failure.error.message
        );
    }

    /// The first answer on a connection says "new", the next on the same pooled one
    /// "reused"; a fresh client (a fresh pool) makes a new connection again.
    #[test]
    fn answers_tell_new_from_reused_connections() {
        let url = server(Duration::ZERO);
        let post_with = |k: &ClientKey| {
            let c = client(k).unwrap();
            block_on(post(
                &c,
                &url,
                "/x",
                "<xml/>".into(),
                BodyLimit::XML,
                Duration::from_secs(5),
            ))
            .unwrap()
            .unwrap()
            .connection
        };
        let first = ClientKey {
            timeout: Duration::from_millis(1234),
            ..key(None)
        };
        assert_eq!(post_with(&first), Some(Connection::New));
        assert_eq!(post_with(&first), Some(Connection::Reused));
        let other = ClientKey {
            timeout: Duration::from_millis(1235),
            ..key(None)
        };
        assert_eq!(post_with(&other), Some(Connection::New));
        assert_eq!(post_with(&first), Some(Connection::Reused));
    }

    fn socket_inode(fd: RawFd) -> Option<u64> {
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
        if !target.to_string_lossy().starts_with("socket:") {
            return None;
        }
        std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .ok()
            .map(|m| m.ino())
    }

    /// What a forked child does with the state it inherited, done here by pretending a fork
    /// happened: the runtime's epoll instance, waker and pooled connection are closed.
    #[test]
    fn inherited_descriptors_are_closed() {
        let url = server(Duration::ZERO);
        let sockets = || -> Vec<(RawFd, u64)> {
            let inherited = with_process(|p| Ok(p.inherited_descriptors())).unwrap();
            let epolls = with_process(|p| Ok(p.epolls.clone())).unwrap();
            assert!(!epolls.is_empty(), "the runtime's epoll instance is found");
            assert!(inherited.ends_with(&epolls), "{inherited:?}");
            inherited
                .iter()
                .filter_map(|&fd| socket_inode(fd).map(|ino| (fd, ino)))
                .collect()
        };
        // Before any call: tokio's signal socket at most (when a crate in the build turns
        // that feature on); the signal socket is a duplicate of a process-wide one, so a
        // new runtime may get it back under the same number: only the connection is checked.
        let idle = sockets();
        post_ok(&url);
        let mut connections = sockets();
        connections.retain(|s| !idle.contains(s));
        assert_eq!(
            connections.len(),
            1,
            "one pooled connection: {connections:?}"
        );
        with_process(|p| {
            p.forks = u64::MAX;
            Ok(())
        })
        .unwrap();
        with_process(|_| Ok(())).unwrap();
        for (fd, ino) in connections {
            assert_ne!(socket_inode(fd), Some(ino), "descriptor {fd} is still open");
        }
        // The new state works.
        post_ok(&url);
    }
}
