//! exec and attach over WebSocket `v5.channel.k8s.io`, terminated here and carried on to the
//! kubelet over SPDY `v4.channel.k8s.io` (upstream's StreamTranslator): the kubelet and
//! containerd speak at most v4, and only SPDY can half-close stdin, which v5 clients signal
//! with `[255, 0]`. WebSocket messages are `[channel] ++ payload`: 0 stdin, 1 stdout, 2 stderr,
//! 3 the final `metav1.Status`, 4 terminal resizes.

use std::sync::Arc;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, frame::coding::CloseCode};

use crate::proxy::Body;
use crate::spdy::Session;

pub const V5: &str = "v5.channel.k8s.io";
/// What the kubelet is offered over SPDY, best first.
pub const SPDY_PROTOCOLS: [&str; 4] = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5's half-close: `[255, channel]`.
pub const CLOSE: u8 = 255;

/// The streams of one remote command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

fn offered_protocols(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
}

/// A WebSocket upgrade offering `protocol`.
pub fn websocket_offers(headers: &HeaderMap, protocol: &str) -> bool {
    let websocket =
        headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    websocket && offered_protocols(headers).any(|p| p == protocol)
}

/// The SPDY upgrade request for the kubelet at `host`.
pub fn spdy_request(
    host: &str,
    path_and_query: &str,
    protocols: &[&str],
) -> Result<Request<Empty<Bytes>>, http::Error> {
    let mut builder = Request::post(path_and_query)
        .header(header::HOST, host)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "SPDY/3.1");
    for protocol in protocols {
        builder = builder.header("X-Stream-Protocol-Version", *protocol);
    }
    builder.body(Empty::new())
}

/// The `101 Switching Protocols` accepting the client's WebSocket with `protocol`.
pub fn websocket_accept(headers: &HeaderMap, protocol: &str) -> Result<Response<Body>, String> {
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or("missing Sec-WebSocket-Key")?;
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .header(header::SEC_WEBSOCKET_PROTOCOL, protocol)
        .body(Empty::new().map_err(|never| match never {}).boxed())
        .map_err(|e| e.to_string())
}

fn framed(channel: u8, payload: &[u8]) -> Message {
    let mut message = Vec::with_capacity(payload.len() + 1);
    message.push(channel);
    message.extend_from_slice(payload);
    Message::Binary(message.into())
}

/// The status when the other side said nothing (v4 always sends one; v1–v3 only on failure).
const SUCCESS: &str = r#"{"metadata":{},"status":"Success"}"#;

/// Carries a v5 WebSocket client (`client`, already upgraded) to a SPDY remote command
/// (`kubelet`, already upgraded), until the command's status is known.
pub async fn bridge(client: Upgraded, kubelet: Upgraded, streams: Streams) {
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(client), Role::Server, None).await;
    let (mut to_client, mut from_client) = ws.split();
    let (read, write) = tokio::io::split(TokioIo::new(kubelet));
    let session = Session::start(read, write);
    let stderr = streams.stderr && !streams.tty;
    let opened = async {
        let (_, error) = session.open(&[("streamType", "error")]).await?;
        let stdin = if streams.stdin { Some(session.open(&[("streamType", "stdin")]).await?.0) } else { None };
        let stdout = if streams.stdout { Some(session.open(&[("streamType", "stdout")]).await?.1) } else { None };
        let stderr = if stderr { Some(session.open(&[("streamType", "stderr")]).await?.1) } else { None };
        let resize = if streams.tty { Some(session.open(&[("streamType", "resize")]).await?.0) } else { None };
        Ok::<_, std::io::Error>((error, stdin, stdout, stderr, resize))
    };
    let (mut error, stdin, stdout, stderr, resize) = match opened.await {
        Ok(s) => s,
        Err(e) => {
            let status = format!(
                r#"{{"metadata":{{}},"status":"Failure","message":"Internal error occurred: error creating the streams: {e}","reason":"InternalError","code":500}}"#
            );
            let _ = to_client.send(framed(ERROR, status.as_bytes())).await;
            let _ = to_client.close().await;
            session.close().await;
            return;
        }
    };
    // Upstream announces readiness with an empty frame on the first output channel.
    let ready = if streams.stdout {
        STDOUT
    } else if stderr.is_some() {
        STDERR
    } else {
        ERROR
    };
    let _ = to_client.send(Message::Binary(vec![ready].into())).await;

    let input_session = Arc::clone(&session);
    let input = tokio::spawn(async move {
        let mut stdin_open = stdin.is_some();
        while let Some(Ok(message)) = from_client.next().await {
            let payload = match message {
                Message::Binary(b) => b,
                // Upstream reads text frames like binary ones (the Python client sends stdin
                // as text: the channel byte, then the data).
                Message::Text(t) => t.into(),
                Message::Close(_) => break,
                _ => continue,
            };
            match (payload.first().copied(), stdin, resize) {
                (Some(STDIN), Some(id), _)
                    if stdin_open && input_session.send(id, &payload[1..], false).await.is_err() =>
                {
                    break;
                }
                (Some(RESIZE), _, Some(id)) => {
                    let _ = input_session.send(id, &payload[1..], false).await;
                }
                (Some(CLOSE), Some(id), _) if payload.get(1) == Some(&STDIN) && stdin_open => {
                    stdin_open = false;
                    let _ = input_session.send(id, &[], true).await;
                }
                _ => {}
            }
        }
        // The client went away: its stdin ends.
        if let (true, Some(id)) = (stdin_open, stdin) {
            let _ = input_session.send(id, &[], true).await;
        }
    });

    let mut status = Vec::new();
    let (mut stdout, mut stderr) = (stdout, stderr);
    let mut error_open = true;
    while error_open || stdout.is_some() || stderr.is_some() {
        tokio::select! {
            chunk = async { stdout.as_mut()?.recv().await.map(Some) }, if stdout.is_some() => match chunk {
                Some(Some(bytes)) => if to_client.send(framed(STDOUT, &bytes)).await.is_err() { break },
                _ => stdout = None,
            },
            chunk = async { stderr.as_mut()?.recv().await.map(Some) }, if stderr.is_some() => match chunk {
                Some(Some(bytes)) => if to_client.send(framed(STDERR, &bytes)).await.is_err() { break },
                _ => stderr = None,
            },
            chunk = error.recv(), if error_open => match chunk {
                Some(bytes) => status.extend_from_slice(&bytes),
                None => error_open = false,
            },
        }
    }
    let status = if status.is_empty() { SUCCESS.as_bytes().to_vec() } else { status };
    let _ = to_client.send(framed(ERROR, &status)).await;
    let _ = to_client.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() }))).await;
    input.abort();
    session.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_offers_are_recognised_and_accepted() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, "websocket".parse().unwrap());
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, "v5.channel.k8s.io, v4.channel.k8s.io".parse().unwrap());
        headers.insert(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap());
        assert!(websocket_offers(&headers, V5));
        assert!(!websocket_offers(&headers, "SPDY/3.1+portforward.k8s.io"));
        let response = websocket_accept(&headers, V5).unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(response.headers()[header::SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(response.headers()[header::SEC_WEBSOCKET_PROTOCOL], V5);
        let request = spdy_request("10.0.0.1:10250", "/exec/a/b/c?output=1&command=ls", &SPDY_PROTOCOLS).unwrap();
        assert_eq!(request.headers().get_all("x-stream-protocol-version").iter().count(), 4);
        assert_eq!(request.method(), http::Method::POST);
    }
}
