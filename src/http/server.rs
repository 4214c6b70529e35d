//! The accept loop: HTTP/1 connections served by hyper with a cap on how many are open, a
//! deadline for each request's headers, an idle timeout between requests, and a graceful
//! shutdown that lets in-flight requests finish.
//!
//! `axum::serve` offers none of these bounds, so a client that opens connections and never
//! finishes its headers (or never sends anything) could hold sockets for ever. Here:
//!
//! - at most `max_connections` are open; the next one is accepted when one closes (it waits in
//!   the kernel's backlog meanwhile);
//! - a connection waiting for a request (the first, or the next one on a kept-alive
//!   connection) is closed after `idle_timeout`: hyper's header-read timer, which runs from the
//!   moment the connection waits for a request head;
//! - a request whose headers started arriving must complete them within `header_timeout` of
//!   their first byte, watched by [`Watch`], else the connection is closed;
//! - the body has its own timeout (the router's `RequestBodyTimeoutLayer`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::ServerLimits;

/// Serves `router` on `listener` until `stop` completes, then stops accepting, lets every
/// open connection finish its request in flight (idle ones close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stopping, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        // A slot first, then the connection: beyond the cap, clients wait in the backlog.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit?,
            () = &mut stop => break,
        };
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Running out of file descriptors, or a connection reset before it was
                    // accepted: neither should stop the server.
                    tracing::warn!("accepting a connection failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        connections.spawn(connection(
            stream,
            router.clone(),
            limits,
            stopped.clone(),
            permit,
        ));
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stopping.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Serves one connection until it ends, times out, or the server stops.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: ServerLimits,
    mut stopped: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let watch = Arc::new(Watch::default());
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        watch: watch.clone(),
    });
    let service = {
        let watch = watch.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let router = router.clone();
            let watch = watch.clone();
            watch.request_started();
            async move {
                let response = router.oneshot(req.map(axum::body::Body::new)).await;
                watch.request_ended();
                response
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(limits.idle_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!("connection ended: {error}");
                }
                return;
            }
            () = watch.headers_overdue(limits.header_timeout) => {
                tracing::debug!("closing a connection whose request headers did not arrive in time");
                return;
            }
            changed = stopped.wait_for(|stop| *stop), if !shutting_down => {
                shutting_down = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// What a connection is doing, as far as the header deadline is concerned.
#[derive(Default)]
struct Watch {
    state: Mutex<WatchState>,
}

#[derive(Default)]
struct WatchState {
    /// A request is being handled (its headers are complete).
    in_request: bool,
    /// When the first byte of the next request's headers arrived.
    head_started: Option<Instant>,
}

impl Watch {
    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: between requests, they start the next request's headers.
    fn bytes_read(&self) {
        let mut state = self.lock();
        if !state.in_request && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
        }
    }

    fn request_started(&self) {
        let mut state = self.lock();
        state.in_request = true;
        state.head_started = None;
    }

    fn request_ended(&self) {
        self.lock().in_request = false;
    }

    /// Completes when a request's headers have been arriving for longer than `limit`.
    async fn headers_overdue(&self, limit: Duration) {
        let check = (limit / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        loop {
            let started = self.lock().head_started;
            let wait = match started {
                Some(at) => match limit.checked_sub(at.elapsed()) {
                    None => return,
                    Some(left) => left.min(check),
                },
                None => check,
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// A TCP stream that tells its [`Watch`] when bytes arrive.
struct WatchedIo {
    inner: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.bytes_read();
        }
        result
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
