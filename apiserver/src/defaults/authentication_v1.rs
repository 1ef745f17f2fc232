//! authentication.k8s.io/v1: upstream's `pkg/apis/authentication/v1/defaults.go`.
//! TokenReview and SelfSubjectReview have no defaulters.

use serde_json::json;

use crate::defaults::util::{Obj, child_or_create, set_default};

/// Applies authentication.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "TokenRequest" => {
            if let Some(spec) = child_or_create(obj, "spec") {
                set_defaults_token_request_spec(spec);
            }
        }
        "TokenReview" | "SelfSubjectReview" => {}
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_TokenRequestSpec`: tokens last an hour.
pub fn set_defaults_token_request_spec(spec: &mut Obj) {
    set_default(spec, "expirationSeconds", json!(3600));
}
