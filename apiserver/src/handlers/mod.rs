//! The HTTP face of the registry: turns requests under `/api` and `/apis` into registry
//! operations and their results into responses. Parsing and shaping live in `request.rs` and
//! `output.rs`; this file only routes.

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::cached::CachedObject;
use crate::object;
use crate::registry::list::{self, ListOptions};
use crate::registry::ops::{self, Part};
use crate::registry::{Ctx, Registry, Resource};
use crate::request::{self, FieldValidation, Query, Representation, Target};
use crate::selectors::{field_sets, fields, labels};
use crate::status::ApiError;
use crate::watchcache::Filter;
use crate::{fieldvalidation, schema};

pub mod discovery;
pub mod output;
mod patch;
mod subresources;
mod watch;

/// JSON response with a status code.
pub fn json_response(code: u16, body: &Value) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    match serde_json::to_vec(body) {
        Ok(mut bytes) => {
            // Upstream's JSON encoder ends every document with a newline; clients that quote
            // bodies show it.
            bytes.push(b'\n');
            (code, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Everything a resource request needs, parsed once.
pub struct Call<'a> {
    pub registry: &'a Registry,
    /// The same registry, for work that outlives the request's borrow (watch streams).
    pub shared: Arc<Registry>,
    pub method: Method,
    pub target: Target,
    pub query: Query,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub metrics: &'a crate::metrics::Metrics,
    pub user: Arc<crate::authn::UserInfo>,
    /// Warnings for the response (admission webhooks add theirs).
    pub warnings: crate::admission::Warnings,
}

impl Call<'_> {
    fn accept(&self) -> Option<&str> {
        self.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
    }

    fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json")
    }

    /// The field manager: `fieldManager`, else the user agent's product name, as upstream
    /// defaults it (`kubectl`, `kube-rs`...).
    fn manager(&self) -> String {
        if let Some(m) = self.query.field_manager.as_deref().filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        let agent = self.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("unknown");
        agent.split('/').next().unwrap_or("unknown").to_string()
    }

    fn ctx(&self) -> Result<Ctx<'_>, ApiError> {
        Ok(Ctx {
            registry: self.registry,
            dry_run: self.query.dry_run()?,
            manager: Some(self.manager()),
            applying: false,
            user: Some(self.user.clone()),
            warnings: Some(self.warnings.clone()),
        })
    }

    fn body_json(&self) -> Result<Value, ApiError> {
        decode_body(&self.body, self.content_type())
    }

    /// The request body as an object of `res`, checked for unknown and duplicate fields as
    /// `fieldValidation` asks; unknown fields are dropped. Returns the warnings to send.
    fn object_body(&self, res: &Resource) -> Result<(Value, Vec<String>), ApiError> {
        let mut body = self.body_json()?;
        // JSON keeps the last of duplicate keys, so they are looked for; protobuf cannot carry
        // them and the YAML parser refuses them.
        let json =
            matches!(self.content_type().split(';').next().unwrap_or("").trim(), "" | "application/json" | "*/*");
        let duplicates = if json { fieldvalidation::duplicate_fields(&self.body) } else { Vec::new() };
        let warnings = check_fields(self, res, &mut body, duplicates)?;
        Ok((body, warnings))
    }
}

/// Applies `fieldValidation` to an object about to be written: Strict refuses unknown or
/// duplicate fields (400, upstream's wording), Warn reports them, Ignore does not; unknown
/// fields never reach the store.
pub fn check_fields(
    call: &Call<'_>,
    res: &Resource,
    obj: &mut Value,
    duplicates: Vec<String>,
) -> Result<Vec<String>, ApiError> {
    check_fields_with(res, obj, duplicates, call.query.field_validation()?)
}

