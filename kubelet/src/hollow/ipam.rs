//! Pod IPs from the node's `spec.podCIDR`, the way a host-local CNI plugin hands them out: the
//! network address, the gateway (`.1`) and the IPv4 broadcast address are never given, and the
//! search for a free address continues after the last one given so a released address is not
//! reused at once.

use std::collections::BTreeSet;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    #[error("invalid CIDR {0:?}")]
    InvalidCidr(String),
    #[error("no free pod IP left in {0}")]
    Exhausted(String),
}

/// An IPv4 or IPv6 network, its address as a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    pub text: String,
    base: u128,
    prefix: u8,
    v6: bool,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, IpamError> {
        let invalid = || IpamError::InvalidCidr(text.to_string());
        let (address, prefix) = text.split_once('/').ok_or_else(invalid)?;
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
        let (value, bits, v6) = match address {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32, false),
            IpAddr::V6(a) => (u128::from(a), 128, true),
        };
        if prefix > bits {
            return Err(invalid());
        }
        let host_bits = u32::from(bits - prefix);
        let mask = if host_bits >= 128 { 0 } else { !0u128 << host_bits };
        Ok(Self { text: text.to_string(), base: value & mask, prefix, v6 })
    }

    fn host_bits(&self) -> u32 {
        u32::from(if self.v6 { 128 } else { 32 } - self.prefix)
    }

    /// How many addresses pods may get (offsets `2 ..= last`).
    fn last_offset(&self) -> u128 {
        let size = if self.host_bits() >= 128 { u128::MAX } else { (1u128 << self.host_bits()) - 1 };
        // IPv4 keeps its broadcast address; IPv6 has none. Huge IPv6 ranges are capped: no
        // node runs more pods than this.
        if self.v6 { size.min(1 << 32) } else { size.saturating_sub(1) }
    }

    fn address(&self, offset: u128) -> IpAddr {
        let value = self.base + offset;
        if self.v6 { IpAddr::V6(value.into()) } else { IpAddr::V4(u32::try_from(value).unwrap_or(u32::MAX).into()) }
    }

    /// The offset of `ip` in this network, if it is one pods may get.
    fn offset(&self, ip: IpAddr) -> Option<u128> {
        let value = match (ip, self.v6) {
            (IpAddr::V4(a), false) => u128::from(u32::from(a)),
            (IpAddr::V6(a), true) => u128::from(a),
            _ => return None,
        };
        let offset = value.checked_sub(self.base)?;
        (2..=self.last_offset()).contains(&offset).then_some(offset)
    }
}

/// The addresses in use in one node's pod CIDR.
#[derive(Debug)]
pub struct Allocator {
    cidr: Cidr,
    used: BTreeSet<u128>,
    /// The offset given last; the search starts after it.
    last: u128,
}

impl Allocator {
    pub fn new(cidr: Cidr) -> Self {
        Self { cidr, used: BTreeSet::new(), last: 1 }
    }

    pub fn cidr(&self) -> &Cidr {
        &self.cidr
    }

    /// A free address, marked used.
    pub fn allocate(&mut self) -> Result<IpAddr, IpamError> {
        let last = self.cidr.last_offset();
        if last < 2 || self.used.len() as u128 >= last - 1 {
            return Err(IpamError::Exhausted(self.cidr.text.clone()));
        }
        // Next free after `last`, wrapping to the start of the range.
        let mut candidate = if self.last >= last { 2 } else { self.last + 1 };
        while self.used.contains(&candidate) {
            candidate = if candidate >= last { 2 } else { candidate + 1 };
        }
        self.used.insert(candidate);
        self.last = candidate;
        Ok(self.cidr.address(candidate))
    }

    /// Marks `ip` used (a pod found running with it); `false` if it is not in the range or is
    /// already used.
    pub fn reserve(&mut self, ip: IpAddr) -> bool {
        self.cidr.offset(ip).is_some_and(|offset| self.used.insert(offset))
    }

    pub fn release(&mut self, ip: IpAddr) {
        if let Some(offset) = self.cidr.offset(ip) {
            self.used.remove(&offset);
        }
    }

    pub fn in_use(&self) -> usize {
        self.used.len()
    }
}

/// The pod addresses of one node: held ones (found on running pods or given out), and the
/// allocator once the node has a `spec.podCIDR`. Addresses held before the CIDR is known are
/// reserved in it when it comes.
#[derive(Debug, Default)]
pub struct NodeIps {
    allocator: Option<Allocator>,
    held: BTreeSet<IpAddr>,
}

