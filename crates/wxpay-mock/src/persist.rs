//! `--state-file`: the state as JSON, loaded at start and written whenever it changed.
//! Pending notify retries are not resumed after a restart; processing refunds are.

use crate::app::App;
use crate::state::{RefundStatus, State};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const SAVE_EVERY: Duration = Duration::from_millis(250);

/// Reads the state file; a missing file is an empty state.
pub fn load(path: &Path) -> Result<State> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("state file {} is not valid", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read state file {}", path.display())),
    }
}

/// Restarts the timers of refunds that were still processing when the state was saved.
pub fn resume(app: &Arc<App>) {
    let processing: Vec<_> = app
        .state()
        .refunds
        .values()
        .filter(|r| r.status == RefundStatus::Processing)
        .cloned()
        .collect();
    for refund in &processing {
        crate::api::schedule_refund(app, refund, Duration::ZERO);
    }
}

fn save(app: &App, path: &Path, last: &mut String) {
    let json = match serde_json::to_string_pretty(&*app.state()) {
        Ok(j) => j,
        Err(e) => return eprintln!("wxpay-mock: cannot serialise the state: {e}"),
    };
    if json == *last {
        return;
    }
    // Write then rename, so a crash never leaves half a file.
    let tmp = path.with_extension("tmp");
    match std::fs::write(&tmp, &json).and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => *last = json,
        Err(e) => eprintln!("wxpay-mock: cannot write {}: {e}", path.display()),
    }
}

/// Saves the state whenever it changed, and once more at shutdown.
pub fn spawn_saver(app: &Arc<App>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let app = app.clone();
    tokio::spawn(async move {
        let Some(path) = app.state_file.clone() else {
            return;
        };
        let mut last = String::new();
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(SAVE_EVERY) => false,
                _ = stop.changed() => true,
            };
            save(&app, &path, &mut last);
            if stopping {
                return;
            }
        }
    })
}
