//! The HTTP server both modes use (the Interactions Endpoint, health and metrics): HTTP/1 with
//! a time limit on every request and a cap on open connections, so slow or idle clients cannot
//! hold the process's sockets for ever.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// At shutdown, how long a connection may take to finish the request under way: enough for an
/// interaction's inline answer, while a client that never finishes its request holds nothing up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Limits on what a client may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time to send a request's headers (counted from the connection opening or the previous
    /// answer, so it is the idle limit of a kept-alive connection too), and then again to send
    /// its body and get the answer.
    pub request_timeout: Duration,
    /// Connections open at once; further clients wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        // 512 stays clear of the usual 1,024 open files limit, with room for outgoing calls.
        Self { request_timeout: Duration::from_secs(30), max_connections: 512 }
    }
}

/// Serves `router` on `listener` until `stop` is cancelled, then stops accepting, closes idle
/// connections and lets the requests under way finish (bounded).
pub async fn serve(listener: TcpListener, router: Router, limits: HttpLimits, stop: CancellationToken) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        // At the cap, do not accept: the kernel queues the next clients.
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = stop.cancelled() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let (router, stop) = (router.clone(), stop.clone());
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, router, limits.request_timeout, stop).await;
        });
    }
    connections.close();
    connections.wait().await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    timeout: Duration,
    stop: CancellationToken,
) {
    let routes = TowerToHyperService::new(router);
    // The body and the answer get the same limit as the headers.
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let answer = hyper::service::Service::call(&routes, request);
        async move { Ok::<_, std::convert::Infallible>(within(timeout, answer).await) }
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(timeout);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::debug!("dropped a connection whose request did not finish at shutdown");
                    Ok(())
                }
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "closed an HTTP connection");
    }
}

async fn within(
    timeout: Duration,
    answer: impl std::future::Future<Output = Result<Response, std::convert::Infallible>>,
) -> Response {
    match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => {
            tracing::debug!("a client took too long to send its request");
            (StatusCode::REQUEST_TIMEOUT, [(header::CONNECTION, "close")], "request timeout\n")
                .into_response()
        }
    }
}
