//! The blocking client: every v2 call over pooled HTTPS, with retries, failover, the sandbox
//! and the micropay settle pattern. Each public method runs on the per-thread runtime of
//! [`crate::http`]; the work inside is async so that [`Client::query_orders`] can overlap
//! many calls on that one thread. Every public call is bounded by [`Config::deadline`].

use crate::api::{self, Api, Fields, Host, Prepared, Reply};
use crate::config::{Config, Secret};
use crate::error::{Error, HttpError, OutcomeUnknown, Result};
use crate::http::{self, BodyLimit, ClientKey, Connection, FailureKind};
use crate::log::{self, Attempt, Outcome};
use crate::marketing::RiskKey;
use crate::notify::get;
use futures_util::StreamExt;
use std::borrow::Cow;
use std::rc::Rc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// err_codes that an identical request may cure at once (docs/protocol.md §4.2–4.3). Codes that
/// need a long back-off (FREQUENCY_LIMITED, …) are left to the caller.
pub const RETRY_ERR_CODES: &[&str] = &["SYSTEMERROR", "BIZERR_NEED_RETRY"];
/// Pause before a retry, so that a struggling server is not hit again at once.
pub const RETRY_DELAY: Duration = Duration::from_millis(100);
/// micropay err_codes that leave the payment's outcome unknown (docs/protocol.md §3.6 step 2–3).
pub const MICROPAY_UNKNOWN_ERR_CODES: &[&str] = &["SYSTEMERROR", "BANKERROR", "USERPAYING"];
/// The official SDK stops reversing after this many `recall=Y` answers.
pub const REVERSE_MAX_CALLS: u32 = 10;
/// At most this many order queries in flight: each may hold a connection, and the pool
/// keeps only [`http::POOL_MAX_IDLE_PER_HOST`] of them afterwards.
pub const MAX_CONCURRENCY: usize = 32;

const SANDBOX_PREFIX: &str = "/sandboxnew";
const SANDBOX_KEY_PATH: &str = "/pay/getsignkey";

/// When one public call must be over: [`Config::deadline`] after it started.
#[derive(Clone, Copy, Debug)]
struct Deadline {
    at: Instant,
    total: Duration,
}

impl Deadline {
    fn start(config: &Config) -> Self {
        Self {
            at: Instant::now() + config.deadline,
            total: config.deadline,
        }
    }

    fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// The HttpException (isTimeout) of a call the deadline ended.
    fn ended(&self, call: &str, detail: &str) -> Error {
        Error::Http(HttpError {
            message: format!(
                "{call}: the call's deadline of {:.3} s ended it{detail}",
                self.total.as_secs_f64()
            ),
            timeout: true,
            status: None,
        })
    }
}

/// How [`Client::micropay_settle`] ended without an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// The payer paid: the micropay answer, or the order query that confirmed it.
    Paid(Fields),
    /// The payment did not complete and the order is reversed (no money moves): the final
    /// reverse answer, or the order query showing it was already REVOKED.
    Reversed(Fields),
}

impl OutcomeUnknown {
    /// Keeps the last answer `call` got (a success or a FAIL answer; a transport failure has
    /// none).
    fn note(&mut self, call: &str, result: &Result<Fields>) {
        let fields = match result {
            Ok(fields) => fields,
            Err(Error::Api(e)) => &e.response,
            Err(_) => return,
        };
        match self.responses.iter_mut().find(|(c, _)| c == call) {
            Some((_, kept)) => kept.clone_from(fields),
            None => self.responses.push((call.to_owned(), fields.clone())),
        }
    }

    fn because(self, call: &str, reason: String) -> Error {
        Error::OutcomeUnknown(Box::new(Self {
            call: call.to_owned(),
            reason,
            ..self
        }))
    }
}

/// One call's target: where it goes and how its answer is read.
#[derive(Clone, Copy)]
struct Target<'a> {
    api: Option<Api>,
    path: &'a str,
    cert: bool,
    retry_safe: bool,
    limit: BodyLimit,
    host: Host,
}

