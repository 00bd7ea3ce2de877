//! Fault injection (`POST /mock/faults`): one active fault set, optionally scoped to one
//! API path and to the next `count` matching requests.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_error_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_sign: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_down: Option<bool>,
    /// Deliver every notify attempt as this many simultaneous POSTs (1–8), as WeChat's
    /// several servers may. Not scoped by `path`; `count` counts API requests only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_copies: Option<u32>,
    /// Bills are padded to at least this many bytes (before gzip) by repeating their data
    /// rows; the summary still counts the real ones. For testing a client's size limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_bytes: Option<u64>,
    /// API path such as `pay/unifiedorder` (leading `/` and `sandboxnew/` ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Apply to the next N matching requests (or refused connections), then clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// What to do to one request, decided once when it arrives.
#[derive(Clone, Copy, Debug, Default)]
pub struct FaultAction {
    pub latency: Option<Duration>,
    pub drop: bool,
    pub system_error: bool,
    pub bad_sign: bool,
    pub bill_bytes: Option<u64>,
}

/// More simultaneous copies than this would only measure the receiver's connection limits.
const MAX_NOTIFY_COPIES: u32 = 8;

fn api_path(path: &str) -> &str {
    let path = path.trim_start_matches('/');
    path.strip_prefix("sandboxnew/").unwrap_or(path)
}

fn chance(rate: Option<f64>) -> bool {
    let rate = rate.unwrap_or(0.0);
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    let mut buf = [0u8; 8];
    // Without OS randomness the fault simply does not fire.
    if getrandom::fill(&mut buf).is_err() {
        return false;
    }
    (u64::from_le_bytes(buf) >> 11) as f64 / (1u64 << 53) as f64 <= rate
}

impl Faults {
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("system_error_rate", self.system_error_rate),
            ("drop_rate", self.drop_rate),
        ] {
            if let Some(r) = rate
                && !(0.0..=1.0).contains(&r)
            {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        if let Some(n) = self.notify_copies
            && !(1..=MAX_NOTIFY_COPIES).contains(&n)
        {
            return Err(format!(
                "notify_copies must be between 1 and {MAX_NOTIFY_COPIES}"
            ));
        }
        if self.count == Some(0) {
            return Err("count must be at least 1 (omit it for no limit)".into());
        }
        Ok(())
    }

    /// How many simultaneous POSTs one notify attempt is sent as.
    pub fn notify_copies(&self) -> u32 {
        self.notify_copies.unwrap_or(1)
    }

    fn matches(&self, path: &str) -> bool {
        self.path
            .as_deref()
            .is_none_or(|p| api_path(p) == api_path(path))
    }

    /// Counts one use against `count`; clears the set when it is used up.
    fn consume(&mut self) {
        if let Some(n) = self.count {
            if n <= 1 {
                *self = Self::default();
            } else {
                self.count = Some(n - 1);
            }
        }
    }

    /// Whether the primary listener must refuse a new connection. Only unscoped sets apply:
    /// the path is not known before the request is read.
    pub fn refuse_connection(&mut self) -> bool {
        if self.primary_down == Some(true) && self.path.is_none() {
            self.consume();
            return true;
        }
        false
    }

    /// Decides the faults for one API request.
    pub fn decide(&mut self, path: &str, primary: bool) -> FaultAction {
        if *self == Self::default() || !self.matches(path) {
            return FaultAction::default();
        }
        let action = FaultAction {
            latency: self.latency_ms.map(Duration::from_millis),
            drop: (primary && self.primary_down == Some(true)) || chance(self.drop_rate),
            system_error: chance(self.system_error_rate),
            bad_sign: self.bad_sign == Some(true),
            bill_bytes: self.bill_bytes,
        };
        // A set that only takes the primary down does not use up its count on the backup.
        if primary || self.primary_down != Some(true) {
            self.consume();
        }
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_and_counted() {
        let mut f = Faults {
            system_error_rate: Some(1.0),
            path: Some("pay/orderquery".into()),
            count: Some(2),
            ..Faults::default()
        };
        assert!(!f.decide("/pay/unifiedorder", true).system_error);
        assert!(f.decide("/sandboxnew/pay/orderquery", true).system_error);
        assert!(f.decide("/pay/orderquery", true).system_error);
        assert!(!f.decide("/pay/orderquery", true).system_error);
        assert_eq!(f, Faults::default());
    }

    #[test]
    fn rates_are_checked() {
        let bad = Faults {
            drop_rate: Some(1.5),
            ..Faults::default()
        };
        assert!(bad.validate().is_err());
        for copies in [0, MAX_NOTIFY_COPIES + 1] {
            let bad = Faults {
                notify_copies: Some(copies),
                ..Faults::default()
            };
            assert!(bad.validate().is_err(), "{copies}");
        }
        let fine = Faults {
            notify_copies: Some(MAX_NOTIFY_COPIES),
            ..Faults::default()
        };
        assert_eq!(fine.validate(), Ok(()));
        assert_eq!(fine.notify_copies(), MAX_NOTIFY_COPIES);
        assert_eq!(Faults::default().notify_copies(), 1);
    }
}
