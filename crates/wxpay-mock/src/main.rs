//! The `wxpay-mock` binary: flags and environment to [`MockOptions`], a ready line on
//! stdout, logs on stderr, clean exit on SIGINT/SIGTERM.

use anyhow::Result;
use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use wxpay_mock::{DEFAULT_APPID, DEFAULT_KEY, DEFAULT_MCH_ID, MockOptions};

/// Local simulator of the WeChat Pay API v2 (XML over HTTP/HTTPS).
///
/// Prints one JSON line {"event":"ready",...} on stdout once listening; logs go to stderr.
/// The control API lives under /mock/ (see the README).
#[derive(Parser, Debug)]
#[command(name = "wxpay-mock", version)]
struct Args {
    /// Address of the primary listener (port 0 picks a free port).
    #[arg(long, env = "WXPAY_MOCK_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Address of a backup listener (the api2 domain) sharing the same state.
    #[arg(long, env = "WXPAY_MOCK_BACKUP_LISTEN")]
    backup_listen: Option<SocketAddr>,

    /// Serve HTTPS with a freshly generated CA and server certificate; secapi/* and
    /// pay/downloadfundflow then demand the merchant client certificate.
    #[arg(long, env = "WXPAY_MOCK_TLS")]
    tls: bool,

    /// Directory for ca.pem, server.pem, server-key.pem, client.pem, client-key.pem
    /// (default: a new temporary directory).
    #[arg(long, env = "WXPAY_MOCK_STATE_DIR")]
    state_dir: Option<PathBuf>,

    /// JSON file keeping orders, refunds and notify attempts across restarts.
    #[arg(long, env = "WXPAY_MOCK_STATE_FILE")]
    state_file: Option<PathBuf>,

    /// Divide every simulated delay by this (1000 turns the 15 s notify retry into 15 ms).
    #[arg(long, env = "WXPAY_MOCK_TIME_SCALE", default_value_t = 1.0)]
    time_scale: f64,

    /// Merchant appid accepted and returned.
    #[arg(long, env = "WXPAY_MOCK_APPID", default_value = DEFAULT_APPID)]
    appid: String,

    /// Merchant id (mch_id) accepted and returned.
    #[arg(long, env = "WXPAY_MOCK_MCH_ID", default_value = DEFAULT_MCH_ID)]
    mch_id: String,

    /// Merchant API key (32 characters) used to verify requests and sign answers.
    #[arg(long, env = "WXPAY_MOCK_KEY", default_value = DEFAULT_KEY, hide_env_values = true)]
    key: String,

    /// The merchant's native pay mode 1 scan URL, where a scanned bizpayurl's callback is
    /// posted (also settable with POST /mock/merchant).
    #[arg(long, env = "WXPAY_MOCK_SCAN_CALLBACK_URL")]
    scan_callback_url: Option<String>,
}

/// Installs the SIGTERM/SIGINT handlers now and returns the future that waits for either.
/// Installing them before the ready line is printed means a supervisor that stops the mock
/// right after reading that line gets a clean exit, not the default signal death.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

// One worker: a request costs the mock microseconds, and with a second worker each one
// that arrived also woke the idle worker to look for work (a futex wake-up and a context
// switch per request under perf), a cost every client of the mock pays, benchmarks included.
// Slow answers (fault latency, notify retries) are timers, not busy workers.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let opts = MockOptions {
        listen: args.listen,
        backup_listen: args.backup_listen,
        tls: args.tls,
        state_dir: args.state_dir,
        state_file: args.state_file,
        time_scale: args.time_scale,
        appid: args.appid,
        mch_id: args.mch_id,
        key: args.key,
        scan_callback_url: args.scan_callback_url,
    };
    let bound = wxpay_mock::bind(opts).await?;
    let shutdown = shutdown_signal()?;
    let ready = bound.ready();
    eprintln!(
        "wxpay-mock: listening on {}{} · appid {} · mch_id {} · key {} · CA {}",
        ready.url,
        ready
            .backup_url
            .as_deref()
            .map(|b| format!(" (backup {b})"))
            .unwrap_or_default(),
        ready.appid,
        ready.mch_id,
        ready.key,
        ready.ca_path.display(),
    );
    let line = serde_json::to_string(ready)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    bound.serve(shutdown).await;
    eprintln!("wxpay-mock: stopped");
    Ok(())
}
