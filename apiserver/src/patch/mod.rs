//! Patch formats as pure functions over JSON: strategic merge patch here; JSON patch and JSON
//! merge patch come from the `json-patch` crate (see `handlers/patch.rs`).

pub mod strategic;