impl NodeIps {
    /// Sets the node's pod CIDR; `Ok(true)` if it is new.
    pub fn set_cidr(&mut self, text: &str) -> Result<bool, IpamError> {
        if self.allocator.as_ref().is_some_and(|a| a.cidr().text == text) {
            return Ok(false);
        }
        let mut allocator = Allocator::new(Cidr::parse(text)?);
        for ip in &self.held {
            allocator.reserve(*ip);
        }
        self.allocator = Some(allocator);
        Ok(true)
    }

    /// A free address; `Ok(None)` while the node has no pod CIDR.
    pub fn allocate(&mut self) -> Result<Option<IpAddr>, IpamError> {
        let Some(allocator) = self.allocator.as_mut() else { return Ok(None) };
        let ip = allocator.allocate()?;
        self.held.insert(ip);
        Ok(Some(ip))
    }

    pub fn hold(&mut self, ip: IpAddr) {
        self.held.insert(ip);
        if let Some(a) = self.allocator.as_mut() {
            a.reserve(ip);
        }
    }

    pub fn release(&mut self, ip: IpAddr) {
        self.held.remove(&ip);
        if let Some(a) = self.allocator.as_mut() {
            a.release(ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_normalise() {
        let c = Cidr::parse("10.244.1.7/24").unwrap();
        assert_eq!(c.address(2), ip("10.244.1.2"));
        assert!(Cidr::parse("10.244.1.0").is_err());
        assert!(Cidr::parse("10.244.1.0/33").is_err());
        assert!(Cidr::parse("nonsense/8").is_err());
        assert_eq!(Cidr::parse("fd00::/64").unwrap().address(5), ip("fd00::5"));
    }

    #[test]
    fn gives_each_usable_address_once_then_is_exhausted() {
        let mut a = Allocator::new(Cidr::parse("10.244.0.0/29").unwrap());
        let given: Vec<IpAddr> = (0..5).map(|_| a.allocate().unwrap()).collect();
        // .0 network, .1 gateway, .7 broadcast are never given.
        let want: Vec<IpAddr> = (2..=6).map(|i| ip(&format!("10.244.0.{i}"))).collect();
        assert_eq!(given, want);
        assert_eq!(a.allocate(), Err(IpamError::Exhausted("10.244.0.0/29".into())));
        assert_eq!(a.in_use(), 5);
    }

    #[test]
    fn released_addresses_come_back_after_the_others() {
        let mut a = Allocator::new(Cidr::parse("10.244.0.0/28").unwrap());
        let first = a.allocate().unwrap();
        let second = a.allocate().unwrap();
        a.release(first);
        // Not reused at once: the search goes on after the last one given.
        assert_eq!(a.allocate().unwrap(), ip("10.244.0.4"));
        assert_ne!(a.allocate().unwrap(), first);
        while a.in_use() < 13 {
            a.allocate().unwrap();
        }
        assert!(a.allocate().is_err());
        a.release(second);
        assert_eq!(a.allocate().unwrap(), second, "the one free address");
    }

    #[test]
    fn reserving_adopted_addresses() {
        let mut a = Allocator::new(Cidr::parse("10.244.0.0/29").unwrap());
        assert!(a.reserve(ip("10.244.0.2")));
        assert!(!a.reserve(ip("10.244.0.2")), "already used");
        assert!(!a.reserve(ip("10.244.0.1")), "the gateway");
        assert!(!a.reserve(ip("10.245.0.3")), "outside the range");
        assert!(!a.reserve(ip("fd00::3")), "another family");
        assert_eq!(a.allocate().unwrap(), ip("10.244.0.3"));
    }

    #[test]
    fn ipv6_and_tiny_ranges() {
        let mut a = Allocator::new(Cidr::parse("fd00:10:244:1::/64").unwrap());
        assert_eq!(a.allocate().unwrap(), ip("fd00:10:244:1::2"));
        let mut none = Allocator::new(Cidr::parse("10.0.0.0/31").unwrap());
        assert!(none.allocate().is_err());
        let mut one = Allocator::new(Cidr::parse("10.0.0.0/30").unwrap());
        assert_eq!(one.allocate().unwrap(), ip("10.0.0.2"));
        assert!(one.allocate().is_err());
    }

    #[test]
    fn addresses_held_before_the_cidr_are_not_given_again() {
        let mut ips = NodeIps::default();
        assert_eq!(ips.allocate(), Ok(None), "no CIDR yet");
        ips.hold(ip("10.244.0.2"));
        assert_eq!(ips.set_cidr("10.244.0.0/24"), Ok(true));
        assert_eq!(ips.set_cidr("10.244.0.0/24"), Ok(false));
        assert_eq!(ips.allocate(), Ok(Some(ip("10.244.0.3"))));
        ips.release(ip("10.244.0.2"));
        assert!(ips.set_cidr("bad").is_err());
    }
}
