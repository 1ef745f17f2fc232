//! The network guard every test that runs pods sits behind: an nftables table of the
//! harness's own that drops anything addressed to the service range, the pod ranges or the
//! hollow nodes' made-up addresses which would leave the machine through the default
//! interface. Until rkube's proxy claims every service address, a pod that dials a ClusterIP
//! would otherwise send the packet out through the default route.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The table's name (family `inet`).
pub const TABLE: &str = "rkube_e2e_guard";

/// The ranges no test packet may send off the machine: the service range (`10.96.0.0/12`),
/// the default cluster CIDR, the test clusters' pod ranges (`10.200.0.0/14`) and the hollow
/// nodes' addresses (`100.64.0.0/10`).
pub const RANGES: &[&str] = &["10.96.0.0/12", "10.244.0.0/16", "10.200.0.0/14", "100.64.0.0/10"];

/// Installs (or refreshes) the guard once per process. Idempotent across processes: the
/// table is flushed and rewritten in one nftables transaction.
pub fn install() -> Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(|| write_table().map_err(|e| format!("{e:#}"))).clone().map_err(anyhow::Error::msg)
}

fn default_interfaces() -> Result<Vec<String>> {
    let mut found = Vec::new();
    for family in ["-4", "-6"] {
        let out = Command::new("ip").args([family, "route", "show", "default"]).output().context("ip route")?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut words = line.split_whitespace();
            while let Some(w) = words.next() {
                if w == "dev"
                    && let Some(dev) = words.next()
                    && !found.iter().any(|d| d == dev)
                {
                    found.push(dev.to_string());
                }
            }
        }
    }
    Ok(found)
}

/// The ruleset: in `output` (the host's own and hostNetwork traffic) and `forward` (pods'
/// traffic routed through the host), drop the guarded ranges towards a default interface.
pub fn ruleset(interfaces: &[String]) -> String {
    let ranges = RANGES.join(", ");
    let mut rules = String::new();
    for dev in interfaces {
        rules.push_str(&format!("    oifname \"{dev}\" ip daddr {{ {ranges} }} counter drop\n"));
    }
    format!(
        "table inet {TABLE} {{}}\nflush table inet {TABLE}\ntable inet {TABLE} {{\n  chain output {{\n    type filter hook output priority -10; policy accept;\n{rules}  }}\n  chain forward {{\n    type filter hook forward priority -10; policy accept;\n{rules}  }}\n}}\n"
    )
}

fn write_table() -> Result<()> {
    let interfaces = default_interfaces()?;
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running nft (the e2e network guard needs nftables)")?;
    child.stdin.take().context("nft stdin")?.write_all(ruleset(&interfaces).as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("nft refused the guard table: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_interface_drops_every_guarded_range_in_both_hooks() {
        let text = ruleset(&["eth0".into(), "wlan0".into()]);
        for hook in ["hook output", "hook forward"] {
            assert!(text.contains(hook), "{text}");
        }
        assert_eq!(
            text.matches(
                "oifname \"eth0\" ip daddr { 10.96.0.0/12, 10.244.0.0/16, 10.200.0.0/14, 100.64.0.0/10 } counter drop"
            )
            .count(),
            2,
            "{text}"
        );
        assert_eq!(text.matches("oifname \"wlan0\"").count(), 2);
        assert!(text.starts_with("table inet rkube_e2e_guard {}\nflush table inet rkube_e2e_guard\n"), "{text}");
    }
}
