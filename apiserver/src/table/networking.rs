//! Printers for networking.k8s.io/v1 and discovery.k8s.io/v1 kinds.

use serde_json::Value;

use super::core::load_balancer_addresses;
use super::{
    AGE, Column, NAME, Now, Printer, age, arr_at, at, col, desc, format_label_selector, int_at, list_with_more, name,
    str_at,
};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    Some(match (group, kind) {
        ("networking.k8s.io", "Ingress") => (INGRESS, ingress_row),
        ("networking.k8s.io", "IngressClass") => (INGRESS_CLASS, ingress_class_row),
        ("networking.k8s.io", "NetworkPolicy") => (NETWORK_POLICY, network_policy_row),
        ("networking.k8s.io", "ServiceCIDR") => (SERVICE_CIDR, service_cidr_row),
        ("networking.k8s.io", "IPAddress") => (IP_ADDRESS, ip_address_row),
        ("discovery.k8s.io", "EndpointSlice") => (ENDPOINT_SLICE, endpoint_slice_row),
        _ => return None,
    })
}

static INGRESS: &[Column] = &[
    NAME,
    col("Class", "string", "The name of the IngressClass resource that should be used for additional configuration", 0),
    col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule", 0),
    col("Address", "string", "Address is a list containing ingress points for the load-balancer", 0),
    col("Ports", "string", "Ports of TLS configurations that open", 0),
    AGE,
];

/// The first three hosts named by rules, "+ N more..." when rules remain after them, "*" when
/// no rule names a host.
fn ingress_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
            break;
        }
        match str_at(rule, &["host"]) {
            "" => {}
            host => hosts.push(host),
        }
    }
    if hosts.is_empty() {
        return "*".to_string();
    }
    let joined = hosts.join(",");
    // Upstream counts the remaining rules against the number of rules, not of hosts.
    if more { format!("{joined} + {} more...", rules.len().saturating_sub(MAX)) } else { joined }
}

fn ingress_row(ing: &Value, now: Now) -> Vec<Value> {
    let class = match at(ing, &["spec", "ingressClassName"]) {
        Some(c) => c.as_str().unwrap_or("").to_string(),
        None => "<none>".to_string(),
    };
    let ports = if arr_at(ing, &["spec", "tls"]).is_empty() { "80" } else { "80, 443" };
    vec![
        name(ing),
        Value::from(class),
        Value::from(ingress_hosts(arr_at(ing, &["spec", "rules"]))),
        Value::from(load_balancer_addresses(arr_at(ing, &["status", "loadBalancer", "ingress"])).join(",")),
        Value::from(ports),
        age(ing, now),
    ]
}

static INGRESS_CLASS: &[Column] = &[
    NAME,
    col("Controller", "string", "Controller that is responsible for handling this class", 0),
    col("Parameters", "string", "A reference to a resource with additional parameters", 0),
    AGE,
];

fn ingress_class_row(obj: &Value, now: Now) -> Vec<Value> {
    // "Kind.apiGroup/name", the group only when given.
    let parameters = match at(obj, &["spec", "parameters"]) {
        Some(p) => {
            let mut s = str_at(p, &["kind"]).to_string();
            if let Some(group) = at(p, &["apiGroup"]).and_then(Value::as_str) {
                s.push('.');
                s.push_str(group);
            }
            format!("{s}/{}", str_at(p, &["name"]))
        }
        None => "<none>".to_string(),
    };
    vec![name(obj), Value::from(str_at(obj, &["spec", "controller"])), Value::from(parameters), age(obj, now)]
}

static NETWORK_POLICY: &[Column] = &[NAME, col("Pod-Selector", "string", desc::NETPOL_SPEC_POD_SELECTOR, 0), AGE];

fn network_policy_row(obj: &Value, now: Now) -> Vec<Value> {
    // podSelector is never nil upstream: an absent one selects every pod, printed "<none>".
    let selector = at(obj, &["spec", "podSelector"]).cloned().unwrap_or_else(|| Value::Object(Default::default()));
    vec![name(obj), Value::from(format_label_selector(Some(&selector))), age(obj, now)]
}

static SERVICE_CIDR: &[Column] = &[NAME, col("CIDRs", "string", desc::SERVICE_CIDR_SPEC_CIDRS, 0), AGE];

fn service_cidr_row(obj: &Value, now: Now) -> Vec<Value> {
    let cidrs: Vec<&str> = arr_at(obj, &["spec", "cidrs"]).iter().filter_map(Value::as_str).collect();
    vec![name(obj), Value::from(cidrs.join(",")), age(obj, now)]
}

/// Upstream defines only these two columns (its row also carries an age that no column
/// describes); rows here match the columns.
static IP_ADDRESS: &[Column] = &[NAME, col("ParentRef", "string", desc::IP_ADDRESS_SPEC_PARENT_REF, 0)];

