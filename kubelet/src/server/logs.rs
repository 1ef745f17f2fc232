//! `/containerLogs/{namespace}/{pod}/{container}` (upstream's `getContainerLogs` and
//! `validateContainerLogStatus`): which container instance's log (the running one, the last
//! terminated one, or `previous`), then its CRI log file read as `kubectl logs` asks — tail,
//! since, timestamps, limitBytes — and with `follow` streamed until the container stops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::error;
use crate::cri::Cri;
use crate::logs::{Options, Renderer, parse};
use crate::pods::manager::Shared;

/// What the query asks for.
#[derive(Debug, Default)]
pub struct Query {
    pub follow: bool,
    pub previous: bool,
    pub options: Options,
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Ok(false),
        other => Err(format!("invalid boolean value {other:?}")),
    }
}

pub fn parse_query(query: Option<&str>, now: Timestamp) -> Result<Query, String> {
    let mut q = Query::default();
    let mut since_seconds = None;
    let mut since_time = None;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).map_err(|e| format!("invalid query: {e}"))?;
    for (key, value) in pairs {
        let number = || value.parse::<i64>().map_err(|_| format!("invalid {key}: {value:?}"));
        match key.as_str() {
            "follow" => q.follow = parse_bool(&value)?,
            "previous" => q.previous = parse_bool(&value)?,
            "timestamps" => q.options.timestamps = parse_bool(&value)?,
            "tailLines" => {
                q.options.tail_lines =
                    Some(usize::try_from(number()?).map_err(|_| "tailLines must be non-negative".to_string())?)
            }
            "limitBytes" => {
                let n = number()?;
                if n < 1 {
                    return Err("limitBytes must be a positive integer".into());
                }
                q.options.limit_bytes = Some(n as usize);
            }
            "sinceSeconds" => {
                let n = number()?;
                if n < 1 {
                    return Err("sinceSeconds must be a positive integer".into());
                }
                since_seconds = Some(n);
            }
            "sinceTime" => {
                since_time = Some(value.parse::<Timestamp>().map_err(|e| format!("invalid sinceTime {value:?}: {e}"))?)
            }
            _ => {}
        }
    }
    if since_seconds.is_some() && since_time.is_some() {
        return Err("at most one of `sinceTime` or `sinceSeconds` may be specified".into());
    }
    q.options.since =
        since_time.or_else(|| since_seconds.and_then(|s| now.checked_sub(SignedDuration::from_secs(s)).ok()));
    Ok(q)
}

/// The runtime ID of the container instance whose log is wanted, or the client's error.
pub fn container_id(pod: &Pod, container: &str, previous: bool) -> Result<String, String> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let in_spec = spec
        .containers
        .iter()
        .map(|c| &c.name)
        .chain(spec.init_containers.iter().flatten().map(|c| &c.name))
        .chain(spec.ephemeral_containers.iter().flatten().map(|c| &c.name))
        .any(|n| n == container);
    if !in_spec {
        return Err(format!("container {container} is not valid for pod {name}"));
    }
    let status = pod.status.clone().unwrap_or_default();
    let all: Vec<ContainerStatus> = status
        .container_statuses
        .into_iter()
        .flatten()
        .chain(status.init_container_statuses.into_iter().flatten())
        .chain(status.ephemeral_container_statuses.into_iter().flatten())
        .collect();
    let Some(s) = all.iter().find(|s| s.name == container) else {
        return Err(format!("container {container:?} in pod {name:?} is not available"));
    };
    let last = s.last_state.as_ref().and_then(|l| l.terminated.as_ref()).and_then(|t| t.container_id.clone());
    let state = s.state.clone().unwrap_or_default();
    let id = if previous {
        last.ok_or_else(|| format!("previous terminated container {container:?} in pod {name:?} not found"))?
    } else if state.running.is_some() {
        s.container_id.clone().unwrap_or_default()
    } else if let Some(t) = &state.terminated {
        t.container_id.clone().or_else(|| s.container_id.clone()).unwrap_or_default()
    } else if let Some(id) = last {
        id
    } else {
        let reason = state.waiting.and_then(|w| w.reason).unwrap_or_default();
        return Err(format!("container {container:?} in pod {name:?} is waiting to start: {reason}"));
    };
    Ok(id.split_once("://").map(|(_, id)| id.to_string()).unwrap_or(id))
}

pub async fn container_logs(
    State(shared): State<Arc<Shared>>,
    Path((namespace, pod_name, container)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match parse_query(query.as_deref(), Timestamp::now()) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let Some(pod) = shared.pod(&namespace, &pod_name) else {
        return error(StatusCode::NOT_FOUND, format!("pod {namespace}/{pod_name} not found"));
    };
    let id = match container_id(&pod, &container, query.previous) {
        Ok(id) => id,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let status = match shared.cri.container_status(&id).await {
        Ok(s) => s,
        Err(e) if e.is_not_found() => {
            return error(StatusCode::NOT_FOUND, format!("container {container:?} in pod {pod_name:?} not found"));
        }
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let data = match tokio::fs::read(&status.log_path).await {
        Ok(d) => d,
        // A container that never wrote has no file yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("reading the log of {container}: {e}")),
    };
    // Only whole entries now; a follower picks up the rest.
    let complete = data.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    let first = crate::logs::select(&data[..complete], &query.options);
    let running = status.state == k8s_cri::v1::ContainerState::ContainerRunning as i32;
    let headers = [(axum::http::header::CONTENT_TYPE, "text/plain")];
    let limit_reached = query.options.limit_bytes.is_some_and(|l| first.len() >= l);
    // A stopped container has nothing more to say: its whole file is the answer.
    if !query.follow || !running || limit_reached {
        return (headers, first).into_response();
    }
    let follower = Follower {
        path: status.log_path.clone(),
        offset: complete as u64,
        pending: Vec::new(),
        renderer: Renderer::new(query.options.timestamps),
        options: query.options.clone(),
        sent: first.len(),
        cri: shared.cri.clone(),
        id,
        checked: Instant::now(),
        stopping: false,
    };
    let head = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) });
    let rest = futures::stream::unfold(follower, |mut f| async move { f.next().await.map(|chunk| (Ok(chunk), f)) });
    use futures::StreamExt;
    (headers, Body::from_stream(head.chain(rest))).into_response()
}

