//! An example operator, written as any kube-rs operator is: a `Greeting` custom resource derived
//! with `#[derive(CustomResource)]` (schema from schemars, a CEL rule, printer columns, the status
//! subresource), and a kube-runtime `Controller` that keeps one ConfigMap per Greeting and
//! reports what it did in the Greeting's status — both written with server-side apply.
//!
//! Run it against a cluster with `cargo run -p e2e --bin greeting-operator` (it reads
//! `$KUBECONFIG`); the e2e test `tests/suite/operator.rs` runs it against `rkube server`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{conditions, wait, watcher};
use kube::{Client, CustomResource, CustomResourceExt, KubeSchema, Resource, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The field manager both server-side applies use.
pub const MANAGER: &str = "greeting-operator";

/// Greets someone a few times, in a ConfigMap.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "demo.rkube.dev",
    version = "v1",
    kind = "Greeting",
    namespaced,
    status = "GreetingStatus",
    shortname = "gr",
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.message"}"#,
    printcolumn = r#"{"name":"ConfigMap","type":"string","jsonPath":".status.configMap"}"#
)]
pub struct GreetingSpec {
    /// Who to greet.
    #[x_kube(validation = Rule::new("self != ''").message("name must not be empty"))]
    pub name: String,
    /// How many times to say it (1 to 5).
    #[serde(default = "once")]
    #[schemars(range(min = 1, max = 5))]
    pub times: u32,
}

fn once() -> u32 {
    1
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GreetingStatus {
    pub message: String,
    pub config_map: String,
    pub observed_generation: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes: {0}")]
    Kube(#[from] kube::Error),
    #[error("the greeting has no namespace")]
    NoNamespace,
}

struct Context {
    client: Client,
}

/// What the Greeting asks for.
pub fn message(spec: &GreetingSpec) -> String {
    vec![format!("Hello, {}!", spec.name); spec.times as usize].join(" ")
}

async fn reconcile(greeting: Arc<Greeting>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = greeting.namespace().ok_or(Error::NoNamespace)?;
    let name = greeting.name_any();
    let config_map_name = format!("{name}-greeting");
    let message = message(&greeting.spec);
    let owner = greeting.controller_owner_ref(&()).into_iter().collect();

    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(config_map_name.clone()),
            owner_references: Some(owner),
            labels: Some(BTreeMap::from([("app.kubernetes.io/managed-by".into(), MANAGER.into())])),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("message".into(), message.clone())])),
        ..ConfigMap::default()
    };
    let apply = PatchParams::apply(MANAGER).force();
    Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns)
        .patch(&config_map_name, &apply, &Patch::Apply(&config_map))
        .await?;

    let status = json!({
        "apiVersion": Greeting::api_version(&()),
        "kind": Greeting::kind(&()),
        "status": GreetingStatus {
            message,
            config_map: config_map_name,
            observed_generation: greeting.metadata.generation,
        },
    });
    Api::<Greeting>::namespaced(ctx.client.clone(), &ns).patch_status(&name, &apply, &Patch::Apply(status)).await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

fn error_policy(_greeting: Arc<Greeting>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(%error, "reconcile failed");
    Action::requeue(Duration::from_secs(1))
}

/// Installs (or updates) the Greeting definition and waits until it is served.
pub async fn install(client: &Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = Greeting::crd();
    let name = crd.name_any();
    crds.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd)).await?;
    let established = wait::await_condition(crds, &name, conditions::is_crd_established());
    tokio::time::timeout(Duration::from_secs(20), established).await??;
    Ok(())
}

/// Installs the definition, then reconciles Greetings until the stream ends.
pub async fn run(client: Client) -> anyhow::Result<()> {
    install(&client).await?;
    let greetings = Api::<Greeting>::all(client.clone());
    let config_maps = Api::<ConfigMap>::all(client.clone());
    Controller::new(greetings, watcher::Config::default())
        .owns(config_maps, watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}")))
        .shutdown_on_signal()
        .run(reconcile, error_policy, Arc::new(Context { client }))
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::info!(greeting = %object, "reconciled"),
                Err(error) => tracing::warn!(%error, "reconcile error"),
            }
        })
        .await;
    Ok(())
}
