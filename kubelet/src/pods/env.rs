//! A container's environment (upstream's `makeEnvironmentVariables`): Service variables, then
//! `envFrom`, then `env` in order, each value `$(VAR)`-expanded against what came before;
//! values from ConfigMaps, Secrets, the pod's own fields and its containers' resources. The
//! ConfigMaps and Secrets are fetched by the caller (`Sources`), so this is pure.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Service};

/// ConfigMaps and Secrets of the pod's namespace by name (`None`: does not exist).
#[derive(Default)]
pub struct Sources {
    pub config_maps: BTreeMap<String, Option<ConfigMap>>,
    pub secrets: BTreeMap<String, Option<Secret>>,
    /// Active Services visible to the pod (its namespace, plus `default/kubernetes`), when
    /// `enableServiceLinks` or the master service variables need them.
    pub services: Vec<Service>,
    /// The node's allocatable cpu (millicores) and memory (bytes): `limits.*` of a container
    /// without limits resolve to these, as upstream's.
    pub node_allocatable_milli_cpu: i64,
    pub node_allocatable_memory: i64,
}

/// Names of the ConfigMaps and Secrets `containers` read in their environment.
pub fn referenced<'a>(containers: impl Iterator<Item = &'a Container>) -> (Vec<String>, Vec<String>) {
    let (mut config_maps, mut secrets) = (Vec::new(), Vec::new());
    for c in containers {
        for from in c.env_from.iter().flatten() {
            config_maps.extend(from.config_map_ref.as_ref().map(|r| r.name.clone()));
            secrets.extend(from.secret_ref.as_ref().map(|r| r.name.clone()));
        }
        for var in c.env.iter().flatten() {
            if let Some(from) = &var.value_from {
                config_maps.extend(from.config_map_key_ref.as_ref().map(|r| r.name.clone()));
                secrets.extend(from.secret_key_ref.as_ref().map(|r| r.name.clone()));
            }
        }
    }
    config_maps.sort();
    config_maps.dedup();
    secrets.sort();
    secrets.dedup();
    (config_maps, secrets)
}

/// `$(VAR)` expansion as upstream's `expansion.Expand`: known names are replaced, `$$` is a
/// literal `$`, anything else is kept as written.
pub fn expand(input: &str, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut literal_start = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push_str(&input[literal_start..i]);
                    out.push('$');
                    i += 2;
                    literal_start = i;
                    continue;
                }
                b'(' => {
                    if let Some(close) = input[i + 2..].find(')') {
                        let name = &input[i + 2..i + 2 + close];
                        out.push_str(&input[literal_start..i]);
                        match vars(name) {
                            Some(value) => out.push_str(&value),
                            None => out.push_str(&input[i..i + 3 + close]),
                        }
                        i += 3 + close;
                        literal_start = i;
                        continue;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    out.push_str(&input[literal_start..]);
    out
}

/// A pod field as `fieldRef` reads it.
pub fn pod_field(pod: &Pod, path: &str) -> Result<String, String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let subscript = |prefix: &str, map: &Option<BTreeMap<String, String>>| {
        let key = path.strip_prefix(prefix)?.strip_prefix("['")?.strip_suffix("']")?;
        Some(map.as_ref().and_then(|m| m.get(key)).cloned().unwrap_or_default())
    };
    if let Some(value) =
        subscript("metadata.labels", &meta.labels).or_else(|| subscript("metadata.annotations", &meta.annotations))
    {
        return Ok(value);
    }
    let value = match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "status.hostIP" => status.and_then(|s| s.host_ip.clone()),
        "status.hostIPs" => status
            .and_then(|s| s.host_ips.as_ref())
            .map(|ips| ips.iter().map(|i| i.ip.clone()).collect::<Vec<_>>().join(",")),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()),
        "status.podIPs" => status
            .and_then(|s| s.pod_ips.as_ref())
            .map(|ips| ips.iter().map(|i| i.ip.clone()).collect::<Vec<_>>().join(",")),
        _ => return Err(format!("unsupported fieldPath: {path}")),
    };
    Ok(value.unwrap_or_default())
}

