//! The admission chain: named plugins run in upstream's fixed order, each in two phases as
//! upstream's `admission.Interface` has them — every plugin's mutating `admit` before the
//! resource's own validation, every plugin's `validate` after it, just before the store.
//!
//! Which plugins run follows kube-apiserver's flags: its default-on set, plus
//! `--enable-admission-plugins`, minus `--disable-admission-plugins`; the order never depends on
//! the flags. Only plugins rkube implements can be named.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::Attributes;
use crate::registry::Ctx;
use crate::status::ApiError;

/// One admission plugin (upstream's `admission.MutationInterface` and/or
/// `ValidationInterface`), under its upstream name.
#[async_trait]
pub trait Plugin: Send + Sync + 'static {
    /// Upstream's plugin name, e.g. `NamespaceLifecycle`.
    fn name(&self) -> &'static str;

    /// The mutating phase: may change `obj` (the new object in its storage form; `None` for a
    /// delete). Returns whether it changed it.
    async fn admit(&self, _ctx: &Ctx<'_>, _a: &Attributes<'_>, _obj: Option<&mut Value>) -> Result<bool, ApiError> {
        Ok(false)
    }

    /// The validating phase, on the object as it will be stored.
    async fn validate(&self, _ctx: &Ctx<'_>, _a: &Attributes<'_>) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Every admission plugin of kube-apiserver 1.33, in the order it runs them.
pub const ORDER: &[&str] = &[
    "AlwaysAdmit",
    "NamespaceAutoProvision",
    "NamespaceLifecycle",
    "NamespaceExists",
    "LimitPodHardAntiAffinityTopology",
    "LimitRanger",
    "ServiceAccount",
    "NodeRestriction",
    "TaintNodesByCondition",
    "AlwaysPullImages",
    "ImagePolicyWebhook",
    "PodSecurity",
    "PodNodeSelector",
    "Priority",
    "DefaultTolerationSeconds",
    "PodTolerationRestriction",
    "EventRateLimit",
    "ExtendedResourceToleration",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "OwnerReferencesPermissionEnforcement",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "DenyServiceExternalIPs",
    "PodTopologyLabels",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
    "AlwaysDeny",
];

/// The plugins kube-apiserver 1.33 runs when no flag says otherwise.
pub const DEFAULT_ON: &[&str] = &[
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "PodTopologyLabels",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
];

/// The enabled plugins, in upstream's order.
#[derive(Clone, Default)]
pub struct Chain {
    plugins: Vec<Arc<dyn Plugin>>,
}

impl Chain {
    /// The chain of `available` plugins (rkube's implementations) that upstream's flags select:
    /// the default-on ones rkube implements, plus `enable`, minus `disable`. Naming a plugin
    /// upstream does not know, or enabling one rkube does not implement, is an error.
    pub fn select(available: Vec<Arc<dyn Plugin>>, enable: &[String], disable: &[String]) -> Result<Self, String> {
        for name in enable.iter().chain(disable) {
            if !ORDER.contains(&name.as_str()) {
                return Err(format!("admission plugin {name:?} is unknown"));
            }
        }
        // Disabling a plugin rkube lacks is harmless (clusters often disable PodSecurity);
        // enabling one would promise what is not there.
        for name in enable {
            if !available.iter().any(|p| p.name() == name) {
                let known = available.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ");
                return Err(format!("admission plugin {name:?} is not implemented by rkube (it has: {known})"));
            }
        }
        if let Some(both) = enable.iter().find(|n| disable.contains(n)) {
            return Err(format!("admission plugin {both:?} is both enabled and disabled"));
        }
        let mut plugins: Vec<Arc<dyn Plugin>> = available
            .into_iter()
            .filter(|p| {
                let name = p.name().to_string();
                (DEFAULT_ON.contains(&p.name()) || enable.contains(&name)) && !disable.contains(&name)
            })
            .collect();
        plugins.sort_by_key(|p| ORDER.iter().position(|n| *n == p.name()).unwrap_or(usize::MAX));
        Ok(Self { plugins })
    }

    /// The enabled plugins' names, in the order they run.
    pub fn names(&self) -> Vec<&'static str> {
        self.plugins.iter().map(|p| p.name()).collect()
    }

    /// The mutating phase of every plugin in order; whether any changed the object.
    pub async fn admit(
        &self,
        ctx: &Ctx<'_>,
        a: &Attributes<'_>,
        mut obj: Option<&mut Value>,
    ) -> Result<bool, ApiError> {
        if ctx.user.is_none() {
            // The server's own writes (bootstrap) are not admitted.
            return Ok(false);
        }
        let mut changed = false;
        for plugin in &self.plugins {
            changed |= plugin.admit(ctx, a, obj.as_deref_mut()).await?;
        }
        Ok(changed)
    }

    /// The validating phase of every plugin in order; the first refusal fails the request.
    pub async fn validate(&self, ctx: &Ctx<'_>, a: &Attributes<'_>) -> Result<(), ApiError> {
        if ctx.user.is_none() {
            return Ok(());
        }
        for plugin in &self.plugins {
            plugin.validate(ctx, a).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str);

    #[async_trait]
    impl Plugin for Named {
        fn name(&self) -> &'static str {
            self.0
        }
    }

    fn available() -> Vec<Arc<dyn Plugin>> {
        ["ValidatingAdmissionWebhook", "Priority", "NamespaceLifecycle", "AlwaysPullImages"]
            .into_iter()
            .map(|n| Arc::new(Named(n)) as Arc<dyn Plugin>)
            .collect()
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_run_in_upstream_order_whatever_the_registration_order() {
        let chain = Chain::select(available(), &[], &[]).unwrap();
        assert_eq!(chain.names(), ["NamespaceLifecycle", "Priority", "ValidatingAdmissionWebhook"]);
    }

    #[test]
    fn flags_enable_and_disable() {
        let chain = Chain::select(available(), &strings(&["AlwaysPullImages"]), &strings(&["Priority"])).unwrap();
        assert_eq!(chain.names(), ["NamespaceLifecycle", "AlwaysPullImages", "ValidatingAdmissionWebhook"]);
    }

    #[test]
    fn unknown_and_unimplemented_names_are_refused() {
        let unknown = Chain::select(available(), &strings(&["Bogus"]), &[]).err().unwrap();
        assert!(unknown.contains("unknown"), "{unknown}");
        let missing = Chain::select(available(), &strings(&["PodSecurity"]), &[]).err().unwrap();
        assert!(missing.contains("not implemented"), "{missing}");
        assert!(Chain::select(available(), &[], &strings(&["PodSecurity"])).is_ok());
        let both = Chain::select(available(), &strings(&["Priority"]), &strings(&["Priority"])).err().unwrap();
        assert!(both.contains("both"), "{both}");
    }

    #[test]
    fn every_default_is_an_upstream_plugin() {
        assert!(DEFAULT_ON.iter().all(|n| ORDER.contains(n)));
    }
}
