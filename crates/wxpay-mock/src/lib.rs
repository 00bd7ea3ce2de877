//! `wxpay-mock`: a local simulator of the WeChat Pay API v2.
//!
//! Run it as the `wxpay-mock` binary, or start it from Rust tests with [`MockServer::start`],
//! which serves on its own thread and tokio runtime until dropped:
//!
//! ```no_run
//! let mock = wxpay_mock::MockServer::start(wxpay_mock::MockOptions::default())?;
//! println!("base URL {} key {}", mock.url(), mock.key());
//! # anyhow::Ok(())
//! ```

mod api;
mod app;
mod clock;
mod control;
mod faults;
mod notify;
mod page;
mod persist;
mod proto;
mod scan;
mod server;
mod state;
mod tls;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The test merchant of the signing examples in docs/protocol.md §2 (V1).
pub const DEFAULT_APPID: &str = "wxd930ea5d5a258f4f";
pub const DEFAULT_MCH_ID: &str = "10000100";
pub const DEFAULT_KEY: &str = "192006250b4c09247ec02edce69f6a2d";

/// How to run the mock. `Default` gives plain HTTP on a free loopback port.
#[derive(Clone, Debug)]
pub struct MockOptions {
    /// Primary listener; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Second listener sharing the same state (the `api2.` backup domain).
    pub backup_listen: Option<SocketAddr>,
    /// Serve HTTPS with the generated server certificate.
    pub tls: bool,
    /// Where the PEM files go; `None` makes a fresh temporary directory (removed by
    /// [`MockServer`] on drop).
    pub state_dir: Option<PathBuf>,
    /// JSON file that keeps orders, refunds and notifies across restarts.
    pub state_file: Option<PathBuf>,
    /// Divides every simulated delay (notify retries, refunds, USERPAYING): 1000 turns
    /// WeChat's 15 s into 15 ms.
    pub time_scale: f64,
    pub appid: String,
    pub mch_id: String,
    pub key: String,
    /// The merchant's scan URL for native pay mode 1 (also settable at `/mock/merchant`).
    pub scan_callback_url: Option<String>,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            backup_listen: None,
            tls: false,
            state_dir: None,
            state_file: None,
            time_scale: 1.0,
            appid: DEFAULT_APPID.to_owned(),
            mch_id: DEFAULT_MCH_ID.to_owned(),
            key: DEFAULT_KEY.to_owned(),
            scan_callback_url: None,
        }
    }
}

/// What the binary prints as its `{"event":"ready",…}` line.
#[derive(Clone, Debug, Serialize)]
pub struct Ready {
    pub event: &'static str,
    pub url: String,
    pub backup_url: Option<String>,
    pub port: u16,
    pub tls: bool,
    pub state_dir: PathBuf,
    /// The CA that signed the server certificate: what clients must trust.
    pub ca_path: PathBuf,
    /// The merchant client certificate and key (`apiclient_cert.pem`/`apiclient_key.pem`).
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    /// Server certificate chain and key, for https notify receivers in tests.
    pub server_cert_path: PathBuf,
    pub server_key_path: PathBuf,
    pub appid: String,
    pub mch_id: String,
    pub key: String,
}

/// Bound listeners, ready to serve.
pub struct Bound {
    ready: Ready,
    app: Arc<app::App>,
    listeners: Vec<(TcpListener, bool)>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    temp_dir: bool,
}

fn fresh_temp_dir() -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "wxpay-mock-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

fn url(tls: bool, addr: SocketAddr) -> String {
    format!("{}://{addr}", if tls { "https" } else { "http" })
}