/// [`check_fields`] with an explicit validation mode.
pub fn check_fields_with(
    res: &Resource,
    obj: &mut Value,
    duplicates: Vec<String>,
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let unknown = match res.strategy.prune(obj) {
        Some(found) => found,
        None => match schema::schemas().patch_meta(res.info.group, res.info.version, res.info.kind) {
            Some(node) => fieldvalidation::prune_unknown(obj, &node),
            None => Vec::new(),
        },
    };
    let problems: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .chain(duplicates.iter().map(|f| format!("duplicate field \"{f}\"")))
        .collect();
    match mode {
        _ if problems.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            problems.join(", "),
            kind = res.info.kind,
            version = res.info.version,
        ))),
        FieldValidation::Warn => Ok(problems),
        FieldValidation::Ignore => Ok(Vec::new()),
    }
}

/// Parses a request body (JSON, or YAML which kubectl may send for some writes).
pub fn decode_body(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    if body.len() > ops::MAX_BODY_BYTES {
        return Err(ApiError::too_large("Request entity too large: limit is 3145728"));
    }
    let media = content_type.split(';').next().unwrap_or("").trim();
    if crate::protobuf::is_protobuf(media) {
        return crate::protobuf::decode(body)
            .map_err(|e| ApiError::bad_request(format!("the protobuf body could not be decoded: {e}")));
    }
    match media {
        "" | "application/json" | "*/*" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("json: cannot unmarshal the request body: {e}"))),
        // YAML's duplicate keys are refused by the parser whatever fieldValidation says.
        "application/yaml" => serde_saphyr::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("yaml: cannot unmarshal the request body: {e}"))),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// Serves a request for a resource (or one of its subresources).
pub async fn serve(call: Call<'_>) -> Response {
    let warnings = call.warnings.clone();
    let response = match dispatch(call).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    let added = warnings.lock().map(|w| w.clone()).unwrap_or_default();
    with_warnings(response, &added)
}

async fn dispatch(call: Call<'_>) -> Result<Response, ApiError> {
    let res = call
        .registry
        .get(&call.target.group, &call.target.version, &call.target.resource)
        .ok_or_else(|| not_served(&call.target))?;
    let t = call.target.clone();
    let ns = t.namespace.as_deref();
    let verb_ok = |verb: &str| res.info.verbs.contains(&verb);
    match (&call.method, t.name.as_deref(), t.subresource.as_deref()) {
        (&Method::GET, None, None) if call.query.is_watch()? => {
            require(verb_ok("watch"), "watch", &res)?;
            watch::serve(&call, &res, ns, None).await
        }
        (&Method::GET, None, None) => {
            require(verb_ok("list"), "list", &res)?;
            list(&call, &res, ns).await
        }
        (&Method::POST, None, None) => {
            require(verb_ok("create"), "create", &res)?;
            if res.info.plural == "bindings" {
                return subresources::binding(&call, ns, None).await;
            }
            let (body, warnings) = call.object_body(&res)?;
            let created = ops::create(&call.ctx()?, &res, ns, body).await?;
            respond(&call, &res, created, 201).await.map(|r| with_warnings(r, &warnings))
        }
        (&Method::DELETE, None, None) => {
            require(verb_ok("deletecollection"), "deletecollection", &res)?;
            delete_collection(&call, &res, ns).await
        }
        (&Method::GET, Some(name), None) if call.query.is_watch()? => {
            require(verb_ok("watch"), "watch", &res)?;
            watch::serve(&call, &res, ns, Some(name)).await
        }
        (&Method::GET, Some(name), None) => {
            require(verb_ok("get"), "get", &res)?;
            // The common GET: served from the watch cache when it is provably current.
            if request::negotiate(call.accept())? == Representation::Object && res.stored_as_served() {
                match call.registry.consistent_cached(&res, &res.keys.key(ns, name)).await {
                    Some(Some(cached)) => {
                        return Ok((
                            StatusCode::OK,
                            [(header::CONTENT_TYPE, "application/json")],
                            cached.response_body(),
                        )
                            .into_response());
                    }
                    Some(None) => return Err(ApiError::not_found(res.group(), res.info.plural, name)),
                    None => {}
                }
            }
            let (obj, _) = ops::get(&call.ctx()?, &res, ns, name).await?;
            respond(&call, &res, obj, 200).await
        }
        (&Method::PUT, Some(name), None) => {
            require(verb_ok("update"), "update", &res)?;
            let (body, warnings) = call.object_body(&res)?;
            let updated = ops::update(&call.ctx()?, &res, ns, name, body, Part::Main).await?;
            respond(&call, &res, updated, 200).await.map(|r| with_warnings(r, &warnings))
        }
        (&Method::PATCH, Some(name), None) => {
            require(verb_ok("patch"), "patch", &res)?;
            let patched = patch::patch(&call, &res, ns, name, Part::Main).await?;
            let code = if patched.created { 201 } else { 200 };
            respond(&call, &res, patched.object, code).await.map(|r| with_warnings(r, &patched.warnings))
        }
        (&Method::DELETE, Some(name), None) => {
            require(verb_ok("delete"), "delete", &res)?;
            let opts = ops::delete_options(&call.body, call.content_type(), &call.query)?;
            let deleted = ops::delete(&Ctx { dry_run: opts.dry_run, ..call.ctx()? }, &res, ns, name, &opts).await?;
            let body = if deleted.body.get("kind") == Some(&json!("Status")) {
                deleted.body
            } else {
                output::object(&res, res.from_storage_one(call.registry, deleted.body).await?)
            };
            Ok(json_response(deleted.code, &body))
        }
        (method, Some(name), Some(sub)) => subresources::serve(&call, &res, ns, name, sub, method).await,
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            call.method
        ))),
    }
}

