//! Errors on the wire: `metav1.Status` with upstream's `reason`, `code`, message wording and
//! `details`, so clients (kubectl, kube-rs) recognise them.

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One field error of an `Invalid` answer (upstream `metav1.StatusCause`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// "FieldValueRequired", "FieldValueInvalid", "FieldValueNotSupported", "FieldValueDuplicate",
    /// "FieldValueForbidden", "FieldValueTooLong", ...
    pub reason: &'static str,
    pub field: String,
    /// The detail as upstream prints it after the field path, e.g. `Required value` or
    /// `Invalid value: "x": must be no more than 63 characters`.
    pub message: String,
}

impl Cause {
    pub fn required(field: impl Into<String>) -> Self {
        Self { reason: "FieldValueRequired", field: field.into(), message: "Required value".into() }
    }

    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        Self {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: {}: {detail}", display_value(value)),
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self { reason: "FieldValueForbidden", field: field.into(), message: format!("Forbidden: {detail}") }
    }

    pub fn not_supported(field: impl Into<String>, value: &Value, supported: &[&str]) -> Self {
        let list = supported.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
        Self {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!("Unsupported value: {}: supported values: {list}", display_value(value)),
        }
    }

    pub fn duplicate(field: impl Into<String>, value: &Value) -> Self {
        Self {
            reason: "FieldValueDuplicate",
            field: field.into(),
            message: format!("Duplicate value: {}", display_value(value)),
        }
    }

    fn text(&self) -> String {
        if self.field.is_empty() { self.message.clone() } else { format!("{}: {}", self.field, self.message) }
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Upstream's `metav1.StatusReason` values rkube answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `""`: upstream's StatusReasonUnknown (e.g. an admission denial without a reason).
    Unknown,
    Unauthorized,
    Forbidden,
    NotFound,
    AlreadyExists,
    Conflict,
    Gone,
    Invalid,
    ServerTimeout,
    Timeout,
    TooManyRequests,
    BadRequest,
    MethodNotAllowed,
    NotAcceptable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
    InternalError,
    Expired,
    ServiceUnavailable,
    /// A reason of someone else's (an admission webhook's), passed on as given (a thin
    /// pointer keeps `ApiError` as small as it was).
    Other(&'static String),
}

impl Reason {
    /// The wire value (`Status.reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "NotFound",
            Self::AlreadyExists => "AlreadyExists",
            Self::Conflict => "Conflict",
            Self::Gone => "Gone",
            Self::Invalid => "Invalid",
            Self::ServerTimeout => "ServerTimeout",
            Self::Timeout => "Timeout",
            Self::TooManyRequests => "TooManyRequests",
            Self::BadRequest => "BadRequest",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::NotAcceptable => "NotAcceptable",
            Self::RequestEntityTooLarge => "RequestEntityTooLarge",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
            Self::InternalError => "InternalError",
            Self::Expired => "Expired",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::Other(text) => text.as_str(),
        }
    }

    /// The reason of a wire value upstream defines; others are `None`.
    pub fn parse(text: &str) -> Option<Self> {
        const ALL: [Reason; 19] = [
            Reason::Unknown,
            Reason::Unauthorized,
            Reason::Forbidden,
            Reason::NotFound,
            Reason::AlreadyExists,
            Reason::Conflict,
            Reason::Gone,
            Reason::Invalid,
            Reason::ServerTimeout,
            Reason::Timeout,
            Reason::TooManyRequests,
            Reason::BadRequest,
            Reason::MethodNotAllowed,
            Reason::NotAcceptable,
            Reason::RequestEntityTooLarge,
            Reason::UnsupportedMediaType,
            Reason::InternalError,
            Reason::Expired,
            Reason::ServiceUnavailable,
        ];
        ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API error: rendered as a `metav1.Status` body with `code` as the HTTP status.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: Reason,
    pub message: String,
    pub details: Option<Value>,
}

/// `pods` or `deployments.apps`, as upstream qualifies a resource in messages.
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") }
}

fn details(group: &str, kind: &str, name: &str) -> Value {
    let mut d = serde_json::Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    d.insert("kind".into(), json!(kind));
    Value::Object(d)
}

impl ApiError {
    pub fn new(code: u16, reason: Reason, message: impl Into<String>) -> Self {
        Self { code, reason, message: message.into(), details: None }
    }