/// Generates the PKI, loads the state file and binds the listeners (inside a tokio runtime).
pub async fn bind(opts: MockOptions) -> Result<Bound> {
    if !(opts.time_scale.is_finite() && opts.time_scale > 0.0) {
        bail!(
            "time scale must be a positive number, got {}",
            opts.time_scale
        );
    }
    if opts.key.len() != 32 {
        bail!(
            "the API key must have 32 characters (WeChat's rule), got {}",
            opts.key.len()
        );
    }
    let temp_dir = opts.state_dir.is_none();
    let state_dir = opts.state_dir.clone().unwrap_or_else(fresh_temp_dir);
    let pki = tls::Pki::generate(&state_dir, &opts.mch_id)?;
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(pki.notify_client_config()?)
        .build()
        .context("cannot build the notify HTTP client")?;
    let state = match &opts.state_file {
        Some(path) => persist::load(path)?,
        None => state::State::default(),
    };
    let app = Arc::new(app::App {
        merchant: app::Merchant::new(opts.appid.clone(), opts.mch_id.clone(), opts.key.clone()),
        state: Mutex::new(state),
        faults: Mutex::new(faults::Faults::default()),
        stats: app::Stats::default(),
        http,
        time_scale: opts.time_scale,
        state_file: opts.state_file.clone(),
        risk_key: std::sync::OnceLock::new(),
        scan_url: Mutex::new(opts.scan_callback_url.clone()),
    });

    let primary = TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let primary_addr = primary.local_addr()?;
    let mut listeners = vec![(primary, true)];
    let mut backup_url = None;
    if let Some(addr) = opts.backup_listen {
        let backup = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (backup)"))?;
        backup_url = Some(url(opts.tls, backup.local_addr()?));
        listeners.push((backup, false));
    }
    let tls = if opts.tls {
        Some(tokio_rustls::TlsAcceptor::from(pki.server_config()?))
    } else {
        None
    };
    let ready = Ready {
        event: "ready",
        url: url(opts.tls, primary_addr),
        backup_url,
        port: primary_addr.port(),
        tls: opts.tls,
        state_dir,
        ca_path: pki.paths.ca.clone(),
        cert_path: pki.paths.client_cert.clone(),
        key_path: pki.paths.client_key.clone(),
        server_cert_path: pki.paths.server_cert.clone(),
        server_key_path: pki.paths.server_key.clone(),
        appid: opts.appid,
        mch_id: opts.mch_id,
        key: opts.key,
    };
    Ok(Bound {
        ready,
        app,
        listeners,
        tls,
        temp_dir,
    })
}

impl Bound {
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// Serves until `shutdown` completes, then saves the state file.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        persist::resume(&self.app);
        let saver = persist::spawn_saver(&self.app, stop_rx.clone());
        for (listener, primary) in self.listeners {
            tokio::spawn(server::accept_loop(
                self.app.clone(),
                listener,
                self.tls.clone(),
                primary,
                stop_rx.clone(),
            ));
        }
        shutdown.await;
        let _ = stop_tx.send(true);
        let _ = saver.await;
    }
}

/// A mock running on its own thread and runtime; stops when dropped.
pub struct MockServer {
    ready: Ready,
    temp_dir: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    /// Starts the mock and returns once it is listening. Safe to call from inside another
    /// tokio runtime: the mock's runtime lives on its own thread.
    pub fn start(opts: MockOptions) -> Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(Ready, bool)>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wxpay-mock".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e).context("cannot start a tokio runtime"));
                        return;
                    }
                };
                let bound = match runtime.block_on(bind(opts)) {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((bound.ready.clone(), bound.temp_dir)));
                runtime.block_on(bound.serve(async {
                    let _ = stopped.await;
                }));
                // Pending notify retries are abandoned with the runtime.
                runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            })
            .context("cannot start the mock's thread")?;
        let (ready, temp_dir) = ready_rx
            .recv()
            .context("the mock's thread ended before it was listening")??;
        Ok(Self {
            ready,
            temp_dir,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// Base URL of the primary listener, e.g. `https://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.ready.url
    }

    pub fn backup_url(&self) -> Option<&str> {
        self.ready.backup_url.as_deref()
    }

    pub fn ca_path(&self) -> &Path {
        &self.ready.ca_path
    }

    /// The merchant client certificate (PEM).
    pub fn cert_path(&self) -> &Path {
        &self.ready.cert_path
    }

    /// The merchant client certificate's private key (PEM, PKCS#8).
    pub fn key_path(&self) -> &Path {
        &self.ready.key_path
    }

    pub fn server_cert_path(&self) -> &Path {
        &self.ready.server_cert_path
    }

    pub fn server_key_path(&self) -> &Path {
        &self.ready.server_key_path
    }

    pub fn state_dir(&self) -> &Path {
        &self.ready.state_dir
    }

    pub fn appid(&self) -> &str {
        &self.ready.appid
    }

    pub fn mch_id(&self) -> &str {
        &self.ready.mch_id
    }

    /// The merchant API key (v2) that requests are signed with.
    pub fn key(&self) -> &str {
        &self.ready.key
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if self.temp_dir {
            let _ = std::fs::remove_dir_all(&self.ready.state_dir);
        }
    }
}
