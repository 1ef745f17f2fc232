//! The ServiceAccount controller: every namespace that is not being deleted has a `default`
//! ServiceAccount; a deleted one comes back.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use crate::{Context, Error};

const DEFAULT: &str = "default";

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    crate::per_namespace::<ServiceAccount, _, _>(ctx, DEFAULT, "serviceaccount", reconcile, shutdown).await;
    Ok(())
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    if ns.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let api = Api::<ServiceAccount>::namespaced(ctx.client.clone(), &ns.name_any());
    if api.get_opt(DEFAULT).await?.is_some() {
        return Ok(Action::await_change());
    }
    let account = ServiceAccount {
        metadata: ObjectMeta { name: Some(DEFAULT.into()), ..ObjectMeta::default() },
        ..ServiceAccount::default()
    };
    match api.create(&PostParams::default(), &account).await {
        // Created meanwhile, or the namespace started terminating: nothing to do.
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(e)) if e.code == 409 || e.code == 403 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}
