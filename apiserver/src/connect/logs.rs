//! `GET /api/v1/namespaces/{ns}/pods/{name}/log` (upstream's `LogREST`): the container is
//! chosen (the only one, or `container` must name it), the PodLogOptions are validated, and the
//! kubelet's `/containerLogs` answer is streamed back as it comes (`follow` flushes per write).

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{KubeletClient, choose_container, kubelet_address, kubelet_error, pod_and_node};
use crate::registry::Registry;
use crate::status::{ApiError, Cause};

/// The options the kubelet is passed through (the rest of PodLogOptions is the apiserver's).
const FORWARDED: [&str; 7] =
    ["follow", "previous", "timestamps", "tailLines", "limitBytes", "sinceSeconds", "sinceTime"];

/// Upstream's `ValidatePodLogOptions`.
pub fn validate(name: &str, params: &[(String, String)]) -> Result<(), ApiError> {
    let get = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let mut causes = Vec::new();
    let number = |key: &str| get(key).map(|v| v.parse::<i64>());
    for (key, min, detail) in [
        ("tailLines", 0, "must be greater than or equal to 0"),
        ("limitBytes", 1, "must be greater than 0"),
        ("sinceSeconds", 1, "must be greater than 0"),
    ] {
        match number(key) {
            Some(Ok(n)) if n < min => causes.push(Cause::invalid(key, &json!(n), detail)),
            Some(Err(_)) => {
                return Err(ApiError::bad_request(format!(
                    "invalid value for {key}: {:?}",
                    get(key).unwrap_or_default()
                )));
            }
            _ => {}
        }
    }
    if get("sinceSeconds").is_some() && get("sinceTime").is_some() {
        causes.push(Cause::forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"));
    }
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid("", "PodLogOptions", name, causes)) }
}

pub async fn serve(
    registry: &Registry,
    kubelet: &KubeletClient,
    namespace: &str,
    name: &str,
    raw_query: Option<&str>,
) -> Result<Response, ApiError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw_query.unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let (pod, node) = pod_and_node(registry, namespace, name).await?;
    let requested = params.iter().find(|(k, _)| k == "container").map(|(_, v)| v.as_str());
    let container = choose_container(&pod, name, requested)?;
    validate(name, &params)?;
    let address = kubelet_address(registry, &node?).await?;
    let forwarded: Vec<(&str, &str)> =
        params.iter().filter(|(k, _)| FORWARDED.contains(&k.as_str())).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let query = serde_urlencoded::to_string(&forwarded).unwrap_or_default();
    let segment =
        |s: &str| s.replace('%', "%25").replace('/', "%2F").replace('?', "%3F").replace('#', "%23").replace(' ', "%20");
    let path = format!("/containerLogs/{}/{}/{}?{query}", segment(namespace), segment(name), segment(&container));
    let request = http::Request::get(path)
        .header(http::header::HOST, &address)
        .body(http_body_util::Empty::new())
        .map_err(ApiError::internal)?;
    let response = kubelet.send(&address, request).await?;
    if !response.status().is_success() {
        return Err(kubelet_error(response).await);
    }
    let body = Body::new(response.into_body());
    Ok(([(http::header::CONTENT_TYPE, "text/plain")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        let p = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert!(validate("p", &p(&[("tailLines", "0"), ("follow", "true")])).is_ok());
        assert_eq!(validate("p", &p(&[("tailLines", "-1")])).unwrap_err().code, 422);
        assert_eq!(validate("p", &p(&[("limitBytes", "0")])).unwrap_err().code, 422);
        let both = validate("p", &p(&[("sinceSeconds", "5"), ("sinceTime", "2026-01-01T00:00:00Z")])).unwrap_err();
        assert!(
            both.message.contains("at most one of `sinceTime` or `sinceSeconds` may be specified"),
            "{}",
            both.message
        );
        assert_eq!(validate("p", &p(&[("tailLines", "x")])).unwrap_err().code, 400);
    }
}
