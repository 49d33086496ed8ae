//! cluster::transport: the one connection a fabric's clients share. kube's own client
//! (`Client::try_from`) speaks HTTP/1.1, where every long-running watch holds a TCP connection
//! of its own — about twenty per fabric, thousands for a fleet. Here TLS offers ALPN `h2`
//! (then `http/1.1`), so against an API server (which speaks HTTP/2) every watch and request
//! of a fabric is a stream on one connection; a server that only speaks HTTP/1.1 picks it in
//! the handshake and works as before, one connection per open request.
//!
//! The stack is the one `Client::try_from` builds, minus what hhdash never configures (proxies,
//! client certificates, exec plugins, impersonation, gzip, tracing spans): the fabric's own CA
//! (or none, when insecure is asked for) from `kube::Config`, the bearer token as a sensitive
//! header (never in a log or a `Debug`), the base URI, and kube's retry of 429/503/504.
//!
//! Read timeouts move from the socket to the request. On HTTP/1.1 a socket served one request
//! at a time, so a socket read timeout was a request's; on a shared HTTP/2 connection a socket
//! read timeout would end every watch whenever the fabric is quiet. So each request has an idle
//! limit of its own (`IdleTimeout`: the answer's head, then each piece of its body, must come
//! within it), short for one-shot requests and long for watches, and the connection itself is
//! checked with HTTP/2 pings: a connection whose pings go unanswered is closed, so a dead link
//! (no reset ever arrives) is replaced by a new connection instead of keeping every request of
//! the fabric waiting on it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use http::Response;
use http_body::{Body, Frame, SizeHint};
use hyper_rustls::HttpsConnector;
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::{ClientBuilder, ConfigExt};
use tower::{BoxError, Layer, Service, ServiceBuilder};

/// How often an HTTP/2 connection is pinged, and how long an unanswered ping may wait before
/// the connection is given up. Both well under the watch read timeout, well over a round trip.
const PING_EVERY: Duration = Duration::from_secs(20);
const PING_ANSWER_WITHIN: Duration = Duration::from_secs(20);

type Connector = TimeoutConnector<HttpsConnector<HttpConnector>>;

/// A fabric's connection pool: over HTTP/2 one connection, shared by every client made from
/// it. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub(super) struct Connection {
    http: hyper_util::client::legacy::Client<Connector, kube::client::Body>,
}

impl Connection {
    /// TLS as `config` says (its CA, or no verification when it accepts invalid
    /// certificates), ALPN `h2` then `http/1.1`, and a connect (TCP and TLS) that must finish
    /// within `connect_timeout`. No I/O happens here.
    pub(super) fn new(
        config: &kube::Config,
        connect_timeout: Duration,
    ) -> Result<Connection, kube::Error> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config.rustls_client_config()?)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let mut connector = TimeoutConnector::new(tls);
        connector.set_connect_timeout(Some(connect_timeout));
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .http2_keep_alive_interval(PING_EVERY)
            .http2_keep_alive_timeout(PING_ANSWER_WITHIN)
            .http2_keep_alive_while_idle(true)
            .build(connector);
        Ok(Connection { http })
    }

    /// A kube client over this connection, for the server and token in `config`, whose
    /// requests fail with a timeout when the server sends nothing for `idle`.
    pub(super) fn client(
        &self,
        config: &kube::Config,
        idle: Duration,
    ) -> Result<kube::Client, kube::Error> {
        let service = ServiceBuilder::new()
            .layer(config.base_uri_layer())
            .option_layer(config.default_retry.then(|| {
                tower::retry::RetryLayer::new(kube::client::retry::RetryPolicy::server_retry())
            }))
            .option_layer(config.auth_layer()?)
            .layer(IdleTimeoutLayer { idle })
            .service(self.http.clone());
        Ok(ClientBuilder::new(service, config.default_namespace.clone()).build())
    }
}

/// The error of a request the server stopped answering: an I/O timeout, which
/// `error::classify` reports as `NoAnswer`.
fn silent(idle: Duration) -> BoxError {
    Box::new(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "read timed out: nothing from the server for {} s",
            idle.as_secs()
        ),
    ))
}

#[derive(Clone)]
struct IdleTimeoutLayer {
    idle: Duration,
}

impl<S> Layer<S> for IdleTimeoutLayer {
    type Service = IdleTimeout<S>;

    fn layer(&self, inner: S) -> IdleTimeout<S> {
        IdleTimeout {
            inner,
            idle: self.idle,
        }
    }
}

/// A request's idle limit: the response head within `idle` of sending, then each frame of the
/// body within `idle` of the one before. A limit on silence, not on the whole: a large list
/// that keeps arriving is never cut off.
#[derive(Clone)]
struct IdleTimeout<S> {
    inner: S,
    idle: Duration,
}

impl<S, Req, B> Service<Req> for IdleTimeout<S>
where
    S: Service<Req, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Response = Response<IdleBody<B>>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<IdleBody<B>>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let idle = self.idle;
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = tokio::time::timeout(idle, response)
                .await
                .map_err(|_| silent(idle))?
                .map_err(Into::into)?;
            Ok(response.map(|body| IdleBody {
                inner: body,
                idle,
                deadline: Box::pin(tokio::time::sleep(idle)),
            }))
        })
    }
}

struct IdleBody<B> {
    inner: B,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<B> Body for IdleBody<B>
where
    B: Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let this = &mut *self;
        // The body first: what already arrived counts even if the reader was slow to ask.
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            let next = tokio::time::Instant::now() + this.idle;
            this.deadline.as_mut().reset(next);
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        match this.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(silent(this.idle)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
