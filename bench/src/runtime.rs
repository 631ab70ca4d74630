//! A local Lambda Runtime API (2018-06-01), as the Lambda service serves it to a custom runtime,
//! and a recording proxy in front of the backend that times every call a function makes.
//!
//! The runtime server notes when each request arrives; the harness reads those times, so what it
//! measures is the function's own work between two Runtime API calls.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Time spent waiting on the backend: the wall time during which at least one call through the
/// proxy was in flight, so that calls made in parallel (the client secret and the connection
/// pre-warm at init) count once.
#[derive(Debug, Default)]
pub struct BackendClock {
    state: std::sync::Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    total: Duration,
    calls: u64,
    in_flight: u32,
    since: Option<Instant>,
}

impl BackendClock {
    /// (total time waiting on the backend, number of calls) so far; a wait still in progress
    /// counts up to now.
    pub fn read(&self) -> (Duration, u64) {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let running = s.since.map_or(Duration::ZERO, |t| t.elapsed());
        (s.total + running, s.calls)
    }

    fn begin(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.in_flight == 0 {
            s.since = Some(Instant::now());
        }
        s.in_flight += 1;
    }

    fn end(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.in_flight = s.in_flight.saturating_sub(1);
        s.calls += 1;
        if s.in_flight == 0
            && let Some(since) = s.since.take()
        {
            s.total += since.elapsed();
        }
    }
}

/// What the runtime server saw, with the time it saw it and the backend clock at that moment.
#[derive(Debug)]
pub enum Seen {
    /// `GET /runtime/invocation/next` arrived.
    Next { at: Instant },
    /// An invocation was handed to the function.
    Dispatched {
        at: Instant,
        backend: (Duration, u64),
    },
    /// The function answered an invocation (`/response` or `/error`).
    Answered {
        id: String,
        at: Instant,
        backend: (Duration, u64),
        body: Bytes,
        error: bool,
    },
    /// `/runtime/init/error`.
    InitError { body: Bytes },
}

pub struct Invocation {
    pub id: String,
    pub event: Vec<u8>,
}

struct Shared {
    queue: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    seen: mpsc::UnboundedSender<Seen>,
    clock: Arc<BackendClock>,
    function_arn: String,
}

/// One Runtime API server on a free loopback port; stopped when dropped.
pub struct Runtime {
    pub addr: SocketAddr,
    queue: mpsc::UnboundedSender<Invocation>,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    _stop: oneshot::Sender<()>,
}

impl Runtime {
    pub async fn start(clock: Arc<BackendClock>, function_arn: String) -> Self {
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let (seen_tx, seen_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(queue_rx),
            seen: seen_tx,
            clock,
            function_arn,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(|s, p, b| answered(s, p, b, false)),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(|s, p, b| answered(s, p, b, true)),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let (addr, stop) = serve(app).await;
        Self {
            addr,
            queue: queue_tx,
            seen: seen_rx,
            _stop: stop,
        }
    }

    /// Makes an invocation pending: the function's next `GET /next` receives it.
    pub fn invoke(&self, invocation: Invocation) {
        let _ = self.queue.send(invocation);
    }
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    let _ = s.seen.send(Seen::Next { at: Instant::now() });
    let Some(inv) = s.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        + Duration::from_secs(10);
    let headers = [
        ("lambda-runtime-aws-request-id", inv.id),
        (
            "lambda-runtime-deadline-ms",
            deadline.as_millis().to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            s.function_arn.clone(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
        ),
        ("content-type", "application/json".to_owned()),
    ];
    let response = (headers, inv.event).into_response();
    let _ = s.seen.send(Seen::Dispatched {
        at: Instant::now(),
        backend: s.clock.read(),
    });
    response
}

async fn answered(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
    error: bool,
) -> StatusCode {
    let _ = s.seen.send(Seen::Answered {
        id,
        at: Instant::now(),
        backend: s.clock.read(),
        body,
        error,
    });
    StatusCode::ACCEPTED
}

async fn init_error(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let _ = s.seen.send(Seen::InitError { body });
    StatusCode::ACCEPTED
}

/// Serves `app` on a free loopback port until the returned sender is dropped.
async fn serve(app: Router) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("a bound address");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    (addr, tx)
}

/// A plain HTTP proxy on loopback that forwards every request to `upstream` (moto) and adds
/// the time from the request's arrival to the backend's full answer to `clock`.
pub struct Proxy {
    pub endpoint: String,
    _stop: oneshot::Sender<()>,
}

struct Upstream {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    clock: Arc<BackendClock>,
}

impl Proxy {
    pub async fn start(upstream: &str, clock: Arc<BackendClock>) -> Self {
        let up = Arc::new(Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            clock,
        });
        let app = Router::new().fallback(forward).with_state(up);
        let (addr, stop) = serve(app).await;
        Self {
            endpoint: format!("http://{addr}"),
            _stop: stop,
        }
    }
}

async fn forward(State(up): State<Arc<Upstream>>, req: Request) -> Response {
    up.clock.begin();
    let res = pass_on(&up, req).await;
    up.clock.end();
    res
}

async fn pass_on(up: &Upstream, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = axum::http::Request::builder()
        .method(parts.method)
        .uri(format!("{}{path}", up.base));
    for (k, v) in &parts.headers {
        out = out.header(k, v);
    }
    let Ok(out) = out.body(Full::new(body)) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let answer = match up.client.request(out).await {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let (parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    for (k, v) in &parts.headers {
        if k != "transfer-encoding" && k != "connection" {
            headers.append(k, v.clone());
        }
    }
    (parts.status, headers, Body::from(body)).into_response()
}
