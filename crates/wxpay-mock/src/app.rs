//! The state shared by every connection: merchant identity, orders, faults, counters.

use crate::faults::Faults;
use crate::state::{Env, State};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// The one merchant this mock serves.
#[derive(Clone, Debug)]
pub struct Merchant {
    pub appid: String,
    pub mch_id: String,
    pub key: String,
    /// Handed out by `sandboxnew/pay/getsignkey`; derived from the key, so it survives restarts.
    pub sandbox_key: String,
}

impl Merchant {
    pub fn new(appid: String, mch_id: String, key: String) -> Self {
        let sandbox_key = hex_sha1(format!("wxpay-mock sandbox {key}").as_bytes())[..32].to_owned();
        Self {
            appid,
            mch_id,
            key,
            sandbox_key,
        }
    }

    pub fn key(&self, env: Env) -> &str {
        match env {
            Env::Prod => &self.key,
            Env::Sandbox => &self.sandbox_key,
        }
    }
}

#[derive(Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub tls_connections: AtomicU64,
    pub requests: AtomicU64,
    /// Connections open now (a gauge, not reset): what a client's pool holds.
    pub open_connections: AtomicU64,
}

/// Counts one connection in [`Stats::open_connections`] while it lives.
pub struct OpenConnection(Arc<App>);

impl OpenConnection {
    pub fn new(app: Arc<App>) -> Self {
        Stats::bump(&app.stats.open_connections);
        Self(app)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .stats
            .open_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        for c in [&self.connections, &self.tls_connections, &self.requests] {
            c.store(0, Ordering::Relaxed);
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "connections": self.connections.load(Ordering::Relaxed),
            "tls_connections": self.tls_connections.load(Ordering::Relaxed),
            "requests": self.requests.load(Ordering::Relaxed),
            "open_connections": self.open_connections.load(Ordering::Relaxed),
        })
    }
}

pub struct App {
    pub merchant: Merchant,
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
    pub stats: Stats,
    /// Delivers notifications; trusts the mock's CA for https `notify_url`s.
    pub http: reqwest::Client,
    pub time_scale: f64,
    pub state_file: Option<PathBuf>,
    /// The risk key pair of `risk/getpublickey`, made on first use.
    pub risk_key: OnceLock<Result<crate::api::RiskKey, String>>,
    /// The merchant's native-pay-mode-1 scan URL (a merchant platform setting).
    pub scan_url: Mutex<Option<String>>,
}

/// A poisoned lock only means another request panicked mid-update; the data is still the
/// best state we have, so keep serving.
fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl App {
    pub fn state(&self) -> MutexGuard<'_, State> {
        relock(&self.state)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        relock(&self.faults)
    }

    /// The risk key pair (docs/protocol.md §12.5), generated on first use.
    pub fn risk_key(&self) -> Result<&crate::api::RiskKey, String> {
        self.risk_key
            .get_or_init(crate::api::RiskKey::generate)
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn scan_url(&self) -> Option<String> {
        relock(&self.scan_url).clone()
    }

    /// A simulated delay, shortened by `--time-scale`.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.div_f64(self.time_scale)
    }
}

pub fn hex_sha1(data: &[u8]) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Random decimal digits for WeChat-style ids.
pub fn digits(n: usize) -> String {
    random_bytes(n)
        .into_iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect()
}

/// Random `[0-9A-Za-z]` characters.
pub fn alnum(n: usize) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    random_bytes(n)
        .into_iter()
        .map(|b| char::from(ALPHABET[usize::from(b) % 62]))
        .collect()
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if getrandom::fill(&mut buf).is_err() {
        // No OS randomness: fall back to a counter mixed with the clock, still unique.
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let mut x = crate::clock::now_ms() ^ (SEQ.fetch_add(1, Ordering::Relaxed) << 40);
        for b in &mut buf {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            *b = (x >> 56) as u8;
        }
    }
    buf
}