fn ip_address_row(obj: &Value, _now: Now) -> Vec<Value> {
    let parent = match at(obj, &["spec", "parentRef"]) {
        Some(p) => {
            // "resource.group" lower-cased, then the namespace when set, then the name.
            let resource = match str_at(p, &["group"]) {
                "" => str_at(p, &["resource"]).to_lowercase(),
                group => format!("{}.{}", str_at(p, &["resource"]), group).to_lowercase(),
            };
            match str_at(p, &["namespace"]) {
                "" => format!("{resource}/{}", str_at(p, &["name"])),
                ns => format!("{resource}/{ns}/{}", str_at(p, &["name"])),
            }
        }
        None => "<none>".to_string(),
    };
    vec![name(obj), Value::from(parent)]
}

static ENDPOINT_SLICE: &[Column] = &[
    NAME,
    col("AddressType", "string", desc::EPS_ADDRESS_TYPE, 0),
    col("Ports", "string", desc::EPS_PORTS, 0),
    col("Endpoints", "string", desc::EPS_ENDPOINTS, 0),
    AGE,
];

fn endpoint_slice_row(obj: &Value, now: Now) -> Vec<Value> {
    const MAX: usize = 3;
    let ports = arr_at(obj, &["ports"]);
    let port_list: Vec<String> = ports
        .iter()
        .take(MAX)
        .map(|p| match (at(p, &["port"]), str_at(p, &["name"])) {
            (Some(_), _) => int_at(p, &["port"]).to_string(),
            (None, n) if at(p, &["name"]).is_some() => n.to_string(),
            _ => "*".to_string(),
        })
        .collect();
    let addresses: Vec<&str> =
        arr_at(obj, &["endpoints"]).iter().flat_map(|e| arr_at(e, &["addresses"])).filter_map(Value::as_str).collect();
    let address_list: Vec<String> = addresses.iter().take(MAX).map(|a| a.to_string()).collect();
    vec![
        name(obj),
        Value::from(str_at(obj, &["addressType"])),
        Value::from(list_with_more(&port_list, ports.len(), MAX)),
        Value::from(list_with_more(&address_list, addresses.len(), MAX)),
        age(obj, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::SystemTime;

    fn row(group: &str, kind: &str, obj: Value) -> Vec<Value> {
        super::super::cells(group, kind, &obj, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn ingresses() {
        let ing = json!({
            "metadata": {"name": "web"},
            "spec": {
                "ingressClassName": "nginx",
                "rules": [{"host": "a.example"}, {}, {"host": "c.example"}, {"host": "d.example"}, {"host": "e.example"}],
                "tls": [{"hosts": ["a.example"]}]
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.example"}, {"ip": "10.0.0.2"}]}}
        });
        assert_eq!(
            &row("networking.k8s.io", "Ingress", ing)[..5],
            &[
                json!("web"),
                json!("nginx"),
                json!("a.example,c.example,d.example + 2 more..."),
                json!("10.0.0.2,lb.example"),
                json!("80, 443")
            ]
        );
        let bare = row("networking.k8s.io", "Ingress", json!({"spec": {"rules": [{}]}}));
        assert_eq!(&bare[1..5], &[json!("<none>"), json!("*"), json!(""), json!("80")]);
    }

    #[test]
    fn endpoint_slices() {
        let eps = json!({
            "addressType": "IPv4",
            "ports": [{"port": 80, "name": "http"}, {"name": "metrics"}, {}, {"port": 9090}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}]
        });
        assert_eq!(
            &row("discovery.k8s.io", "EndpointSlice", eps)[1..4],
            &[json!("IPv4"), json!("80,metrics,* + 1 more..."), json!("10.0.0.1,10.0.0.2,10.0.0.3")]
        );
        assert_eq!(&row("discovery.k8s.io", "EndpointSlice", json!({}))[2..4], &[json!("<unset>"), json!("<unset>")]);
    }

    #[test]
    fn policies_classes_and_addresses() {
        assert_eq!(row("networking.k8s.io", "NetworkPolicy", json!({"spec": {}}))[1], json!("<none>"));
        let np = json!({"spec": {"podSelector": {"matchLabels": {"role": "db"}}}});
        assert_eq!(row("networking.k8s.io", "NetworkPolicy", np)[1], json!("role=db"));
        let class = json!({"spec": {"controller": "k8s.io/ingress-nginx", "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}});
        assert_eq!(
            &row("networking.k8s.io", "IngressClass", class)[1..3],
            &[json!("k8s.io/ingress-nginx"), json!("IngressParameters.k8s.example.com/p")]
        );
        let ip = json!({"metadata": {"name": "10.96.0.1"}, "spec": {"parentRef": {"group": "", "resource": "services", "namespace": "default", "name": "kubernetes"}}});
        assert_eq!(
            row("networking.k8s.io", "IPAddress", ip),
            vec![json!("10.96.0.1"), json!("services/default/kubernetes")]
        );
        let cidr = json!({"spec": {"cidrs": ["10.96.0.0/16", "fd00::/108"]}});
        assert_eq!(row("networking.k8s.io", "ServiceCIDR", cidr)[1], json!("10.96.0.0/16,fd00::/108"));
    }
}
