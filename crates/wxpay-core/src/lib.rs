//! WeChat Pay API v2 protocol core, in plain Rust with no PHP types.
//!
//! Every protocol decision lives here and is tested here; the PHP extension only converts
//! arguments and maps [`Error`] to its exception classes.

pub mod api;
pub mod bill;
pub mod client;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod invoke;
pub mod log;
pub mod marketing;
pub mod nonce;
pub mod notify;
pub mod params;
pub mod profitsharing;
pub mod qr;
pub mod scan;
pub mod sign;
pub mod xml;

pub use api::Api;
pub use client::Client;
pub use config::Config;
pub use error::{ApiError, Error, HttpError, OutcomeUnknown, Result};
pub use sign::SignType;
