//! Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: a
//! candidate takes the Lease when it is free or its holder has not renewed it for
//! `lease_duration` (by the candidate's own clock, since it last saw the Lease change), renews
//! it every `retry_period`, and gives up leadership when it cannot renew within
//! `renew_deadline`. Only the leader runs the controllers; on shutdown it releases the Lease so
//! another candidate takes over at once.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};

/// Upstream's defaults (kube-controller-manager's --leader-elect-* flags).
#[derive(Clone, Debug)]
pub struct Settings {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl Settings {
    pub fn new(name: &str, identity: String) -> Self {
        Self {
            namespace: "kube-system".into(),
            name: name.into(),
            identity,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// A candidate's view of the Lease: what it last saw and when it saw it change.
pub struct Elector {
    api: Api<Lease>,
    settings: Settings,
    observed: Option<(LeaseSpec, Instant)>,
}

impl Elector {
    pub fn new(client: Client, settings: Settings) -> Self {
        Self { api: Api::namespaced(client, &settings.namespace), settings, observed: None }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Tries once to take or renew the Lease; `Ok(true)` when this candidate holds it.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let me = self.settings.identity.clone();
        let duration = i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(15);
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.settings.name.clone()), ..ObjectMeta::default() },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(&created);
                    Ok(true)
                }
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        self.observe(&lease);
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let held_by_me = holder == self.settings.identity;
        let expired = self.observed.as_ref().is_some_and(|(_, seen)| {
            let held_for = Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or(15)).unwrap_or(15));
            seen.elapsed() > held_for
        });
        if !held_by_me && !holder.is_empty() && !expired {
            return Ok(false);
        }
        let mut next = spec.clone();
        if !held_by_me {
            next.acquire_time = Some(now.clone());
            next.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + i32::from(!holder.is_empty()));
        }
        next.holder_identity = Some(me);
        next.lease_duration_seconds = Some(duration);
        next.renew_time = Some(now);
        lease.spec = Some(next);
        // The resourceVersion we read makes this a compare-and-swap: a rival's write wins.
        match self.api.replace(&self.settings.name, &PostParams::default(), &lease).await {
            Ok(updated) => {
                self.observe(&updated);
                Ok(true)
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up (holder cleared) if this candidate holds it.
    pub async fn release(&mut self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.settings.name).await else { return };
        let Some(spec) = lease.spec.as_mut() else { return };
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        if let Err(e) = self.api.replace(&lease.name_any(), &PostParams::default(), &lease).await {
            tracing::debug!(error = %e, "releasing the lease");
        }
    }

    /// Remembers the Lease's spec, and when it last changed by this process's clock.
    fn observe(&mut self, lease: &Lease) {
        let spec = lease.spec.clone().unwrap_or_default();
        match &self.observed {
            Some((seen, _)) if *seen == spec => {}
            _ => self.observed = Some((spec, Instant::now())),
        }
    }
}

/// Campaigns until elected, then runs `work` (given a future that resolves when leadership is
/// lost or `shutdown` resolves) while renewing the Lease. Returns when `work` ends: `Err` when
/// leadership was lost (upstream's controller-manager then exits), `Ok` on shutdown, after
/// releasing the Lease.
pub async fn run<W, F>(mut elector: Elector, shutdown: impl Future<Output = ()>, work: W) -> anyhow::Result<()>
where
    W: FnOnce(tokio::sync::watch::Receiver<bool>) -> F,
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tokio::pin!(shutdown);
    let retry = elector.settings().retry_period;
    loop {
        match elector.try_acquire_or_renew().await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "leader election: cannot reach the lease"),
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(retry) => {}
        }
    }
    let identity = elector.settings().identity.clone();
    tracing::info!(lease = %elector.settings().name, %identity, "became leader");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = tokio::spawn(work(stopped));
    let mut last_renewal = Instant::now();
    let lost = loop {
        tokio::select! {
            _ = &mut shutdown => break false,
            result = &mut running => {
                elector.release().await;
                return result.map_err(anyhow::Error::from)?;
            }
            _ = tokio::time::sleep(retry) => {
                match elector.try_acquire_or_renew().await {
                    Ok(true) => last_renewal = Instant::now(),
                    Ok(false) => break true,
                    Err(e) => tracing::warn!(error = %e, "leader election: renewing the lease"),
                }
                if last_renewal.elapsed() > elector.settings().renew_deadline {
                    break true;
                }
            }
        }
    };
    let _ = stop.send(true);
    let _ = running.await;
    if lost {
        anyhow::bail!("leader election lost: {identity} no longer holds the lease");
    }
    elector.release().await;
    tracing::info!(%identity, "released the lease");
    Ok(())
}
