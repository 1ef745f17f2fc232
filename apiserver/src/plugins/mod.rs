//! The built-in admission plugins of kube-apiserver that rkube implements (upstream's
//! `plugin/pkg/admission/<name>`), one file each; the chain (`admission::Chain`) runs them in
//! upstream's order with the dynamic ones (webhooks, ValidatingAdmissionPolicy).

use std::sync::Arc;

use crate::admission::{Attributes, Operation, Plugin};

mod default_toleration_seconds;
mod namespace_lifecycle;
mod priority;
mod service_account;

/// Every admission plugin rkube implements, built-in and dynamic, in any order.
pub fn available() -> Vec<Arc<dyn Plugin>> {
    let mut plugins: Vec<Arc<dyn Plugin>> = vec![
        Arc::new(namespace_lifecycle::NamespaceLifecycle),
        Arc::new(service_account::ServiceAccount),
        Arc::new(priority::Priority),
        Arc::new(default_toleration_seconds::DefaultTolerationSeconds),
    ];
    plugins.extend(crate::admission::dynamic_plugins());
    plugins
}

/// The request creates a pod (not one of its subresources).
fn is_pod_create(a: &Attributes<'_>) -> bool {
    a.operation == Operation::Create
        && a.subresource.is_empty()
        && a.res.info.group.is_empty()
        && a.res.info.plural == "pods"
}
