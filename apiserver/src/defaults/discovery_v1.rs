//! discovery.k8s.io/v1: upstream's `pkg/apis/discovery/v1/defaults.go`.

use serde_json::json;

use crate::defaults::util::{Obj, each_obj, set_default};

/// Applies discovery.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "EndpointSlice" => each_obj(obj, "ports", set_defaults_endpoint_port),
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_EndpointPort`: an unnamed TCP port. Both are
/// pointers, so an unset name becomes an explicit "".
pub fn set_defaults_endpoint_port(port: &mut Obj) {
    set_default(port, "name", json!(""));
    set_default(port, "protocol", json!("TCP"));
}
