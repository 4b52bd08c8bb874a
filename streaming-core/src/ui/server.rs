//! Binding the UI's port and its routes (axum, on the context's runtime).

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::app::{UiApp, UiError, UiSettings};
use super::{metrics, page, rest};

/// A running UI server; it stops with the runtime it runs on.
#[derive(Clone, Debug)]
pub(crate) struct UiServer {
    addr: SocketAddr,
}

impl UiServer {
    /// The address it listens on.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL, as Spark's `uiWebUrl` (`http://host:port`).
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds `port` on `ip`, or the next ports when taken (`max_retries` of
/// them, as Spark's `spark.port.maxRetries`); port 0 binds any free port.
pub(crate) fn bind(ip: IpAddr, port: u16, max_retries: u16) -> Result<TcpListener, UiError> {
    let last = if port == 0 {
        0
    } else {
        port.saturating_add(max_retries)
    };
    let mut error = None;
    for p in port..=last {
        match TcpListener::bind((ip, p)) {
            Ok(l) => return Ok(l),
            Err(e) => {
                tracing::debug!(port = p, error = %e, "UI port taken; trying the next one");
                error = Some(e);
            }
        }
    }
    Err(UiError::Bind {
        address: ip,
        first: port,
        last,
        source: error.unwrap_or_else(|| std::io::Error::other("no port to try")),
    })
}

/// Starts serving the UI on `runtime`: binds as `settings` say and returns
/// the running server.
pub(crate) fn start(
    settings: &UiSettings,
    app: UiApp,
    runtime: &tokio::runtime::Handle,
) -> Result<UiServer, UiError> {
    let app = Arc::new(app);
    let std_listener = bind(settings.bind, settings.port, settings.max_retries)?;
    std_listener.set_nonblocking(true).map_err(UiError::Serve)?;
    let addr = std_listener.local_addr().map_err(UiError::Serve)?;
    let listener = {
        let _guard = runtime.enter();
        tokio::net::TcpListener::from_std(std_listener).map_err(UiError::Serve)?
    };
    let router = routes(app);
    runtime.spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "the UI server stopped");
        }
    });
    Ok(UiServer { addr })
}

type Shared = State<Arc<UiApp>>;

/// Path parameters; a path axum cannot decode (invalid UTF-8...) is a 404
/// with a JSON error like any unknown id.
struct Ids<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Ids<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Ids(v)),
            Err(e) => Err(json(Err(rest::RestError::NotFound(format!(
                "unknown path {}: {e}",
                parts.uri.path()
            ))))),
        }
    }
}

/// Query parameters; an undecodable query is a 400 with a JSON error.
struct Params<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => Err(json(Err(rest::RestError::BadRequest(format!(
                "bad query: {e}"
            ))))),
        }
    }
}

fn routes(app: Arc<UiApp>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/streaming/") }))
        .route(
            "/streaming",
            get(|| async { Redirect::temporary("/streaming/") }),
        )
        .route("/streaming/", get(streaming_page))
        .route(
            "/streaming/batch",
            get(|| async { Redirect::temporary("/streaming/") }),
        )
        .route("/streaming/batch/", get(batch_page))
        .route("/metrics", get(metrics_text))
        .route("/api/v1/applications", get(applications))
        .route("/api/v1/applications/{app_id}", get(application))
        .route(
            "/api/v1/applications/{app_id}/streaming/statistics",
            get(statistics),
        )
        .route(
            "/api/v1/applications/{app_id}/streaming/receivers",
            get(receivers),
        )
        .route(
            "/api/v1/applications/{app_id}/streaming/receivers/{stream_id}",
            get(receiver),
        )
        .route(
            "/api/v1/applications/{app_id}/streaming/batches",
            get(batches),
        )
        .route(
            "/api/v1/applications/{app_id}/streaming/batches/{batch_id}",
            get(batch),
        )
        .route(
            "/api/v1/applications/{app_id}/streaming/batches/{batch_id}/operations",
            get(operations),
        )
        .route(
            "/api/v1/applications/{app_id}/streaming/batches/{batch_id}/operations/{op_id}",
            get(operation),
        )
        .fallback(not_found)
        .with_state(app)
}

fn json(r: rest::Reply) -> Response {
    let (status, body) = match r {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => (e.status(), e.body()),
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(&body).unwrap_or_default(),
    )
        .into_response()
}

fn html(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    json(Err(rest::RestError::NotFound(format!(
        "no such path: {}",
        uri.path()
    ))))
}

#[derive(serde::Deserialize)]
struct PageQuery {
    /// Only the live part of the page (what the embedded script swaps in).
    fragment: Option<u8>,
}

/// Runs `f` off the async workers: reading an operator's state size waits
/// for a batch that is updating it.
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "a UI page failed");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

async fn streaming_page(State(app): Shared, Params(q): Params<PageQuery>) -> Response {
    blocking(move || html(page::streaming(&app, q.fragment.unwrap_or(0) == 1))).await
}

#[derive(serde::Deserialize)]
struct BatchQuery {
    id: Option<String>,
}

async fn batch_page(State(app): Shared, Params(q): Params<BatchQuery>) -> Response {
    match page::batch(&app, q.id.as_deref().unwrap_or("")) {
        Ok(body) => html(body),
        Err(message) => (StatusCode::NOT_FOUND, html(page::not_found(&message))).into_response(),
    }
}

async fn metrics_text(State(app): Shared) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::render(&app),
    )
        .into_response()
}

async fn applications(State(app): Shared) -> Response {
    json(Ok(rest::applications(&app)))
}

async fn application(State(app): Shared, Ids(app_id): Ids<String>) -> Response {
    json(rest::application(&app, &app_id))
}

async fn statistics(State(app): Shared, Ids(app_id): Ids<String>) -> Response {
    json(rest::statistics(&app, &app_id))
}

async fn receivers(State(app): Shared, Ids(app_id): Ids<String>) -> Response {
    json(rest::receivers(&app, &app_id))
}

async fn receiver(State(app): Shared, Ids((app_id, id)): Ids<(String, String)>) -> Response {
    json(rest::receiver(&app, &app_id, &id))
}

#[derive(serde::Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

async fn batches(
    State(app): Shared,
    Ids(app_id): Ids<String>,
    Params(q): Params<StatusQuery>,
) -> Response {
    json(rest::batches(&app, &app_id, q.status.as_deref()))
}

async fn batch(State(app): Shared, Ids((app_id, id)): Ids<(String, String)>) -> Response {
    json(rest::batch(&app, &app_id, &id))
}

async fn operations(State(app): Shared, Ids((app_id, id)): Ids<(String, String)>) -> Response {
    json(rest::operations(&app, &app_id, &id))
}

async fn operation(
    State(app): Shared,
    Ids((app_id, id, op)): Ids<(String, String, String)>,
) -> Response {
    json(rest::operation(&app, &app_id, &id, &op))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_moves_to_the_next_one() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let first = bind(ip, 0, 0).unwrap();
        let port = first.local_addr().unwrap().port();
        if port == u16::MAX {
            return;
        }
        match bind(ip, port, 3) {
            Ok(next) => assert_ne!(next.local_addr().unwrap().port(), port),
            Err(e) => panic!("the next ports were free: {e}"),
        }
        let e = bind(ip, port, 0).unwrap_err();
        assert!(e.to_string().contains(&port.to_string()), "{e}");
    }
}