fn not_served(t: &Target) -> ApiError {
    ApiError::not_found(&t.group, &t.resource, t.name.as_deref().unwrap_or(""))
        .with_message("the server could not find the requested resource")
}

fn require(allowed: bool, verb: &str, res: &Resource) -> Result<(), ApiError> {
    if allowed {
        return Ok(());
    }
    Err(ApiError::method_not_allowed(format!(
        "the server does not allow this method on the requested resource ({verb} {})",
        res.info.plural
    )))
}

/// Adds `Warning` headers (RFC 7234 style, code 299, as upstream sends them).
pub fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = http::HeaderValue::from_str(&text) {
            response.headers_mut().append(http::header::WARNING, v);
        }
    }
    response
}

/// A single-object answer in the representation the client accepts.
pub async fn respond(call: &Call<'_>, res: &Resource, obj: Value, code: u16) -> Result<Response, ApiError> {
    let repr = request::negotiate(call.accept())?;
    let obj = if res.strategy.conversion().is_some() { res.from_storage_one(call.registry, obj).await? } else { obj };
    let include = call.query.include_object.as_deref().unwrap_or("PartialObjectMetadata");
    Ok(json_response(code, &output::single(res, obj, repr, include)))
}

/// The filter a list or watch applies: namespace, `metadata.name`, label and field selectors.
pub fn filter(
    call: &Call<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: Option<&str>,
) -> Result<(Filter, bool), ApiError> {
    let labels = match call.query.label_selector.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            labels::parse(s)
                .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {}", e.message())))?,
        ),
        None => None,
    };
    let fields = match call.query.field_selector.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => {
            let sel = fields::parse(s).map_err(|e| ApiError::bad_request(e.message().to_string()))?;
            if res.strategy.custom() {
                let selectable: Vec<&str> = res.strategy.selectable_fields().iter().map(String::as_str).collect();
                field_sets::validate_custom(res.info.namespaced, &selectable, &sel)
            } else {
                field_sets::validate_versioned(res.info.group, res.info.version, res.info.plural, &sel)
            }
            .map_err(|e| ApiError::bad_request(e.message().to_string()))?;
            Some(sel)
        }
        None => None,
    };
    let filtered = labels.is_some() || fields.is_some();
    let prefix = res.keys.prefix(ns);
    let (group, plural) = (res.info.group, res.info.plural);
    let name = name.map(str::to_string);
    let custom = res.strategy.custom();
    let f: Filter = Arc::new(move |key: &str, obj: &CachedObject| {
        key.starts_with(&prefix)
            && name.as_deref().is_none_or(|n| key.rsplit('/').next() == Some(n))
            && labels.as_ref().is_none_or(|l| l.matches(obj.labels.as_ref()))
            && fields.as_ref().is_none_or(|f| {
                if custom { matches_custom_fields(f, obj) } else { matches_fields(group, plural, f, obj) }
            })
    });
    Ok((f, filtered))
}