/// Follows a log file from `offset` while its container runs.
struct Follower {
    path: String,
    offset: u64,
    /// Bytes of an entry not yet ended by a newline.
    pending: Vec<u8>,
    renderer: Renderer,
    options: Options,
    sent: usize,
    cri: Cri,
    id: String,
    checked: Instant,
    /// The container stopped: read what is left, then end.
    stopping: bool,
}

impl Follower {
    async fn read_more(&mut self) -> std::io::Result<usize> {
        let mut file = tokio::fs::File::open(&self.path).await?;
        file.seek(std::io::SeekFrom::Start(self.offset)).await?;
        let mut buf = Vec::new();
        let n = file.take(1 << 20).read_to_end(&mut buf).await?;
        self.offset += n as u64;
        self.pending.extend_from_slice(&buf);
        Ok(n)
    }

    fn render_pending(&mut self) -> Vec<u8> {
        let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') else { return Vec::new() };
        let lines: Vec<u8> = self.pending.drain(..=end).collect();
        let mut out = Vec::new();
        for line in lines.split(|b| *b == b'\n') {
            let Some(entry) = parse(line) else { continue };
            if let Some(since) = self.options.since
                && entry.time.parse::<Timestamp>().is_ok_and(|t| t < since)
            {
                continue;
            }
            self.renderer.render(&entry, &mut out);
        }
        if let Some(limit) = self.options.limit_bytes {
            out.truncate(limit.saturating_sub(self.sent));
        }
        out
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.options.limit_bytes.is_some_and(|l| self.sent >= l) {
                return None;
            }
            let read = self.read_more().await.unwrap_or(0);
            let out = self.render_pending();
            if !out.is_empty() {
                self.sent += out.len();
                return Some(Bytes::from(out));
            }
            if read > 0 {
                continue;
            }
            if self.stopping {
                return None;
            }
            if self.checked.elapsed() >= Duration::from_secs(1) {
                self.checked = Instant::now();
                let running = self
                    .cri
                    .container_status(&self.id)
                    .await
                    .is_ok_and(|s| s.state == k8s_cri::v1::ContainerState::ContainerRunning as i32);
                // One more read after it stopped catches its last words.
                self.stopping = !running;
                continue;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_parse_like_upstream() {
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let q =
            parse_query(Some("follow=true&tailLines=10&timestamps=1&sinceSeconds=30&container=x&&limitBytes=5"), now)
                .unwrap();
        assert!(q.follow && q.options.timestamps && !q.previous);
        assert_eq!(q.options.tail_lines, Some(10));
        assert_eq!(q.options.limit_bytes, Some(5));
        assert_eq!(q.options.since, Some("2026-01-01T00:00:30Z".parse().unwrap()));
        let q = parse_query(Some("sinceTime=2026-01-01T00%3A00%3A10Z"), now).unwrap();
        assert_eq!(q.options.since, Some("2026-01-01T00:00:10Z".parse().unwrap()));
        assert!(
            parse_query(Some("sinceTime=2026-01-01T00:00:10Z&sinceSeconds=5"), now)
                .unwrap_err()
                .contains("at most one")
        );
        assert!(parse_query(Some("tailLines=-1"), now).is_err());
        assert!(parse_query(Some("follow=maybe"), now).is_err());
    }

    #[test]
    fn the_instance_is_chosen_like_upstream() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
            "status": {"containerStatuses": [
                {"name": "a", "image": "", "imageID": "", "ready": true, "restartCount": 1, "containerID": "containerd://a2",
                    "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "containerID": "containerd://a1"}}},
                {"name": "b", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": "ContainerCreating"}}},
                {"name": "c", "image": "", "imageID": "", "ready": false, "restartCount": 3, "containerID": "containerd://c3",
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 1, "containerID": "containerd://c3"}}},
            ]}
        }))
        .unwrap();
        assert_eq!(container_id(&pod, "a", false).unwrap(), "a2");
        assert_eq!(container_id(&pod, "a", true).unwrap(), "a1");
        assert_eq!(
            container_id(&pod, "b", false).unwrap_err(),
            "container \"b\" in pod \"p\" is waiting to start: ContainerCreating"
        );
        assert_eq!(
            container_id(&pod, "b", true).unwrap_err(),
            "previous terminated container \"b\" in pod \"p\" not found"
        );
        assert_eq!(container_id(&pod, "c", false).unwrap(), "c3");
        assert_eq!(container_id(&pod, "z", false).unwrap_err(), "container z is not valid for pod p");
    }
}
