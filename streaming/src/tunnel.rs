//! Port-forward with SPDY tunnelled in WebSocket (kubectl 1.31+, subprotocol
//! `SPDY/3.1+portforward.k8s.io`; upstream's TunnelingHandler): the kubelet gets a plain SPDY
//! `portforward.k8s.io` upgrade, and the client's binary WebSocket messages carry that SPDY
//! byte stream — each message's payload is the next bytes, message boundaries mean nothing.
//! Nothing here parses SPDY.

use futures::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The WebSocket subprotocol kubectl asks for.
pub const PORT_FORWARD: &str = "SPDY/3.1+portforward.k8s.io";
/// The SPDY protocol the kubelet is asked for.
pub const SPDY_PORT_FORWARD: &str = "portforward.k8s.io";

/// Pipes the client's WebSocket (`client`, upgraded) and the kubelet's SPDY connection.
pub async fn pipe(client: Upgraded, kubelet: Upgraded) {
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(client), Role::Server, None).await;
    let (mut to_client, mut from_client) = ws.split();
    let (mut from_kubelet, mut to_kubelet) = tokio::io::split(TokioIo::new(kubelet));
    let upstream = async {
        while let Some(Ok(message)) = from_client.next().await {
            match message {
                Message::Binary(bytes) if to_kubelet.write_all(&bytes).await.is_err() => {
                    break;
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        let _ = to_kubelet.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match from_kubelet.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_client.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to_client.close().await;
    };
    // Either side ending ends the tunnel.
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
    }
}
