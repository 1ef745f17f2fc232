//! Review resources, answered and never stored: who am I (SelfSubjectReview), token reviews,
//! and access reviews. Until RBAC lands every authenticated user may do everything, and the
//! access reviews say so.

use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::authn::UserInfo;
use crate::handlers::json_response;
use crate::request::Target;
use crate::server::Api;
use crate::status::ApiError;

const REVIEWS: &[(&str, &str, &str)] = &[
    ("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview"),
    ("authentication.k8s.io", "tokenreviews", "TokenReview"),
    ("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview"),
    ("authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview"),
    ("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview"),
];

pub fn handles(t: &Target) -> bool {
    REVIEWS.iter().any(|(g, r, _)| *g == t.group && *r == t.resource)
}

fn user_json(user: &UserInfo) -> Value {
    let mut u = json!({"username": user.name, "groups": user.groups});
    if !user.uid.is_empty() {
        u["uid"] = json!(user.uid);
    }
    u
}

const ALLOWED_REASON: &str = "rkube allows every authenticated user every action (no authorizer configured)";

pub async fn create(
    api: &Api,
    t: &Target,
    user: &UserInfo,
    body: &Bytes,
    content_type: &str,
) -> Result<Response, ApiError> {
    let Some((group, _, kind)) = REVIEWS.iter().find(|(g, r, _)| *g == t.group && *r == t.resource) else {
        return Err(ApiError::new(
            404,
            crate::status::Reason::NotFound,
            "the server could not find the requested resource",
        ));
    };
    let mut review: Value = if body.is_empty() { json!({}) } else { crate::handlers::decode_body(body, content_type)? };
    let status = match *kind {
        "SelfSubjectReview" => json!({"userInfo": user_json(user)}),
        "TokenReview" => {
            let token = review.pointer("/spec/token").and_then(Value::as_str).unwrap_or("");
            match api.tokens.authenticate(token) {
                Some(who) => json!({"authenticated": true, "user": user_json(&who)}),
                None => json!({"authenticated": false, "error": "invalid bearer token"}),
            }
        }
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        _ => json!({"allowed": true, "reason": ALLOWED_REASON}),
    };
    let map = review.as_object_mut().ok_or_else(|| ApiError::bad_request(format!("{kind} must be an object")))?;
    map.insert("kind".into(), json!(kind));
    map.insert("apiVersion".into(), json!(format!("{group}/v1")));
    map.entry("metadata").or_insert_with(|| json!({"creationTimestamp": null}));
    map.insert("status".into(), status);
    Ok(json_response(201, &review))
}
