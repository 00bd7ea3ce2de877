//! Listeners and connections: plain or TLS, primary and backup, counted for `/mock/stats`,
//! with connection-level faults (refused primary, dropped requests, latency).

use crate::app::{App, OpenConnection, Stats};
use crate::faults::FaultAction;
use crate::proto::ConnInfo;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/mock/", get(crate::page::page))
        .route("/mock/orders", get(crate::control::orders))
        .route("/mock/orders/{out_trade_no}", get(crate::control::order))
        .route("/mock/orders/{out_trade_no}/pay", post(crate::control::pay))
        .route("/mock/notifies", get(crate::control::notifies))
        .route("/mock/reset", post(crate::control::reset))
        .route("/mock/stats", get(crate::control::stats))
        .route(
            "/mock/balance",
            get(crate::control::balance).post(crate::control::set_balance),
        )
        .route("/mock/redpacks/{mch_billno}", get(crate::control::redpack))
        .route(
            "/mock/redpacks/{mch_billno}/open",
            post(crate::control::open_redpack),
        )
        .route(
            "/mock/transfers/{partner_trade_no}",
            get(crate::control::transfer),
        )
        .route(
            "/mock/bank/{partner_trade_no}",
            get(crate::control::bank_transfer),
        )
        .route("/mock/risk-key", get(crate::control::risk_key))
        .route(
            "/mock/merchant",
            get(crate::control::merchant).post(crate::control::set_merchant),
        )
        .route("/mock/scan", post(crate::control::scan))
        .route(
            "/mock/coupon-stocks",
            get(crate::control::coupon_stocks).post(crate::control::new_coupon_stock),
        )
        .route(
            "/mock/faults",
            get(crate::control::get_faults).post(crate::control::set_faults),
        )
        .fallback(wechat)
        .with_state(app)
}

/// Every path outside `/mock/` is a WeChat API (or a 404 for an unknown one).
async fn wechat(State(app): State<Arc<App>>, method: Method, uri: Uri, req: Request) -> Response {
    let conn = req.extensions().get::<ConnInfo>().copied();
    let fault = req
        .extensions()
        .get::<FaultAction>()
        .copied()
        .unwrap_or_default();
    let conn = conn.unwrap_or(ConnInfo {
        tls: false,
        client_cert: false,
        primary: true,
    });
    // Bodies are a few KB; the XML decoder caps them again.
    let body = match axum::body::to_bytes(req.into_body(), wxpay_core::xml::DEFAULT_MAX_BYTES).await
    {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    crate::proto::handle(&app, conn, fault, &method, uri.path(), &body)
}

/// A connection was closed on purpose (fault injection); hyper then drops it unanswered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

async fn serve_connection<S>(app: Arc<App>, router: Router, io: S, conn: ConnInfo)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let app = app.clone();
        let router = router.clone();
        async move {
            Stats::bump(&app.stats.requests);
            let path = req.uri().path().to_owned();
            let action = if path.starts_with("/mock/") {
                FaultAction::default()
            } else {
                app.faults().decide(&path, conn.primary)
            };
            if let Some(latency) = action.latency {
                tokio::time::sleep(latency).await;
            }
            if action.drop {
                return Err(Dropped);
            }
            req.extensions_mut().insert(conn);
            req.extensions_mut().insert(action);
            let response = router.oneshot(req.map(Body::new)).await;
            Ok(match response {
                Ok(r) => r,
                Err(never) => match never {},
            })
        }
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await
        && !std::error::Error::source(&e).is_some_and(|cause| cause.is::<Dropped>())
    {
        eprintln!("wxpay-mock: connection ended with an error: {e}");
    }
}

/// Accepts connections until `shutdown` flips.
pub async fn accept_loop(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    primary: bool,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = router(app.clone());
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                eprintln!("wxpay-mock: accept failed: {e}");
                continue;
            }
        };
        Stats::bump(&app.stats.connections);
        if primary && app.faults().refuse_connection() {
            // Closing at once looks like a dead host to the client (connection reset).
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _open = OpenConnection::new(app.clone());
            let Some(acceptor) = tls else {
                let conn = ConnInfo {
                    tls: false,
                    client_cert: false,
                    primary,
                };
                return serve_connection(app, router, tcp, conn).await;
            };
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    eprintln!("wxpay-mock: TLS handshake failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            Stats::bump(&app.stats.tls_connections);
            let client_cert = stream
                .get_ref()
                .1
                .peer_certificates()
                .is_some_and(|c| !c.is_empty());
            let conn = ConnInfo {
                tls: true,
                client_cert,
                primary,
            };
            serve_connection(app, router, stream, conn).await;
        });
    }
}
