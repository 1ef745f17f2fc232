//! Upgrade-aware proxying (upstream's `UpgradeAwareHandler` with `upgradeRequired`): the client's
//! streaming request (SPDY/3.1 or WebSocket) is sent on to the backend with its upgrade headers;
//! the backend's `101 Switching Protocols` goes back to the client and the two upgraded
//! connections are piped byte for byte. Any other backend answer is returned as it is.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

pub type Body = BoxBody<Bytes, hyper::Error>;

/// Headers of a streaming request the backend must see to negotiate the same protocol.
fn forwarded(name: &HeaderName) -> bool {
    let name = name.as_str();
    matches!(name, "connection" | "upgrade" | "x-stream-protocol-version" | "user-agent")
        || name.starts_with("sec-websocket-")
}

/// Whether the request asks to switch protocols (SPDY or WebSocket).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")))
        && headers.contains_key(header::UPGRADE)
}

/// The request to send to the backend: the client's method and upgrade headers, at
/// `path_and_query` on `host`.
pub fn backend_request(
    method: &http::Method,
    headers: &HeaderMap,
    host: &str,
    path_and_query: &str,
) -> Result<Request<Empty<Bytes>>, http::Error> {
    let mut builder = Request::builder().method(method.clone()).uri(path_and_query).header(header::HOST, host);
    for (name, value) in headers.iter().filter(|(n, _)| forwarded(n)) {
        builder = builder.header(name, value);
    }
    builder.body(Empty::new())
}

/// Relays the backend's answer: a 101 is returned to the client and, once both sides have
/// switched, their connections are piped; anything else is passed back unchanged.
pub fn relay(client: Option<OnUpgrade>, mut backend: Response<Incoming>) -> Response<Body> {
    if backend.status() != StatusCode::SWITCHING_PROTOCOLS {
        return backend.map(|b| b.boxed());
    }
    let Some(client) = client else {
        return plain(StatusCode::BAD_REQUEST, "the connection cannot be upgraded".into());
    };
    let backend_upgrade = hyper::upgrade::on(&mut backend);
    let mut response = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
    for (name, value) in backend.headers() {
        response = response.header(name, value);
    }
    tokio::spawn(async move {
        match tokio::try_join!(client, backend_upgrade) {
            Ok((client, backend)) => {
                let (mut a, mut b) = (TokioIo::new(client), TokioIo::new(backend));
                if let Err(e) = tokio::io::copy_bidirectional(&mut a, &mut b).await {
                    tracing::debug!(error = %e, "streaming connection ended");
                }
            }
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
    });
    response
        .body(Empty::new().map_err(|never| match never {}).boxed())
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, String::new()))
}

/// A plain-text response.
pub fn plain(code: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)).map_err(|never| match never {}).boxed());
    *response.status_mut() = code;
    response.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// Sends `request` over plain HTTP/1.1 to `address` (`host:port`), upgrades allowed.
pub async fn send_plain(address: &str, request: Request<Empty<Bytes>>) -> std::io::Result<Response<Incoming>> {
    let tcp = tokio::net::TcpStream::connect(address).await?;
    let _ = tcp.set_nodelay(true);
    send_over(TokioIo::new(tcp), request).await
}

/// Sends `request` over an established connection (TCP or TLS), upgrades allowed.
pub async fn send_over<T>(io: T, request: Request<Empty<Bytes>>) -> std::io::Result<Response<Incoming>>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "backend connection ended with an error");
        }
    });
    sender.send_request(request).await.map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_headers_are_forwarded_and_others_are_not() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, "Upgrade".parse().unwrap());
        headers.insert(header::UPGRADE, "SPDY/3.1".parse().unwrap());
        headers.append("x-stream-protocol-version", "v4.channel.k8s.io".parse().unwrap());
        headers.append("x-stream-protocol-version", "v3.channel.k8s.io".parse().unwrap());
        headers.insert(header::AUTHORIZATION, "Bearer secret".parse().unwrap());
        assert!(is_upgrade(&headers));
        let request =
            backend_request(&http::Method::POST, &headers, "10.0.0.1:10250", "/exec/ns/p/c?command=ls").unwrap();
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.headers().get_all("x-stream-protocol-version").iter().count(), 2);
        assert!(request.headers().get(header::AUTHORIZATION).is_none(), "credentials stay with the apiserver");
        assert_eq!(request.headers()[header::HOST], "10.0.0.1:10250");
    }
}
