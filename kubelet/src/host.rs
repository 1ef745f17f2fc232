//! Facts about the machine a real kubelet runs on, read from `/proc`, `/etc` and the file
//! system: what its Node reports as capacity, addresses and nodeInfo, and the pressure the
//! eviction thresholds compare against.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;

/// Bytes, from `/proc/meminfo`'s kB figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
}

/// Parses `/proc/meminfo`.
pub fn parse_meminfo(text: &str) -> Memory {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    Memory { total: field("MemTotal"), available: field("MemAvailable") }
}

pub fn memory() -> Memory {
    std::fs::read_to_string("/proc/meminfo").map(|t| parse_meminfo(&t)).unwrap_or_default()
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Size and free bytes of the file system holding `path` (`statvfs`).
pub fn filesystem(path: &Path) -> Option<(u64, u64)> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    let block = stat.f_frsize as u64;
    Some((stat.f_blocks as u64 * block, stat.f_bavail as u64 * block))
}

/// Processes running now and the most the kernel allows.
pub fn pids() -> (u64, u64) {
    let max = std::fs::read_to_string("/proc/sys/kernel/pid_max").ok().and_then(|t| t.trim().parse().ok());
    let running = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten().filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit())).count()
        })
        .unwrap_or(0);
    (running as u64, max.unwrap_or(32768))
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map(|t| t.trim().to_string()).unwrap_or_default()
}

pub fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname").to_lowercase()
}

pub fn kernel_version() -> String {
    read_trimmed("/proc/sys/kernel/osrelease")
}

pub fn boot_id() -> String {
    read_trimmed("/proc/sys/kernel/random/boot_id")
}

pub fn machine_id() -> String {
    let id = read_trimmed("/etc/machine-id");
    if id.is_empty() { read_trimmed("/var/lib/dbus/machine-id") } else { id }
}

/// `PRETTY_NAME` of `/etc/os-release`, as upstream's `osImage`.
pub fn os_image() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

/// The address other machines reach this one at: the source address of the default route
/// (a UDP "connect" sends nothing), or loopback on a machine without one.
pub fn default_ip() -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let socket = UdpSocket::bind("0.0.0.0:0")?;
        socket.connect("192.0.2.1:9")?;
        Ok(socket.local_addr()?.ip())
    };
    probe().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal:       24603020 kB\nMemFree:        1000 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(parse_meminfo(text), Memory { total: 24_603_020 * 1024, available: 20_000_000 * 1024 });
    }

    #[test]
    fn this_machine_has_facts() {
        assert!(memory().total > 0);
        assert!(cpus() >= 1);
        let (size, free) = filesystem(Path::new("/")).unwrap();
        assert!(size >= free && size > 0);
        let (running, max) = pids();
        assert!(running > 0 && max > running);
        assert!(!kernel_version().is_empty());
    }
}