/// A container resource as `resourceFieldRef` reads it, divided by `divisor` and rounded up.
pub fn resource_field(
    container: &Container,
    resource: &str,
    divisor: Option<&str>,
    sources: &Sources,
) -> Result<String, String> {
    let resources = container.resources.clone().unwrap_or_default();
    let (kind, name) = resource.split_once('.').ok_or_else(|| format!("unsupported resource: {resource}"))?;
    let map = match kind {
        "limits" => resources.limits,
        "requests" => resources.requests,
        _ => return Err(format!("unsupported resource: {resource}")),
    };
    let is_cpu = name == "cpu";
    let explicit = map.as_ref().and_then(|m| m.get(name));
    // Values in millicores for cpu, in units otherwise.
    let value = match explicit {
        Some(q) if is_cpu => apimachinery::quantity::parse_milli(&q.0),
        Some(q) => apimachinery::quantity::parse_value(&q.0),
        None if kind == "limits" && is_cpu => Some(sources.node_allocatable_milli_cpu),
        None if kind == "limits" && name == "memory" => Some(sources.node_allocatable_memory),
        None => Some(0),
    }
    .ok_or_else(|| format!("invalid quantity for {resource}"))?;
    let divisor = divisor.filter(|d| !d.is_empty()).unwrap_or("1");
    let divisor = if is_cpu {
        apimachinery::quantity::parse_milli(divisor)
    } else {
        apimachinery::quantity::parse_value(divisor)
    }
    .filter(|d| *d > 0)
    .ok_or_else(|| format!("invalid divisor {divisor}"))?;
    // Upstream rounds up (`convertResourceCPUToString` and friends use ceil).
    Ok(((value + divisor - 1) / divisor).to_string())
}

fn env_name(service: &str) -> String {
    service.to_uppercase().replace('-', "_")
}

/// Docker-link style variables for every Service with a cluster IP (upstream's
/// `envvars.FromServices`).
pub fn service_variables(services: &[Service]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for service in services {
        let spec = service.spec.clone().unwrap_or_default();
        let ip = match spec.cluster_ip.as_deref() {
            Some(ip) if !ip.is_empty() && ip != "None" => ip.to_string(),
            _ => continue,
        };
        let name = env_name(service.metadata.name.as_deref().unwrap_or_default());
        let ports = spec.ports.unwrap_or_default();
        out.push((format!("{name}_SERVICE_HOST"), ip.clone()));
        if let Some(first) = ports.first() {
            out.push((format!("{name}_SERVICE_PORT"), first.port.to_string()));
        }
        for port in &ports {
            if let Some(port_name) = &port.name {
                out.push((format!("{name}_SERVICE_PORT_{}", env_name(port_name)), port.port.to_string()));
            }
        }
        if let Some(first) = ports.first() {
            let protocol = first.protocol.clone().unwrap_or_else(|| "TCP".into()).to_lowercase();
            out.push((format!("{name}_PORT"), format!("{protocol}://{ip}:{}", first.port)));
        }
        for port in &ports {
            let protocol = port.protocol.clone().unwrap_or_else(|| "TCP".into());
            let prefix = format!("{name}_PORT_{}_{}", port.port, protocol.to_uppercase());
            out.push((prefix.clone(), format!("{}://{ip}:{}", protocol.to_lowercase(), port.port)));
            out.push((format!("{prefix}_PROTO"), protocol.to_lowercase()));
            out.push((format!("{prefix}_PORT"), port.port.to_string()));
            out.push((format!("{prefix}_ADDR"), ip.clone()));
        }
    }
    out
}

/// The environment of `container` in `pod`, in order, or the reason it cannot be made (which
/// upstream reports as `CreateContainerConfigError`).
pub fn environment(pod: &Pod, container: &Container, sources: &Sources) -> Result<Vec<(String, String)>, String> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let mut vars: Vec<(String, String)> = service_variables(&sources.services);
    let set = |vars: &mut Vec<(String, String)>, name: String, value: String| {
        vars.retain(|(n, _)| *n != name);
        vars.push((name, value));
    };
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            match sources.config_maps.get(&r.name).cloned().flatten() {
                Some(cm) => {
                    for (key, value) in cm.data.unwrap_or_default() {
                        set(&mut vars, format!("{prefix}{key}"), value);
                    }
                }
                None if r.optional.unwrap_or(false) => {}
                None => return Err(format!("configmap \"{}\" not found", r.name)),
            }
        }
        if let Some(r) = &from.secret_ref {
            match sources.secrets.get(&r.name).cloned().flatten() {
                Some(secret) => {
                    for (key, value) in secret.data.unwrap_or_default() {
                        set(&mut vars, format!("{prefix}{key}"), String::from_utf8_lossy(&value.0).into_owned());
                    }
                }
                None if r.optional.unwrap_or(false) => {}
                None => return Err(format!("secret \"{}\" not found", r.name)),
            }
        }
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(value), _) => {
                let known = vars.clone();
                expand(value, &|name| known.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
            }
            (None, Some(from)) => {
                if let Some(r) = &from.config_map_key_ref {
                    let cm = sources.config_maps.get(&r.name).cloned().flatten();
                    match cm.as_ref().and_then(|cm| cm.data.as_ref()?.get(&r.key).cloned()) {
                        Some(v) => v,
                        None if r.optional.unwrap_or(false) => continue,
                        None if cm.is_none() => return Err(format!("configmap \"{}\" not found", r.name)),
                        None => return Err(format!("couldn't find key {} in ConfigMap {namespace}/{}", r.key, r.name)),
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    let secret = sources.secrets.get(&r.name).cloned().flatten();
                    match secret.as_ref().and_then(|s| s.data.as_ref()?.get(&r.key).cloned()) {
                        Some(v) => String::from_utf8_lossy(&v.0).into_owned(),
                        None if r.optional.unwrap_or(false) => continue,
                        None if secret.is_none() => return Err(format!("secret \"{}\" not found", r.name)),
                        None => return Err(format!("couldn't find key {} in Secret {namespace}/{}", r.key, r.name)),
                    }
                } else if let Some(r) = &from.field_ref {
                    pod_field(pod, &r.field_path)?
                } else if let Some(r) = &from.resource_field_ref {
                    let target = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
                        Some(name) => pod_containers(pod)
                            .find(|c| c.name == name)
                            .ok_or_else(|| format!("container {name} not found"))?,
                        None => container,
                    };
                    resource_field(target, &r.resource, r.divisor.as_ref().map(|d| d.0.as_str()), sources)?
                } else {
                    String::new()
                }
            }
            (None, None) => String::new(),
        };
        set(&mut vars, var.name.clone(), value);
    }
    Ok(vars)
}

