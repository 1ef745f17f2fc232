//! Services: defaults (type, ports' protocol and targetPort, IP family, traffic policies),
//! validation, and the ClusterIP / NodePort allocations.
//!
//! Allocations are reservations in the store itself (`/registry/core/serviceips/<ip>`,
//! `/registry/core/servicenodeports/<port>`, created only if absent), so several apiservers
//! sharing one etcd can never hand out the same address; they are released when the service
//! goes.

use std::net::Ipv4Addr;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::{Ctx, Strategy};
use crate::object;
use crate::status::{ApiError, Cause};
use crate::validation::NameRule;

pub struct Services;

/// The service IP range and node port range, from the apiserver's flags.
#[derive(Clone, Debug)]
pub struct Allocators {
    network: u32,
    prefix: u32,
    ports: (u16, u16),
}

const IP_KEYS: &str = "/registry/core/serviceips/";
const PORT_KEYS: &str = "/registry/core/servicenodeports/";

impl Allocators {
    /// `cidr` like "10.96.0.0/12", `ports` like "30000-32767".
    pub fn new(cidr: &str, ports: &str) -> anyhow::Result<Self> {
        let (ip, bits) =
            cidr.split_once('/').ok_or_else(|| anyhow::anyhow!("service CIDR {cidr:?} needs a /prefix"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| anyhow::anyhow!("service CIDR {cidr:?}: not an IPv4 address"))?;
        let prefix: u32 = bits.parse().map_err(|_| anyhow::anyhow!("service CIDR {cidr:?}: bad prefix"))?;
        anyhow::ensure!((8..=30).contains(&prefix), "service CIDR {cidr:?}: prefix must be /8 to /30");
        let (lo, hi) = ports.split_once('-').ok_or_else(|| anyhow::anyhow!("node port range {ports:?} needs lo-hi"))?;
        let ports = (lo.trim().parse()?, hi.trim().parse()?);
        anyhow::ensure!(ports.0 <= ports.1, "node port range {ports:?} is empty");
        let mask = u32::MAX << (32 - prefix);
        Ok(Self { network: u32::from(ip) & mask, prefix, ports })
    }

    /// The first usable address: the `kubernetes` service's ClusterIP.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip > self.network && ip < self.network + self.size() - 1
    }

    fn range_text(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }

    /// Reserves `ip`, or any free address; `Ok(None)` when the range is full.
    async fn reserve_ip(&self, ctx: &Ctx<'_>, wanted: Option<Ipv4Addr>) -> Result<Option<Ipv4Addr>, ApiError> {
        let store = &ctx.registry.store;
        if let Some(ip) = wanted {
            return match store.create(&format!("{IP_KEYS}{ip}"), Bytes::new()).await {
                Ok(_) => Ok(Some(ip)),
                Err(store::StoreError::AlreadyExists { .. }) => Err(ApiError::invalid(
                    "",
                    "Service",
                    "",
                    vec![Cause::invalid(
                        "spec.clusterIPs",
                        &json!([ip.to_string()]),
                        &format!("failed to allocate IP {ip}: provided IP is already allocated"),
                    )],
                )),
                Err(e) => Err(ApiError::unavailable(e.to_string())),
            };
        }
        // Start at a random offset (skipping the first address, reserved for `kubernetes`),
        // then walk the range.
        let usable = self.size().saturating_sub(2);
        let start =
            u32::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..4].try_into().unwrap_or([0; 4])) % usable.max(1);
        for i in 0..usable {
            let offset = 1 + (start + i) % usable;
            if offset == 1 {
                continue;
            }
            let ip = Ipv4Addr::from(self.network + offset);
            match store.create(&format!("{IP_KEYS}{ip}"), Bytes::new()).await {
                Ok(_) => return Ok(Some(ip)),
                Err(store::StoreError::AlreadyExists { .. }) => continue,
                Err(e) => return Err(ApiError::unavailable(e.to_string())),
            }
        }
        Ok(None)
    }

    async fn reserve_port(&self, ctx: &Ctx<'_>, wanted: Option<u16>) -> Result<u16, ApiError> {
        let store = &ctx.registry.store;
        let span = u32::from(self.ports.1 - self.ports.0) + 1;
        let start = u32::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..4].try_into().unwrap_or([0; 4])) % span;
        let candidates: Vec<u16> = match wanted {
            Some(p) => vec![p],
            None => (0..span).map(|i| self.ports.0 + ((start + i) % span) as u16).collect(),
        };
        for port in candidates {
            match store.create(&format!("{PORT_KEYS}{port}"), Bytes::new()).await {
                Ok(_) => return Ok(port),
                Err(store::StoreError::AlreadyExists { .. }) if wanted.is_none() => continue,
                Err(store::StoreError::AlreadyExists { .. }) => {
                    return Err(ApiError::invalid(
                        "",
                        "Service",
                        "",
                        vec![Cause::invalid(
                            "spec.ports[].nodePort",
                            &json!(port),
                            "provided port is already allocated",
                        )],
                    ));
                }
                Err(e) => return Err(ApiError::unavailable(e.to_string())),
            }
        }
        Err(ApiError::internal("range is full: no node ports left"))
    }

    async fn release(&self, ctx: &Ctx<'_>, key: String) {
        if let Err(e) = ctx.registry.store.delete(&key, None).await
            && !matches!(e, store::StoreError::NotFound { .. })
        {
            tracing::warn!(key, error = %e, "cannot release a service allocation");
        }
    }
}

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

