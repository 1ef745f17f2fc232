//! How objects are kept in the store: the key layout and the encoding.
//!
//! Keys: `/registry/<group>/<resource>/<namespace>/<name>` for namespaced resources and
//! `/registry/<group>/<resource>/<name>` for cluster-scoped ones, with the core group spelled
//! `core`. Values: the object's JSON without `metadata.resourceVersion`, which is the store's
//! `mod_revision` and is filled in on every read.

use bytes::Bytes;
use serde_json::{Value, json};
use store::KeyValue;

use crate::object;
use crate::status::ApiError;

/// Where one resource's objects live in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    /// `/registry/<group>/<resource>/`
    root: String,
    namespaced: bool,
}

impl Keys {
    pub fn new(group: &str, resource: &str, namespaced: bool) -> Self {
        let group = if group.is_empty() { "core" } else { group };
        Self { root: format!("/registry/{group}/{resource}/"), namespaced }
    }

    /// Every object of the resource, or of one namespace.
    pub fn prefix(&self, namespace: Option<&str>) -> String {
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("{}{ns}/", self.root),
            None => self.root.clone(),
        }
    }

    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}{name}", self.prefix(namespace))
    }

    /// The part of a key after the resource's root (`ns/name` or `name`), as continue tokens
    /// carry it.
    pub fn relative<'a>(&self, key: &'a str) -> &'a str {
        key.strip_prefix(&self.root).unwrap_or(key)
    }

    pub fn root(&self) -> &str {
        &self.root
    }
}

/// The bytes stored for an object.
pub fn encode(obj: &Value) -> Result<Bytes, ApiError> {
    if object::metadata(obj).is_some_and(|m| m.contains_key("resourceVersion")) {
        let mut obj = obj.clone();
        object::remove_meta(&mut obj, "resourceVersion");
        return serde_json::to_vec(&obj).map(Bytes::from).map_err(ApiError::internal);
    }
    serde_json::to_vec(obj).map(Bytes::from).map_err(ApiError::internal)
}

/// The object a stored version holds, with its resourceVersion.
pub fn decode(kv: &KeyValue) -> Result<Value, ApiError> {
    decode_at(&kv.value, kv.mod_revision)
}

pub fn decode_at(bytes: &[u8], revision: i64) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("stored object is not valid JSON: {e}")))?;
    object::set_meta(&mut obj, "resourceVersion", json!(revision.to_string()));
    Ok(obj)
}

/// Maps a store failure to the API error a client gets for `resource` `name`.
pub fn store_error(e: store::StoreError, group: &str, resource: &str, name: &str) -> ApiError {
    use store::StoreError as E;
    match e {
        E::NotFound { .. } => ApiError::not_found(group, resource, name),
        E::AlreadyExists { .. } => ApiError::already_exists(group, resource, name),
        E::Conflict { .. } => ApiError::modified(group, resource, name),
        E::Compacted { .. } => ApiError::expired("The resourceVersion for the provided list is too old."),
        E::FutureRevision { requested, .. } => {
            ApiError::timeout(format!("Too large resource version: {requested}, current: unknown"))
        }
        E::TooLarge { .. } => ApiError::too_large("etcdserver: request is too large"),
        E::Unavailable(m) => ApiError::unavailable(m),
        E::Corrupt(m) => ApiError::internal(m),
        E::InvalidArgument(m) => ApiError::bad_request(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn keys_follow_the_registry_layout() {
        let pods = Keys::new("", "pods", true);
        assert_eq!(pods.key(Some("default"), "web"), "/registry/core/pods/default/web");
        assert_eq!(pods.prefix(None), "/registry/core/pods/");
        assert_eq!(pods.prefix(Some("ns")), "/registry/core/pods/ns/");
        assert_eq!(pods.relative("/registry/core/pods/ns/a"), "ns/a");
        let nodes = Keys::new("", "nodes", false);
        assert_eq!(nodes.key(Some("ignored"), "n1"), "/registry/core/nodes/n1");
        assert_eq!(Keys::new("apps", "deployments", true).prefix(None), "/registry/apps/deployments/");
    }

    #[test]
    fn resource_version_is_not_stored_but_filled_on_read() {
        let obj = json!({"kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "5"}});
        let bytes = encode(&obj).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("resourceVersion"));
        let kv = KeyValue { key: Arc::from("k"), value: bytes, create_revision: 7, mod_revision: 9, version: 1 };
        assert_eq!(decode(&kv).unwrap()["metadata"]["resourceVersion"], "9");
    }
}
