//! rkube's apiserver: the Kubernetes REST and watch protocol over TLS, on top of the store.

pub mod authn;
pub mod pki;
pub mod request;
pub mod status;
