//! Conversion of custom resources between the versions of a definition. Strategy `None` only
//! rewrites `apiVersion` (done synchronously by the registry); strategy `Webhook` posts a
//! ConversionReview (apiextensions.k8s.io/v1) to the definition's webhook — by URL or Service,
//! trusting its caBundle — whenever an object crosses versions: written in a served version that
//! is not the storage version, or read in another version than the one it is stored in.
//!
//! As upstream, a webhook may change only labels and annotations of the metadata; everything else
//! in `metadata` is restored from the object sent.

use std::time::Duration;

use serde_json::{Value, json};

use crate::admission::client::{self, Target};
use crate::object;
use crate::registry::{Registry, Resource};
use crate::status::ApiError;

/// A definition's conversion webhook (`spec.conversion.webhook`).
#[derive(Debug)]
pub struct Webhook {
    target: Target,
    ca_bundle: Vec<u8>,
}

/// Upstream's fixed timeout for conversion calls.
const TIMEOUT: Duration = Duration::from_secs(30);

impl Webhook {
    pub fn from_definition(crd: &Value) -> Option<Self> {
        let conversion = crd.pointer("/spec/conversion")?;
        if conversion.get("strategy").and_then(Value::as_str) != Some("Webhook") {
            return None;
        }
        let config = conversion.pointer("/webhook/clientConfig")?;
        let ca_bundle = config
            .get("caBundle")
            .and_then(Value::as_str)
            .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok())
            .unwrap_or_default();
        Some(Self { target: Target::from_client_config(config)?, ca_bundle })
    }

    /// Converts `objects` to `desired` (an apiVersion) in one review; objects already there are
    /// not sent.
    pub async fn convert(
        &self,
        registry: &Registry,
        res: &Resource,
        mut objects: Vec<Value>,
        desired: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let pending: Vec<usize> = (0..objects.len())
            .filter(|&i| objects[i].get("apiVersion").and_then(Value::as_str) != Some(desired))
            .collect();
        if pending.is_empty() {
            return Ok(objects);
        }
        let failed = |detail: String| {
            ApiError::internal(format!(
                "conversion webhook for {}, Kind={} failed: {detail}",
                res.api_version(),
                res.info.kind
            ))
        };
        let uid = object::new_uid();
        let sent: Vec<Value> = pending.iter().map(|&i| objects[i].clone()).collect();
        let review = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "request": {"uid": uid, "desiredAPIVersion": desired, "objects": sent}});
        let answer = client::post(registry, &self.target, &self.ca_bundle, &review, TIMEOUT).await.map_err(failed)?;
        let response = answer.get("response").ok_or_else(|| failed("no response in the review".into()))?;
        if response.get("uid").and_then(Value::as_str) != Some(uid.as_str()) {
            return Err(failed(format!("expected response.uid={uid}")));
        }
        if response.pointer("/result/status").and_then(Value::as_str) != Some("Success") {
            let message = response.pointer("/result/message").and_then(Value::as_str).unwrap_or("");
            return Err(failed(format!("conversion request failed: {message}")));
        }
        let converted = response.get("convertedObjects").and_then(Value::as_array).cloned().unwrap_or_default();
        if converted.len() != pending.len() {
            return Err(failed(format!("expected {} converted objects, got {}", pending.len(), converted.len())));
        }
        for (&i, mut new) in pending.iter().zip(converted) {
            if new.get("apiVersion").and_then(Value::as_str) != Some(desired) {
                return Err(failed(format!("invalid apiVersion in a converted object, expected {desired}")));
            }
            keep_metadata(&objects[i], &mut new);
            objects[i] = new;
        }
        Ok(objects)
    }
}

/// Restores the original metadata but for labels and annotations.
fn keep_metadata(original: &Value, converted: &mut Value) {
    let mut meta = object::metadata(original).cloned().unwrap_or_default();
    for key in ["labels", "annotations"] {
        match object::metadata(converted).and_then(|m| m.get(key)) {
            Some(v) => meta.insert(key.to_string(), v.clone()),
            None => meta.shift_remove(key),
        };
    }
    if let Some(map) = converted.as_object_mut() {
        map.insert("metadata".into(), Value::Object(meta));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_webhook_strategies_have_a_webhook() {
        let none = json!({"spec": {"conversion": {"strategy": "None"}}});
        assert!(Webhook::from_definition(&none).is_none());
        let hook = json!({"spec": {"conversion": {"strategy": "Webhook", "webhook": {
            "clientConfig": {"url": "https://127.0.0.1:9443/convert"}, "conversionReviewVersions": ["v1"]}}}});
        assert_eq!(
            Webhook::from_definition(&hook).unwrap().target,
            Target::Url("https://127.0.0.1:9443/convert".into())
        );
    }

    #[test]
    fn webhooks_may_only_change_labels_and_annotations() {
        let original = json!({"metadata": {"name": "a", "uid": "u", "labels": {"x": "1"}}});
        let mut converted = json!({"apiVersion": "v2", "metadata": {"name": "b", "labels": {"y": "2"}}, "spec": {}});
        keep_metadata(&original, &mut converted);
        assert_eq!(converted["metadata"], json!({"name": "a", "uid": "u", "labels": {"y": "2"}}));
    }
}