    /// A 409 `Conflict` (a stale resourceVersion or a failed precondition), not `AlreadyExists`.
    pub fn is_conflict(&self) -> bool {
        self.reason == Reason::Conflict
    }

    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self {
            details: Some(details(group, resource, name)),
            ..Self::new(404, Reason::NotFound, format!("{} \"{name}\" not found", qualified(group, resource)))
        }
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self {
            details: Some(details(group, resource, name)),
            ..Self::new(409, Reason::AlreadyExists, format!("{} \"{name}\" already exists", qualified(group, resource)))
        }
    }

    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        Self {
            details: Some(details(group, resource, name)),
            ..Self::new(
                409,
                Reason::Conflict,
                format!("Operation cannot be fulfilled on {} \"{name}\": {why}", qualified(group, resource)),
            )
        }
    }

    /// The optimistic-concurrency conflict of an update with a stale resourceVersion.
    pub fn modified(group: &str, resource: &str, name: &str) -> Self {
        Self::conflict(
            group,
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with per-field causes, worded as upstream: `Pod "x" is invalid: <field>: <detail>`
    /// (`Deployment.apps "x" ...` for kinds of a named group).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let list = match causes.as_slice() {
            [one] => one.text(),
            many => format!("[{}]", many.iter().map(Cause::text).collect::<Vec<_>>().join(", ")),
        };
        let mut d = details(group, kind, name);
        if let Some(map) = d.as_object_mut() {
            map.insert(
                "causes".into(),
                Value::Array(
                    causes
                        .iter()
                        .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                        .collect(),
                ),
            );
        }
        // Upstream names the kind with its group: `Deployment.apps "web" is invalid: ...`.
        let what = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
        Self { details: Some(d), ..Self::new(422, Reason::Invalid, format!("{what} \"{name}\" is invalid: {list}")) }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, Reason::BadRequest, message)
    }

    pub fn forbidden(group: &str, resource: &str, name: &str, why: &str) -> Self {
        let what = if name.is_empty() {
            qualified(group, resource)
        } else {
            format!("{} \"{name}\"", qualified(group, resource))
        };
        Self {
            details: Some(details(group, resource, name)),
            ..Self::new(403, Reason::Forbidden, format!("{what} is forbidden: {why}"))
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(401, Reason::Unauthorized, "Unauthorized")
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, Reason::MethodNotAllowed, message)
    }

    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, Reason::NotAcceptable, message)
    }

    /// 410 for a resourceVersion or continue token whose history is gone.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, Reason::Expired, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, Reason::RequestEntityTooLarge, message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            Reason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"
            ),
        )
    }

    /// A strategic merge patch on a kind without patch strategies (custom resources).
    pub fn unsupported_patch() -> Self {
        Self::new(
            415,
            Reason::UnsupportedMediaType,
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        )
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(500, Reason::InternalError, format!("Internal error occurred: {message}"))
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, Reason::ServiceUnavailable, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, Reason::Timeout, message)
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The `metav1.Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.as_str(),
        });
        if let (Some(map), Some(details)) = (status.as_object_mut(), &self.details) {
            map.insert("details".into(), details.clone());
        }
        if let Some(map) = status.as_object_mut() {
            map.insert("code".into(), json!(self.code));
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = http::StatusCode::from_u16(self.code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = serde_json::to_vec(&self.to_status()).unwrap_or_default();
        body.push(b'\n');
        (code, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// The `Status` a successful delete answers with.
pub fn success(group: &str, resource: &str, name: &str, uid: Option<&str>) -> Value {
    let mut d = details(group, resource, name);
    if let (Some(map), Some(uid)) = (d.as_object_mut(), uid) {
        map.insert("uid".into(), json!(uid));
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_details_follow_upstream() {
        let e = ApiError::not_found("apps", "deployments", "web");
        assert_eq!(e.message, "deployments.apps \"web\" not found");
        assert_eq!(
            e.to_status(),
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                   "message":"deployments.apps \"web\" not found","reason":"NotFound",
                   "details":{"name":"web","group":"apps","kind":"deployments"},"code":404})
        );
        let e = ApiError::invalid(
            "",
            "Pod",
            "p",
            vec![Cause::required("spec.containers"), Cause::invalid("metadata.name", &json!("A"), "bad")],
        );
        assert_eq!(
            e.message,
            "Pod \"p\" is invalid: [spec.containers: Required value, metadata.name: Invalid value: \"A\": bad]"
        );
        assert_eq!(e.to_status()["details"]["causes"][0]["reason"], "FieldValueRequired");
        assert_eq!(ApiError::modified("", "configmaps", "c").code, 409);
    }
}