impl<'a> Target<'a> {
    /// An API's target, with the limit for XML answers (bills set their own).
    fn of(api: Api) -> Self {
        let spec = api.spec();
        Self {
            api: Some(api),
            path: spec.path,
            cert: spec.cert,
            retry_safe: spec.retry_safe,
            host: spec.host,
            limit: BodyLimit::XML,
        }
    }

    fn name(&self) -> &str {
        self.api.map_or(self.path, |a| a.spec().name)
    }
}

pub struct Client {
    config: Config,
    /// With a logger configured: the attempts made since the last [`Client::take_attempts`].
    journal: Option<Mutex<Vec<Attempt>>>,
}

/// What an answer showed, for its attempt's log record.
#[derive(Default)]
struct Seen {
    status: Option<u16>,
    connection: Option<Connection>,
    return_code: Option<String>,
    result_code: Option<String>,
    err_code: Option<String>,
    response: log::Value,
}

impl Client {
    /// Checks that the TLS material of `config` loads. No runtime, thread or connection is
    /// created here: that happens on the first call, in the process that makes it.
    pub fn new(config: Config) -> Result<Self> {
        // Only files can make the TLS setup fail: without a ca_path there is nothing to
        // check, and building it would cost more than the rest of a constructor that a
        // notify endpoint runs on every request.
        if config.ca_path.is_some() {
            http::tls_config(&ClientKey::new(&config, false, "client")?)?;
        }
        if config.cert_path.is_some() {
            http::tls_config(&ClientKey::new(&config, true, "client")?)?;
        }
        let journal = config.logger.then(|| Mutex::new(Vec::new()));
        Ok(Self { config, journal })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The HTTP attempts made since the last call of this (empty without a logger), in the
    /// order they ended. The PHP face hands their [`Attempt::records`] to the logger once a
    /// call has returned to PHP.
    pub fn take_attempts(&self) -> Vec<Attempt> {
        self.journal.as_ref().map_or_else(Vec::new, |j| {
            std::mem::take(&mut *j.lock().unwrap_or_else(PoisonError::into_inner))
        })
    }

    /// What an answer's body shows for the log: its codes and its masked fields.
    fn seen(
        &self,
        status: u16,
        connection: Option<Connection>,
        body: &[u8],
        secrets: &[&str],
    ) -> Seen {
        let mut seen = Seen {
            status: Some(status),
            connection,
            response: log::masked_body(body, secrets),
            ..Seen::default()
        };
        if let log::Value::Fields(fields) = &seen.response {
            let field = |name: &str| get(fields, name).map(str::to_owned);
            seen.return_code = field("return_code");
            seen.result_code = field("result_code");
            // Bill downloads answer their failures with error_code.
            seen.err_code = field("err_code").or_else(|| field("error_code"));
        }
        seen
    }

    /// Makes one call and returns the verified answer's fields.
    pub fn call(&self, api: Api, params: Fields) -> Result<Fields> {
        if api.spec().reply == Reply::Bill {
            return Err(Error::InvalidArgument(format!(
                "{} returns a bill: use download",
                api.spec().name
            )));
        }
        crate::marketing::refuse_sandbox(api, &self.config)?;
        let deadline = Deadline::start(&self.config);
        http::block_on(async {
            let config = self.signing_config(deadline).await?;
            self.call_with(&config, Target::of(api), params, deadline)
                .await
        })?
    }

    /// Calls any other v2 endpoint (`path` like `/pay/somecall`): the common fields are
    /// filled and the answer must be signed for this merchant, as payment answers are. A path
    /// this core knows is handled exactly as [`Client::call`] would (its certificate need
    /// and retry rule included). Any other path is sent once unless `retry` says re-sending
    /// it after an unknown outcome is harmless: this core cannot know (it may move money).
    pub fn request(&self, path: &str, params: Fields, cert: bool, retry: bool) -> Result<Fields> {
        if let Some(api) = Api::from_path(path) {
            return self.call(api, params);
        }
        let normal = path.strip_prefix('/').unwrap_or(path);
        let valid = !normal.is_empty()
            && normal.split('/').all(|segment| {
                !segment.is_empty()
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
        if !valid {
            return Err(Error::InvalidArgument(format!(
                "path must be like /pay/orderquery (letters, digits, _ and - between slashes), \"{path}\" given"
            )));
        }
        let path = format!("/{normal}");
        let target = Target {
            api: None,
            path: &path,
            cert,
            retry_safe: retry,
            limit: BodyLimit::XML,
            host: Host::Api,
        };
        let deadline = Deadline::start(&self.config);
        http::block_on(async {
            let config = self.signing_config(deadline).await?;
            self.call_with(&config, target, params, deadline).await
        })?
    }

    /// Downloads a trade or fund-flow bill and returns its text (gunzipped when WeChat sent
    /// gzip). Parse it with [`crate::bill::parse`].
    pub fn download(&self, api: Api, params: Fields) -> Result<Vec<u8>> {
        if api.spec().reply != Reply::Bill {
            return Err(Error::InvalidArgument(format!(
                "download is for downloadbill and downloadfundflow, {} given",
                api.spec().name
            )));
        }
        let deadline = Deadline::start(&self.config);
        http::block_on(async {
            let config = self.signing_config(deadline).await?;
            let prepared = api::prepare(Some(api), &config, params)?;
            let target = Target {
                limit: BodyLimit::bill(&self.config),
                ..Target::of(api)
            };
            self.exchange(target, &prepared, deadline, |body| {
                api::bill_body(body, self.config.bill_max_bytes)
            })
            .await
        })?
    }

    /// Queries many orders at once (at most `concurrency`, 1 to [`MAX_CONCURRENCY`], in
    /// flight) on the one runtime, all within one deadline. Every number gets an entry, in
    /// the order given.
    pub fn query_orders(
        &self,
        out_trade_nos: &[String],
        concurrency: usize,
    ) -> Result<Vec<(String, Result<Fields>)>> {
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(Error::InvalidArgument(format!(
                "concurrency must be from 1 to {MAX_CONCURRENCY}, {concurrency} given"
            )));
        }
        let deadline = Deadline::start(&self.config);
        let run = http::block_on(async {
            let config = match self.signing_config(deadline).await {
                Ok(config) => config,
                Err(e) => {
                    return out_trade_nos
                        .iter()
                        .map(|n| (n.clone(), Err(e.clone())))
                        .collect();
                }
            };
            let config = &config;
            futures_util::stream::iter(out_trade_nos.iter().map(|no| async move {
                let params = vec![("out_trade_no".to_owned(), no.clone())];
                (
                    no.clone(),
                    self.call_with(config, Target::of(Api::OrderQuery), params, deadline)
                        .await,
                )
            }))
            .buffered(concurrency)
            .collect::<Vec<_>>()
            .await
        });
        Ok(run.unwrap_or_else(|e| {
            out_trade_nos
                .iter()
                .map(|n| (n.clone(), Err(e.clone())))
                .collect()
        }))
    }

    /// Takes a payment-code payment to a definite end (docs/protocol.md §3.6), within the deadline:
    /// micropay once (never re-sent); when its outcome is unknown (SYSTEMERROR, BANKERROR,
    /// USERPAYING, transport failure, unverifiable answer), poll orderquery every `wait` up
    /// to `max_polls` times while time for a reverse remains; if still not paid, reverse,
    /// again while WeChat answers `recall=Y`.
    ///
    /// Returns `Paid` or `Reversed`; a definite micropay refusal (AUTHCODEEXPIRE, NOTENOUGH …)
    /// is its [`Error::Api`]. When the reverse fails or the deadline ends first, the payment
    /// may still complete: that is [`Error::OutcomeUnknown`], never an error that invites a
    /// retry.
    pub fn micropay_settle(
        &self,
        params: Fields,
        wait: Duration,
        max_polls: u32,
    ) -> Result<Settlement> {
        // Reverse needs the certificate; find out before the payer is charged.
        ClientKey::new(&self.config, true, "micropay_settle (reverse)")?;
        let out_trade_no = get(&params, "out_trade_no").unwrap_or_default().to_owned();
        let deadline = Deadline::start(&self.config);
        http::block_on(async {
            let config = self.signing_config(deadline).await?;
            let by_no = || vec![("out_trade_no".to_owned(), out_trade_no.clone())];
            let mut unknown = OutcomeUnknown {
                out_trade_no: out_trade_no.clone(),
                ..OutcomeUnknown::default()
            };
            let micropay = self
                .call_with(&config, Target::of(Api::Micropay), params, deadline)
                .await;
            unknown.note("micropay", &micropay);
            match micropay {
                Ok(paid) => return Ok(Settlement::Paid(paid)),
                Err(Error::Api(e))
                    if !MICROPAY_UNKNOWN_ERR_CODES.contains(&e.err_code.as_str()) =>
                {
                    return Err(Error::Api(e));
                }
                // Refused before sending: nothing to settle.
                Err(e @ (Error::Config(_) | Error::InvalidArgument(_))) => return Err(e),
                // Unknown outcome: find out below.
                Err(_) => {}
            }
            // Keep time for the reverse: without it an unpaid order would stay USERPAYING.
            let reverse_time = self.config.timeout.min(deadline.total / 3);
            for _ in 0..max_polls {
                if deadline.remaining() < wait + reverse_time {
                    break;
                }
                tokio::time::sleep(wait).await;
                let query = self
                    .call_with(&config, Target::of(Api::OrderQuery), by_no(), deadline)
                    .await;
                unknown.note("orderquery", &query);
                match query
                    .as_ref()
                    .map(|q| get(q, "trade_state").unwrap_or_default())
                {
                    Ok("SUCCESS" | "REFUND") => return query.map(Settlement::Paid),
                    Ok("REVOKED") => return query.map(Settlement::Reversed),
                    Ok("USERPAYING" | "NOTPAY") => {}
                    // PAYERROR, CLOSED, …: it will not complete.
                    Ok(_) => break,
                    Err(Error::Api(e)) if e.err_code == "ORDERNOTEXIST" => break,
                    // A failed query says nothing about the payment: keep polling.
                    Err(_) => {}
                }
            }
            for _ in 0..REVERSE_MAX_CALLS {
                let reverse = self
                    .call_with(&config, Target::of(Api::Reverse), by_no(), deadline)
                    .await;
                unknown.note("reverse", &reverse);
                let recall = match &reverse {
                    Ok(fields) => get(fields, "recall"),
                    Err(Error::Api(e)) => get(&e.response, "recall"),
                    Err(_) => None,
                };
                match reverse {
                    _ if recall == Some("Y") => {}
                    Ok(fields) => return Ok(Settlement::Reversed(fields)),
                    Err(e) => return Err(unknown.because("reverse", e.to_string())),
                }
                if deadline.remaining() <= wait {
                    return Err(unknown.because(
                        "reverse",
                        deadline
                            .ended("reverse", " while WeChat still answered recall=Y")
                            .to_string(),
                    ));
                }
                tokio::time::sleep(wait).await;
            }
            Err(unknown.because(
                "reverse",
                format!("reverse still answered recall=Y after {REVERSE_MAX_CALLS} calls"),
            ))
        })?
    }

    /// The config requests are signed and verified with: the client's own, or in sandbox
    /// mode the sandbox key with MD5 (fetched once per thread and merchant).
    async fn signing_config(&self, deadline: Deadline) -> Result<Cow<'_, Config>> {
        if !self.config.sandbox {
            return Ok(Cow::Borrowed(&self.config));
        }
        let key = match http::sandbox_key(&self.config) {
            Some(key) => key,
            None => {
                let prepared = api::prepare_sandbox_key(&self.config)?;
                let target = Target {
                    api: None,
                    path: SANDBOX_KEY_PATH,
                    cert: false,
                    retry_safe: true,
                    limit: BodyLimit::XML,
                    host: Host::Api,
                };
                let key = Secret::new(
                    self.exchange(target, &prepared, deadline, |body| {
                        api::sandbox_key(&body, &self.config)
                    })
                    .await?,
                );
                http::store_sandbox_key(&self.config, key.clone());
                key
            }
        };
        Ok(Cow::Owned(api::sandbox_config(&self.config, key.expose())))
    }

    async fn call_with(
        &self,
        config: &Config,
        target: Target<'_>,
        params: Fields,
        deadline: Deadline,
    ) -> Result<Fields> {
        let prepared = if target.api == Some(Api::PayBank) {
            // Checked before the key is fetched: a bad field or a missing certificate costs no
            // request, and the message names pay_bank, not the key's call.
            api::check_pay_bank(config, &params)?;
            ClientKey::new(&self.config, true, target.name())?;
            api::prepare_pay_bank(config, params, &*self.risk_key(config, deadline).await?)?
        } else {
            api::prepare(target.api, config, params)?
        };
        self.exchange(target, &prepared, deadline, |body| {
            api::classify(target.api, &body, config)
        })
        .await
    }

    /// WeChat's RSA key for bank-card fields (docs/protocol.md §12.5): from this process's
    /// cache, else fetched from `risk/getpublickey` (client certificate, MD5) and cached.
    async fn risk_key(&self, config: &Config, deadline: Deadline) -> Result<Rc<RiskKey>> {
        if let Some(key) = http::risk_key(config) {
            return Ok(key);
        }
        let prepared = api::prepare(Some(Api::RiskPublicKey), config, Vec::new())?;
        let key = self
            .exchange(
                Target::of(Api::RiskPublicKey),
                &prepared,
                deadline,
                |body| {
                    RiskKey::from_answer(&api::classify(Some(Api::RiskPublicKey), &body, config)?)
                },
            )
            .await?;
        let key = Rc::new(key);
        http::store_risk_key(config, Rc::clone(&key));
        Ok(key)
    }

    /// Sends `prepared` and reads the answer with `read`, retrying what may be retried:
    /// transport failures and [`RETRY_ERR_CODES`] up to `config.retries` times for
    /// retry-safe calls (identical body), plus one free retry of a connection closed
    /// before the answer; for other calls only a failed connect (nothing was sent). A
    /// transport failure also moves this thread to the backup URL when failover is on.
    /// Each attempt gets `config.timeout` or what is left of `deadline`, whichever is less;
    /// when the deadline ends the call, the error is an [`HttpError`] that says so.
    async fn exchange<T>(
        &self,
        target: Target<'_>,
        prepared: &Prepared,
        deadline: Deadline,
        read: impl Fn(Vec<u8>) -> Result<T>,
    ) -> Result<T> {
        let client = http::client(&ClientKey::new(&self.config, target.cert, target.name())?)?;
        let prefix = if self.config.sandbox {
            SANDBOX_PREFIX
        } else {
            ""
        };
        let path = format!("{prefix}{}", target.path);
        let mut retries = self.config.retries;
        let mut stale_allowance = u32::from(target.retry_safe);
        let mut attempts = 0u32;
        let mut last = String::new();
        // With a logger: what every attempt's record shares, secrets masked.
        let sandbox_key = self
            .journal
            .as_ref()
            .and_then(|_| self.config.sandbox.then(|| http::sandbox_key(&self.config)))
            .flatten();
        let request_sign = get(&prepared.fields, "sign").unwrap_or_default();
        let secrets = [
            self.config.key.expose(),
            sandbox_key.as_ref().map_or("", |k| k.expose()),
            request_sign,
        ];
        let request = self.journal.as_ref().map(|_| {
            log::Value::Fields(log::masked_fields(
                prepared
                    .fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
                &secrets,
            ))
        });
        let record_attempt = |attempt: u32,
                              base: &str,
                              started: Instant,
                              seen: Seen,
                              outcome: Outcome,
                              failover: bool,
                              error: Option<String>| {
            let (Some(journal), Some(request)) = (&self.journal, &request) else {
                return;
            };
            let record = Attempt {
                call: target.name().to_owned(),
                path: path.clone(),
                url: base.to_owned(),
                attempt,
                duration: started.elapsed(),
                status: seen.status,
                return_code: seen.return_code,
                result_code: seen.result_code,
                err_code: seen.err_code,
                outcome,
                failover,
                connection: seen.connection,
                error,
                request: request.clone(),
                response: seen.response,
            };
            journal
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record);
        };
        loop {
            let remaining = deadline.remaining();
            if remaining.is_zero() {
                let detail = match attempts {
                    0 => " before it was sent".to_owned(),
                    n => format!(" after {n} attempt(s), the last: {last}"),
                };
                return Err(deadline.ended(target.name(), &detail));
            }
            attempts += 1;
            let base = match target.host {
                Host::Api => http::base_url(&self.config),
                Host::Risk => self.config.risk_url.clone(),
            };
            let started = Instant::now();
            // Every record of this attempt shares its number, URL and start.
            let note = |seen, outcome, failover, error| {
                record_attempt(attempts, &base, started, seen, outcome, failover, error)
            };
            let failure = match http::post_via(
                &client,
                &base,
                self.config.proxy.as_deref(),
                &path,
                prepared.body.clone(),
                target.limit,
                self.config.timeout.min(remaining),
            )
            .await
            {
                Ok(answer) => {
                    let seen = if self.journal.is_some() {
                        self.seen(answer.status, answer.connection, &answer.body, &secrets)
                    } else {
                        Seen::default()
                    };
                    match read(answer.body) {
                        Err(Error::Api(e))
                            if target.retry_safe
                                && retries > 0
                                && RETRY_ERR_CODES.contains(&e.err_code.as_str()) =>
                        {
                            retries -= 1;
                            last = e.to_string();
                            note(seen, Outcome::Retry, false, Some(last.clone()));
                            tokio::time::sleep(RETRY_DELAY.min(deadline.remaining())).await;
                            continue;
                        }
                        Err(Error::Api(mut e)) => {
                            e.call = target.name().to_owned();
                            let error = Error::Api(e);
                            note(seen, Outcome::Failed, false, Some(error.to_string()));
                            return Err(error);
                        }
                        Ok(value) => {
                            note(seen, Outcome::Success, false, None);
                            return Ok(value);
                        }
                        Err(e) => {
                            note(seen, Outcome::Failed, false, Some(e.to_string()));
                            return Err(e);
                        }
                    }
                }
                Err(failure) => failure,
            };
            let seen = Seen {
                status: failure.error.status,
                connection: failure.connection,
                ..Seen::default()
            };
            if failure.kind == FailureKind::Timeout && remaining <= self.config.timeout {
                let detail = format!(": {}", failure.error.message);
                let error = deadline.ended(target.name(), &detail);
                note(seen, Outcome::Failed, false, Some(error.to_string()));
                return Err(error);
            }
            last.clone_from(&failure.error.message);
            // A pooled connection closing is routine, not a sign the host is down.
            let failover = failure.kind.is_transport()
                && failure.kind != FailureKind::Stale
                && target.host == Host::Api
                && http::transport_failed(&self.config, &base);
            let may_retry = match failure.kind {
                FailureKind::Connect => true,
                FailureKind::Refused => false,
                _ => target.retry_safe,
            };
            if may_retry && failure.kind == FailureKind::Stale && stale_allowance > 0 {
                stale_allowance -= 1;
                note(seen, Outcome::Retry, failover, Some(last.clone()));
            } else if may_retry && retries > 0 {
                retries -= 1;
                note(seen, Outcome::Retry, failover, Some(last.clone()));
                tokio::time::sleep(RETRY_DELAY.min(deadline.remaining())).await;
            } else {
                note(seen, Outcome::Failed, failover, Some(last.clone()));
                return Err(Error::Http(failure.error));
            }
        }
    }
}
