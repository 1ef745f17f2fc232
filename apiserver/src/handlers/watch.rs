//! Watches over HTTP: newline-delimited JSON events from the watch cache, one chunk per event,
//! with BOOKMARKs, `timeoutSeconds`, streaming lists (`sendInitialEvents`) and the in-stream
//! `ERROR` (410 Expired) for a resourceVersion that is too old.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};

use super::{Call, filter, output, stream_response};
use crate::registry::Resource;
use crate::request;
use crate::status::ApiError;
use crate::watchcache::{Start, WatchOut};

/// How often an idle watch with bookmarks allowed gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);
/// Upstream ends watches after a random 30 to 60 minutes when the client sets no timeout.
const DEFAULT_TIMEOUT_MIN: u64 = 1800;

fn line(event_type: &str, object: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn bookmark(res: &Resource, revision: i64, initial_events_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line("BOOKMARK", &json!({"kind": res.info.kind, "apiVersion": res.api_version(), "metadata": metadata}))
}

fn default_timeout() -> Duration {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * DEFAULT_TIMEOUT_MIN / 255;
    Duration::from_secs(DEFAULT_TIMEOUT_MIN + jitter)
}

pub async fn serve(
    call: &Call<'_>,
    res: &Arc<Resource>,
    ns: Option<&str>,
    name: Option<&str>,
) -> Result<Response, ApiError> {
    let repr = request::negotiate(call.accept())?;
    let (f, _) = filter(call, res, ns, name)?;
    let bookmarks = call.query.allow_bookmarks()?;
    let timeout = call.query.timeout()?.unwrap_or_else(default_timeout);
    let send_initial = call.query.send_initial_events()?;
    let rv = call.query.resource_version.as_deref().filter(|s| !s.is_empty());
    if send_initial.is_some() {
        if call.query.resource_version_match.as_deref() != Some("NotOlderThan") {
            return Err(ApiError::invalid(
                "",
                "ListOptions",
                "",
                vec![crate::status::Cause::forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )],
            ));
        }
        if !bookmarks {
            return Err(ApiError::invalid(
                "",
                "ListOptions",
                "",
                vec![crate::status::Cause::forbidden(
                    "allowWatchBookmarks",
                    "sendInitialEvents requires setting allowWatchBookmarks to true",
                )],
            ));
        }
    }
    let cache = call.registry.cache(res).await?;
    let revision = match rv {
        Some(rv) => {
            rv.parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?
        }
        None => 0,
    };
    if revision > 0 {
        cache.wait_for(revision).await?;
    }
    let start = match (send_initial, revision) {
        (Some(true), _) | (None, 0) => Start::Initial,
        (_, r) => Start::After(r),
    };
    let (backlog, position, live) = match cache.watch(start, f) {
        Ok(parts) => parts,
        // Too old: HTTP 200, then one ERROR event with the 410 Status (clients re-list on it;
        // an HTTP 410 would make kube-rs retry forever).
        Err(e) => {
            let body = line("ERROR", &e.to_status());
            return Ok(stream_response(Body::from(body)));
        }
    };
    let mut head: Vec<Bytes> = Vec::with_capacity(backlog.len() + 1);
    let mut first = true;
    let converting = res.strategy.conversion().is_some();
    for out in &backlog {
        if let WatchOut::Event(kind, obj, _) = out {
            let line = if converting {
                converted_line(&call.shared, res, kind.as_str(), obj, repr, first).await?
            } else {
                output::watch_line(res, kind.as_str(), obj, repr, first)?
            };
            head.push(Bytes::from(line));
            first = false;
        }
    }
    if send_initial == Some(true) {
        head.push(bookmark(res, position, true));
    }

    let view = res.clone();
    let registry = call.shared.clone();
    let deadline = tokio::time::Instant::now() + timeout;
    // Counted as open until the stream is dropped (the client went or the watch ended).
    let open = call.metrics.watch_opened(res.info.plural);
    let state = Live {
        _open: open,
        live,
        last: position,
        first,
        ticker: tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY),
    };
    let tail = futures::stream::unfold(state, move |mut st| {
        let view = view.clone();
        let registry = registry.clone();
        async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => return None,
                    _ = st.ticker.tick(), if bookmarks => {
                        return Some((bookmark(&view, st.last, false), st));
                    }
                    out = st.live.next() => match out {
                        Some(WatchOut::Event(kind, obj, revision)) => {
                            st.last = revision;
                            // An object that cannot be shaped ends the watch; the client resumes.
                            let shaped = if converting {
                                converted_line(&registry, &view, kind.as_str(), &obj, repr, st.first).await
                            } else {
                                output::watch_line(&view, kind.as_str(), &obj, repr, st.first)
                            };
                            let Ok(bytes) = shaped else { return None };
                            let bytes = Bytes::from(bytes);
                            st.first = false;
                            return Some((bytes, st));
                        }
                        Some(WatchOut::Progress(revision)) => st.last = revision,
                        None => return None,
                    },
                }
            }
        }
    });
    let body = futures::stream::iter(head).chain(tail).map(Ok::<_, std::convert::Infallible>);
    Ok(stream_response(Body::from_stream(body)))
}

/// A watch event of a kind with a conversion webhook: the object converted to the watched
/// version first.
async fn converted_line(
    registry: &crate::registry::Registry,
    res: &Resource,
    event_type: &str,
    obj: &crate::cached::CachedObject,
    repr: request::Representation,
    first: bool,
) -> Result<Vec<u8>, ApiError> {
    let converted = res.from_storage_one(registry, obj.decode()?).await?;
    let object = output::watch_object(res, &converted, repr, first);
    let mut out =
        serde_json::to_vec(&serde_json::json!({"type": event_type, "object": object})).map_err(ApiError::internal)?;
    out.push(b'\n');
    Ok(out)
}

struct Live {
    _open: crate::metrics::WatchGuard,
    live: futures::stream::BoxStream<'static, WatchOut>,
    last: i64,
    first: bool,
    ticker: tokio::time::Interval,
}