fn service_type(obj: &Value) -> &str {
    obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP")
}

fn wants_node_ports(obj: &Value) -> bool {
    matches!(service_type(obj), "NodePort" | "LoadBalancer")
}

fn ports(obj: &Value) -> Vec<Value> {
    obj.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default()
}

#[async_trait]
impl Strategy for Services {
    fn name_rule(&self) -> NameRule {
        NameRule::Label1035
    }

    fn status_split(&self) -> bool {
        true
    }

    fn return_deleted_object(&self) -> bool {
        true
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        let node_ports = wants_node_ports(obj);
        let Some(map) = obj.as_object_mut() else { return };
        map.insert("status".into(), json!({"loadBalancer": {}}));
        let spec = map.entry("spec").or_insert_with(|| json!({}));
        let Some(spec) = spec.as_object_mut() else { return };
        set_default(spec, "type", json!("ClusterIP"));
        set_default(spec, "sessionAffinity", json!("None"));
        if spec.get("type") != Some(&json!("ExternalName")) {
            set_default(spec, "internalTrafficPolicy", json!("Cluster"));
            set_default(spec, "ipFamilies", json!(["IPv4"]));
            set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        }
        if node_ports {
            set_default(spec, "externalTrafficPolicy", json!("Cluster"));
        }
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                set_default(port, "protocol", json!("TCP"));
                if let Some(p) = port.get("port").cloned() {
                    set_default(port, "targetPort", p);
                }
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        let mut causes = Vec::new();
        let kind = service_type(obj);
        if !matches!(kind, "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName") {
            causes.push(Cause::not_supported(
                "spec.type",
                &json!(kind),
                &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
            ));
        }
        let ports = ports(obj);
        let headless = obj.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None");
        if ports.is_empty() && kind != "ExternalName" && !headless {
            causes.push(Cause::required("spec.ports"));
        }
        let mut seen = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            match port.get("port").and_then(Value::as_i64) {
                Some(p) if (1..=65535).contains(&p) => {}
                Some(p) => causes.push(Cause::invalid(
                    format!("spec.ports[{i}].port"),
                    &json!(p),
                    "must be between 1 and 65535, inclusive",
                )),
                None => causes.push(Cause::required(format!("spec.ports[{i}].port"))),
            }
            let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            if !matches!(protocol, "TCP" | "UDP" | "SCTP") {
                causes.push(Cause::not_supported(
                    format!("spec.ports[{i}].protocol"),
                    &json!(protocol),
                    &["SCTP", "TCP", "UDP"],
                ));
            }
            if ports.len() > 1 && port.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
                causes.push(Cause::required(format!("spec.ports[{i}].name")));
            }
            let key = (port.get("port").cloned(), protocol.to_string());
            if seen.contains(&key) {
                causes
                    .push(Cause::duplicate(format!("spec.ports[{i}]"), &json!({"port": key.0, "protocol": protocol})));
            }
            seen.push(key);
        }
        causes
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        let ip = |o: &Value| o.pointer("/spec/clusterIP").cloned();
        if ip(old).is_some() && ip(new) != ip(old) && service_type(new) != "ExternalName" {
            causes.push(Cause::invalid(
                "spec.clusterIPs[0]",
                &ip(new).unwrap_or(Value::Null),
                "may not change once set",
            ));
        }
        causes
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // An update that leaves clusterIP out keeps the allocated one (as `kubectl replace` of
        // a manifest without it expects).
        if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
            for field in ["clusterIP", "clusterIPs"] {
                if spec.get(field).is_none()
                    && let Some(v) = old.pointer(&format!("/spec/{field}"))
                {
                    spec.insert(field.into(), v.clone());
                }
            }
        }
    }

    async fn admit_create(&self, ctx: &Ctx<'_>, obj: &mut Value) -> Result<(), ApiError> {
        let alloc = &ctx.registry.allocators;
        let name = object::name(obj).to_string();
        let invalid = |cause: Cause| ApiError::invalid("", "Service", &name, vec![cause]);
        if service_type(obj) != "ExternalName" && !ctx.dry_run {
            let wanted =
                obj.pointer("/spec/clusterIP").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
            let ip = match wanted.as_deref() {
                Some("None") => "None".to_string(),
                Some(text) => {
                    let ip: Ipv4Addr = text.parse().map_err(|_| {
                        invalid(Cause::invalid(
                            "spec.clusterIPs[0]",
                            &json!(text),
                            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                        ))
                    })?;
                    if !alloc.contains(ip) {
                        return Err(invalid(Cause::invalid(
                            "spec.clusterIPs",
                            &json!([text]),
                            &format!(
                                "failed to allocate IP {text}: the provided IP ({text}) is not in the valid range. The range of valid IPs is {}",
                                alloc.range_text()
                            ),
                        )));
                    }
                    alloc.reserve_ip(ctx, Some(ip)).await?.map(|ip| ip.to_string()).unwrap_or_default()
                }
                None => match alloc.reserve_ip(ctx, None).await? {
                    Some(ip) => ip.to_string(),
                    None => return Err(ApiError::internal("failed to allocate a serviceIP: range is full")),
                },
            };
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("clusterIP".into(), json!(ip));
                spec.insert("clusterIPs".into(), json!([ip]));
            }
        }
        if wants_node_ports(obj) && !ctx.dry_run {
            let count = ports(obj).len();
            for i in 0..count {
                let wanted =
                    obj.pointer(&format!("/spec/ports/{i}/nodePort")).and_then(Value::as_u64).map(|p| p as u16);
                let port = alloc.reserve_port(ctx, wanted).await?;
                if let Some(p) = obj.pointer_mut(&format!("/spec/ports/{i}")).and_then(Value::as_object_mut) {
                    p.insert("nodePort".into(), json!(port));
                }
            }
        }
        Ok(())
    }

    async fn deleted(&self, ctx: &Ctx<'_>, obj: &Value) {
        let alloc = &ctx.registry.allocators;
        if let Some(ip) =
            obj.pointer("/spec/clusterIP").and_then(Value::as_str).filter(|ip| ip.parse::<Ipv4Addr>().is_ok())
        {
            alloc.release(ctx, format!("{IP_KEYS}{ip}")).await;
        }
        for port in ports(obj) {
            if let Some(p) = port.get("nodePort").and_then(Value::as_u64) {
                alloc.release(ctx, format!("{PORT_KEYS}{p}")).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_bound_addresses() {
        let a = Allocators::new("10.96.0.0/12", "30000-32767").unwrap();
        assert_eq!(a.first_ip(), Ipv4Addr::new(10, 96, 0, 1));
        assert!(a.contains(Ipv4Addr::new(10, 100, 3, 4)));
        assert!(!a.contains(Ipv4Addr::new(10, 96, 0, 0)));
        assert!(!a.contains(Ipv4Addr::new(10, 112, 0, 1)));
        assert!(Allocators::new("10.96.0.0", "1-2").is_err());
        assert!(Allocators::new("10.96.0.0/12", "5-1").is_err());
    }

    #[test]
    fn defaults_and_validation_follow_upstream() {
        let mut svc = json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}});
        Services.prepare_for_create(&mut svc);
        assert_eq!(svc["spec"]["type"], "ClusterIP");
        assert_eq!(svc["spec"]["ports"][0], json!({"port": 80, "protocol": "TCP", "targetPort": 80}));
        assert!(Services.validate(&svc).is_empty());
        let two_unnamed = json!({"spec": {"ports": [{"port": 80}, {"port": 81}]}});
        assert_eq!(Services.validate(&two_unnamed).len(), 2);
        assert_eq!(Services.validate(&json!({"spec": {}}))[0].field, "spec.ports");
    }
}
