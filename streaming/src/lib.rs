//! The Kubernetes streaming protocols exec, attach and port-forward ride on (upstream's
//! `k8s.io/apimachinery/pkg/util/httpstream` and friends), shared by the apiserver and the
//! kubelet:
//! - `proxy.rs`: an upgraded connection passed on to a backend byte for byte;
//! - `spdy.rs`: SPDY/3.1 framing and a client session, as moby/spdystream speaks it;
//! - `remotecommand.rs`: exec/attach over WebSocket `v5.channel.k8s.io` carried on over SPDY;
//! - `tunnel.rs`: port-forward's SPDY tunnelled in WebSocket (kubectl 1.31+).

pub mod proxy;
pub mod remotecommand;
pub mod spdy;
pub mod tunnel;
