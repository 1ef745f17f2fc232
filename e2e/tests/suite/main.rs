//! The end-to-end suite: one test binary (each linked test binary costs ~100 MB of disk and a
//! link step), one module per area. Each test starts its own cluster processes.

mod apply;
mod controllers;
mod conversion;
mod crd;
mod helm;
mod hollow;
mod kube_rs;
mod kubectl;
mod nodes;
mod operator;
mod pods;
mod probes;
mod protocol;
mod python;
mod scheduler;
mod streaming;
mod volumes;
mod webhooks;
mod wire;
mod workloads;
