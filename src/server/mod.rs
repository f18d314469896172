//! The review server: a thin axum front end over the library stages and the
//! [`store`](crate::store). One router per resource, one shared [`AppState`],
//! one error type ([`error::ApiError`]). The API is documented in `docs/api.md`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::sync::Notify;

use crate::pipeline::{Pipeline, RunOptions};
use crate::store::Store;
use crate::Result;

pub mod audio;
pub mod auth;
pub mod dictations;
pub mod error;
pub mod export;
pub mod web;
pub mod worker;

/// Server settings (from flags and environment, see `medscribe serve --help`).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub bind: SocketAddr,
    /// Uploads larger than this are refused with 413.
    pub max_upload_bytes: u64,
    /// Sessions idle longer than this end.
    pub idle_s: i64,
    /// Mark the session cookie Secure (behind TLS).
    pub secure_cookies: bool,
    /// Transcriptions run at once.
    pub workers: usize,
    /// Log one line per request (method, route, status, time; never data).
    pub log_requests: bool,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServeConfig>,
    pub throttle: Arc<auth::Throttle>,
    /// Wakes idle workers when a job is queued.
    pub jobs_ready: Arc<Notify>,
    /// Set on shutdown: running transcriptions stop and their jobs are queued again.
    pub stopping: Arc<AtomicBool>,
}

/// The whole application: pages and API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(web::router())
        .nest(
            "/api",
            Router::new()
                .route("/health", axum::routing::get(health))
                .merge(auth::router())
                .merge(dictations::router())
                .merge(audio::router())
                .merge(export::router()),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            log_and_secure,
        ))
        .with_state(state)
}

/// Runs the server until Ctrl-C or SIGTERM: recovers interrupted jobs,
/// starts the transcription workers, serves, and on shutdown stops the
/// workers so that unfinished jobs are queued again, not lost.
pub async fn serve(
    store: Store,
    config: ServeConfig,
    pipeline: Arc<Pipeline>,
    run: RunOptions,
) -> Result<()> {
    let requeued = store.recover_jobs().await?;
    if requeued > 0 {
        eprintln!("medscribe serve: {requeued} interrupted transcription(s) queued again");
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| crate::Error::Invalid(format!("cannot listen on {}: {e}", config.bind)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| crate::Error::io("socket", e))?;
    let stopping = run
        .stt
        .cancel
        .clone()
        .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
    let state = AppState {
        store: store.clone(),
        config: Arc::new(config.clone()),
        throttle: Arc::new(auth::Throttle::default()),
        jobs_ready: Arc::new(Notify::new()),
        stopping: stopping.clone(),
    };
    let workers = worker::spawn(state.clone(), pipeline, run, config.workers);
    eprintln!(
        "medscribe serve: listening on http://{addr} ({} transcription worker(s))",
        config.workers
    );
    let app = router(state.clone());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| crate::Error::io("server", e))?;
    eprintln!("medscribe serve: stopping; unfinished transcriptions will resume at the next start");
    stopping.store(true, Ordering::SeqCst);
    state.jobs_ready.notify_waiters();
    for w in workers {
        let _ = w.await;
    }
    store.close().await;
    Ok(())
}

/// Liveness and queue depth, without login (for monitoring).
async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> error::ApiResult<axum::Json<serde_json::Value>> {
    let (queued, running) = state.store.queue_counts().await?;
    Ok(axum::Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "queue": { "queued": queued, "running": running },
    })))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Adds security headers, keeps API answers out of caches, and logs one line
/// per request with the route pattern (ids, never query values or bodies).
async fn log_and_secure(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    if api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.log_requests {
        eprintln!(
            "{method} {route} {} {:.1}ms",
            resp.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    resp
}
