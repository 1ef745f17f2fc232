//! Lists: consistent reads from the store with `limit`/`continue` pagination at a fixed
//! revision, `resourceVersion`/`resourceVersionMatch` semantics, and `resourceVersion=0` (or
//! "not older than") lists served from the watch cache.

use base64::Engine;
use serde_json::{Value, json};
use store::RangeRequest;

use super::{Ctx, Resource};
use crate::cached::CachedObject;
use crate::status::ApiError;
use crate::storage::{self, store_error};
use crate::watchcache::Filter;
use std::sync::Arc;

pub struct ListOptions {
    pub limit: usize,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    /// A label or field selector narrows the list (then `remainingItemCount` is unknown).
    pub filtered: bool,
}

pub struct Listed {
    pub items: Vec<Arc<CachedObject>>,
    pub resource_version: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

/// Continue tokens carry the list's revision and where to resume, as upstream's do.
fn encode_continue(revision: i64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(i64, String), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    match (
        v.get("v").and_then(Value::as_str),
        v.get("rv").and_then(Value::as_i64),
        v.get("start").and_then(Value::as_str),
    ) {
        (Some("meta.k8s.io/v1"), Some(rv), Some(start)) if rv > 0 && !start.contains("..") => {
            Ok((rv, start.to_string()))
        }
        _ => Err(bad()),
    }
}

fn parse_rv(rv: &str) -> Result<i64, ApiError> {
    rv.parse::<i64>()
        .ok()
        .filter(|&r| r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {rv:?}")))
}

pub async fn list(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    filter: Filter,
    opts: &ListOptions,
) -> Result<Listed, ApiError> {
    let rv = opts.resource_version.as_deref().filter(|s| !s.is_empty());
    let rv_match = opts.resource_version_match.as_deref().filter(|s| !s.is_empty());
    if rv_match.is_some() && rv.is_none() {
        return Err(ApiError::bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided"));
    }
    if let Some(token) = opts.continue_token.as_deref().filter(|t| !t.is_empty()) {
        if rv.is_some() {
            return Err(ApiError::bad_request("specifying resource version is not allowed when using continue"));
        }
        let (revision, start) = decode_continue(token)?;
        let start = format!("{}{start}", res.keys.root());
        return from_store(ctx, res, ns, filter, opts, revision, Some(start)).await;
    }
    match (rv, rv_match) {
        (None, _) => from_store(ctx, res, ns, filter, opts, 0, None).await,
        (Some(rv), Some("Exact")) => from_store(ctx, res, ns, filter, opts, parse_rv(rv)?, None).await,
        (Some(rv), None | Some("NotOlderThan")) => {
            let revision = parse_rv(rv)?;
            // A paginated "not older than" list needs a fixed revision: read the store now.
            if opts.limit > 0 && revision > 0 {
                return from_store(ctx, res, ns, filter, opts, 0, None).await;
            }
            from_cache(ctx, res, ns, filter, revision).await
        }
        (Some(_), Some(other)) => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

async fn from_cache(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    filter: Filter,
    revision: i64,
) -> Result<Listed, ApiError> {
    let cache = ctx.registry.cache(res).await?;
    if revision > 0 {
        cache.wait_for(revision).await?;
    }
    let prefix = res.keys.prefix(ns);
    let scoped: Filter = Arc::new(move |key: &str, obj: &CachedObject| key.starts_with(&prefix) && filter(key, obj));
    let (items, resource_version) = cache.list(&scoped);
    Ok(Listed { items, resource_version, continue_token: None, remaining: None })
}

/// Pages through the store at one revision until `limit` objects pass the filter.
async fn from_store(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    filter: Filter,
    opts: &ListOptions,
    revision: i64,
    start: Option<String>,
) -> Result<Listed, ApiError> {
    let prefix = res.keys.prefix(ns);
    if let Some(start) = &start
        && !start.starts_with(&prefix)
    {
        return Err(ApiError::bad_request("continue key is not valid for this list"));
    }
    let mut items = Vec::new();
    let mut next = start;
    let mut at = revision;
    // Without a filter one store read answers; with one, read pages until enough match.
    let page = if opts.limit == 0 {
        0
    } else if opts.filtered {
        opts.limit.max(500)
    } else {
        opts.limit
    };
    loop {
        let mut req = RangeRequest::prefix(prefix.clone()).limit(page).at_revision(at);
        req.start = next.clone();
        let resp = ctx.registry.store.range(req).await.map_err(|e| match e {
            store::StoreError::Compacted { .. } if opts.continue_token.is_some() => ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ),
            e => store_error(e, res.group(), res.info.plural, ""),
        })?;
        at = resp.revision;
        let mut last_key = None;
        for kv in &resp.kvs {
            last_key = Some(kv.key.to_string());
            let obj = res.cached(&storage::decode(kv)?)?;
            if filter(&kv.key, &obj) {
                items.push(Arc::new(obj));
                if opts.limit > 0 && items.len() == opts.limit {
                    break;
                }
            }
        }
        let examined_all = last_key.as_deref() == resp.kvs.last().map(|kv| &*kv.key);
        let more = resp.more || !examined_all;
        if opts.limit == 0 || !more {
            return Ok(Listed { items, resource_version: at, continue_token: None, remaining: None });
        }
        let resume = format!("{}\0", last_key.unwrap_or_default());
        if items.len() >= opts.limit {
            let remaining = (!opts.filtered && examined_all).then(|| resp.count - resp.kvs.len() as i64);
            let token = encode_continue(at, res.keys.relative(&resume));
            return Ok(Listed { items, resource_version: at, continue_token: Some(token), remaining });
        }
        next = Some(resume);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let token = encode_continue(42, "default/web-7\0");
        assert_eq!(decode_continue(&token).unwrap(), (42, "default/web-7\0".to_string()));
        assert!(decode_continue("not-base64!").is_err());
        let wrong = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"v":"x","rv":1,"start":"a"}"#);
        assert!(decode_continue(&wrong).is_err());
    }
}
