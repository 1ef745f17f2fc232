//! Label and field selectors as pure functions over JSON objects.
//!
//! `labels` implements the `labelSelector` string syntax and
//! `metav1.LabelSelector`; `fields` implements the `fieldSelector` syntax and,
//! through `field_sets`, which fields each built-in resource can be filtered on.
//! Behaviour and error texts follow Kubernetes 1.33 so clients see the same
//! 400 BadRequest messages they would get from kube-apiserver.

pub mod field_sets;
pub mod fields;
pub mod labels;
