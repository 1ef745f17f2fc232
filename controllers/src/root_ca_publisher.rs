//! The root CA publisher: every namespace that is not being deleted has the `kube-root-ca.crt`
//! ConfigMap holding the cluster CA (`ca.crt`), so pods can verify the apiserver; a deleted or
//! edited one is put back.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use crate::{Context, Error};

pub const NAME: &str = "kube-root-ca.crt";

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    if ctx.root_ca.is_none() {
        tracing::info!("no cluster CA given: kube-root-ca.crt is not published");
        return Ok(());
    }
    crate::per_namespace::<ConfigMap, _, _>(ctx, NAME, "root-ca-cert-publisher", reconcile, shutdown).await;
    Ok(())
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(ca) = &ctx.root_ca else { return Ok(Action::await_change()) };
    if ns.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let api = Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns.name_any());
    let data = BTreeMap::from([("ca.crt".to_string(), ca.clone())]);
    let result = match api.get_opt(NAME).await? {
        Some(current) if current.data.as_ref() == Some(&data) => return Ok(Action::await_change()),
        Some(mut current) => {
            current.data = Some(data);
            api.replace(NAME, &PostParams::default(), &current).await
        }
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta { name: Some(NAME.into()), ..ObjectMeta::default() },
                data: Some(data),
                ..ConfigMap::default()
            };
            api.create(&PostParams::default(), &cm).await
        }
    };
    match result {
        Ok(_) => Ok(Action::await_change()),
        // A concurrent write (its event brings us back) or a terminating namespace.
        Err(kube::Error::Api(e)) if e.code == 409 || e.code == 403 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}