fn pod_containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    let spec = pod.spec.as_ref();
    spec.into_iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))
}

/// `command` and `args` expanded against the environment.
pub fn expand_all(items: &[String], env: &[(String, String)]) -> Vec<String> {
    let lookup = |name: &str| env.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    items.iter().map(|item| expand(item, &lookup)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn expansion_replaces_known_names_and_keeps_the_rest() {
        let v = vars(&[("A", "1"), ("B", "two")]);
        assert_eq!(expand("x$(A)y$(B)z", &v), "x1ytwoz");
        assert_eq!(expand("$(MISSING) and $$(A) and $$ and $", &v), "$(MISSING) and $(A) and $ and $");
        assert_eq!(expand("$(A", &v), "$(A");
    }

    #[test]
    fn environment_reads_every_source_in_order() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i",
                "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}},
                "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
                "env": [
                    {"name": "GREETING", "value": "hello $(CM_who)"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                    {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
                    {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
                ]}]},
            "status": {"podIP": "10.1.0.5"}
        }))
        .unwrap();
        let mut sources = Sources::default();
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "cm"}, "data": {"who": "world"}})).unwrap();
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": "s"}, "data": {"password": "c2VjcmV0"}})).unwrap();
        sources.config_maps.insert("cm".into(), Some(cm));
        sources.secrets.insert("s".into(), Some(secret));
        let container = &pod.spec.as_ref().unwrap().containers[0];
        let env: BTreeMap<String, String> = environment(&pod, container, &sources).unwrap().into_iter().collect();
        assert_eq!(env["CM_who"], "world");
        assert_eq!(env["GREETING"], "hello world");
        assert_eq!(env["POD"], "p");
        assert_eq!(env["APP"], "web");
        assert_eq!(env["NODE"], "n1");
        assert_eq!(env["MEM"], "64");
        assert_eq!(env["CPU"], "250");
        assert_eq!(env["PASS"], "secret");

        sources.secrets.insert("s".into(), None);
        assert_eq!(environment(&pod, container, &sources).unwrap_err(), "secret \"s\" not found");
    }

    #[test]
    fn services_become_docker_link_variables() {
        let svc: Service = serde_json::from_value(json!({"metadata": {"name": "redis-primary"}, "spec": {
            "clusterIP": "10.0.0.11", "ports": [{"name": "db", "port": 6379, "protocol": "TCP"}]}}))
        .unwrap();
        let vars: BTreeMap<String, String> = service_variables(&[svc]).into_iter().collect();
        assert_eq!(vars["REDIS_PRIMARY_SERVICE_HOST"], "10.0.0.11");
        assert_eq!(vars["REDIS_PRIMARY_SERVICE_PORT"], "6379");
        assert_eq!(vars["REDIS_PRIMARY_SERVICE_PORT_DB"], "6379");
        assert_eq!(vars["REDIS_PRIMARY_PORT"], "tcp://10.0.0.11:6379");
        assert_eq!(vars["REDIS_PRIMARY_PORT_6379_TCP_ADDR"], "10.0.0.11");
    }
}
