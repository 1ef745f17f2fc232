//! Prometheus metrics on `/metrics`: request counts and latencies by verb and resource, and the
//! number of open watches per resource (upstream's names).

use std::sync::Mutex;
use std::time::Duration;

use http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    resource: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    verb: String,
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabel {
    resource: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    watchers: Family<ResourceLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let watchers = Family::<ResourceLabel, Gauge>::default();
        registry.register("apiserver_request", "Requests by verb, resource and HTTP code", requests.clone());
        registry.register(
            "apiserver_request_duration_seconds",
            "Request latency by verb and resource (for watches: until the response starts)",
            latency.clone(),
        );
        registry.register("apiserver_registered_watchers", "Open watches by resource", watchers.clone());
        Self { registry: Mutex::new(registry), requests, latency, watchers }
    }
}

/// The resource a request path names (`pods` for `/api/v1/namespaces/x/pods/y`).
fn resource_of(path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.as_slice() {
        ["api", _, rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => return String::new(),
    };
    match rest {
        ["namespaces", _, resource, ..] => resource.to_string(),
        [resource, ..] => resource.to_string(),
        [] => String::new(),
    }
}

fn verb_of(method: &Method, path: &str, watch: bool) -> &'static str {
    let named = {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let rest_len = match segments.first() {
            Some(&"api") => segments.len().saturating_sub(2),
            Some(&"apis") => segments.len().saturating_sub(3),
            _ => 0,
        };
        let namespaced = segments.iter().position(|s| *s == "namespaces").is_some_and(|i| segments.len() > i + 2);
        if namespaced { rest_len >= 4 } else { rest_len >= 2 }
    };
    match (method.as_str(), named, watch) {
        ("GET", _, true) => "WATCH",
        ("GET", false, _) => "LIST",
        ("GET", true, _) => "GET",
        ("POST", _, _) => "POST",
        ("PUT", _, _) => "PUT",
        ("PATCH", _, _) => "PATCH",
        ("DELETE", false, _) => "DELETECOLLECTION",
        ("DELETE", true, _) => "DELETE",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn observe(&self, method: &Method, path: &str, watch: bool, code: u16, elapsed: Duration) {
        let verb = verb_of(method, path, watch).to_string();
        let resource = resource_of(path);
        self.requests
            .get_or_create(&RequestLabels { verb: verb.clone(), resource: resource.clone(), code: code.to_string() })
            .inc();
        self.latency.get_or_create(&LatencyLabels { verb, resource }).observe(elapsed.as_secs_f64());
    }

    /// Counts an open watch until the returned guard is dropped.
    pub fn watch_opened(&self, resource: &str) -> WatchGuard {
        let gauge = self.watchers.get_or_create(&ResourceLabel { resource: resource.to_string() }).clone();
        gauge.inc();
        WatchGuard(gauge)
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

pub struct WatchGuard(Gauge);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_give_verbs_and_resources() {
        let cases = [
            ("GET", "/api/v1/namespaces/default/pods", false, "LIST", "pods"),
            ("GET", "/api/v1/namespaces/default/pods/web", false, "GET", "pods"),
            ("GET", "/api/v1/pods", true, "WATCH", "pods"),
            ("GET", "/api/v1/nodes/n1", false, "GET", "nodes"),
            ("GET", "/api/v1/namespaces/default", false, "GET", "namespaces"),
            ("POST", "/apis/apps/v1/namespaces/x/deployments", false, "POST", "deployments"),
            ("DELETE", "/api/v1/namespaces/x/configmaps", false, "DELETECOLLECTION", "configmaps"),
        ];
        for (method, path, watch, verb, resource) in cases {
            let m: Method = method.parse().unwrap();
            assert_eq!((verb_of(&m, path, watch), resource_of(path).as_str()), (verb, resource), "{path}");
        }
        let metrics = Metrics::default();
        metrics.observe(&Method::GET, "/api/v1/pods", false, 200, Duration::from_millis(3));
        let guard = metrics.watch_opened("pods");
        let text = metrics.encode();
        assert!(text.contains("apiserver_request_total{verb=\"LIST\",resource=\"pods\",code=\"200\"} 1"), "{text}");
        assert!(text.contains("apiserver_registered_watchers{resource=\"pods\"} 1"));
        drop(guard);
        assert!(metrics.encode().contains("apiserver_registered_watchers{resource=\"pods\"} 0"));
    }
}