/// Field selectors read the attributes cached with the object; a field outside the stored
/// resource's set (e.g. an events.k8s.io name on core events) is read from the object itself.
fn matches_fields(group: &str, plural: &str, sel: &fields::Selector, obj: &CachedObject) -> bool {
    sel.requirements().iter().all(|r| match obj.field(&r.field) {
        Some(value) => r.matches(value),
        None => obj
            .decode()
            .ok()
            .and_then(|o| field_sets::field_value(group, plural, &o, &r.field).ok())
            .is_some_and(|v| r.matches(v.as_deref())),
    })
}

/// Custom resources' selectable fields are read from the object (a missing or non-scalar
/// value compares as "").
fn matches_custom_fields(sel: &fields::Selector, obj: &CachedObject) -> bool {
    let Ok(decoded) = obj.decode() else { return false };
    sel.requirements().iter().all(|r| r.matches(field_sets::custom_field_value(&decoded, &r.field).as_deref()))
}

async fn list(call: &Call<'_>, res: &Resource, ns: Option<&str>) -> Result<Response, ApiError> {
    let repr = request::negotiate(call.accept())?;
    let (f, filtered) = filter(call, res, ns, None)?;
    let opts = ListOptions {
        limit: call.query.limit()?,
        continue_token: call.query.continue_.clone(),
        resource_version: call.query.resource_version.clone(),
        resource_version_match: call.query.resource_version_match.clone(),
        filtered,
    };
    let listed = list::list(&call.ctx()?, res, ns, f, &opts).await?;
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(listed.resource_version.to_string()));
    if let Some(token) = listed.continue_token {
        meta.insert("continue".into(), json!(token));
    }
    if let Some(remaining) = listed.remaining.filter(|&r| r > 0) {
        meta.insert("remainingItemCount".into(), json!(remaining));
    }
    let include = call.query.include_object.as_deref().unwrap_or("PartialObjectMetadata");
    if res.strategy.conversion().is_some() {
        // Stored objects may be in other versions: converted in one review.
        let values = listed.items.iter().map(|i| i.decode()).collect::<Result<Vec<_>, _>>()?;
        let converted = res.from_storage_converted(call.registry, values).await?;
        let body = output::json_line(&output::list(res, converted, meta, repr, include))?;
        return Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let body = output::list_bytes(res, &listed.items, meta, repr, include)?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn delete_collection(call: &Call<'_>, res: &Resource, ns: Option<&str>) -> Result<Response, ApiError> {
    let (f, filtered) = filter(call, res, ns, None)?;
    let opts =
        ListOptions { limit: 0, continue_token: None, resource_version: None, resource_version_match: None, filtered };
    let listed = list::list(&call.ctx()?, res, ns, f, &opts).await?;
    let delete_opts = ops::delete_options(&call.body, call.content_type(), &call.query)?;
    let ctx = Ctx { dry_run: delete_opts.dry_run, ..call.ctx()? };
    let mut items = Vec::new();
    for cached in listed.items {
        let obj = cached.decode()?;
        let name = object::name(&obj).to_string();
        match ops::delete(&ctx, res, object::namespace(&obj), &name, &delete_opts).await {
            Ok(_) => items.push(obj),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(listed.resource_version.to_string()));
    Ok(json_response(200, &output::list(res, items, meta, Representation::Object, "")))
}

/// A watch's response body: newline-delimited JSON events, flushed one by one.
pub fn stream_response(body: Body) -> Response {
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(body)
        .unwrap_or_else(|e| ApiError::internal(e).into_response())
}
