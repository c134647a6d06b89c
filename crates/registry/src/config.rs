//! Which hosts a registry's requests go to, as dockerd's `registry-mirrors` and
//! `insecure-registries` decide: docker.io's pulls try its mirrors first, and a registry that is
//! insecure (loopback, listed by host[:port], or inside a listed CIDR) is spoken to over plain
//! HTTP. The engine reads these settings from daemon.json and hands them here.

use std::net::IpAddr;

/// The registry settings of daemon.json.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryConfig {
    /// `registry-mirrors`: URLs (`http://127.0.0.1:5000`, `https://mirror.example`) tried, in
    /// order, before docker.io itself when pulling from docker.io.
    pub mirrors: Vec<String>,
    /// `insecure-registries`: `host[:port]` or CIDRs (`10.0.0.0/8`) reached over plain HTTP.
    pub insecure: Vec<String>,
}

/// One place a registry's content may be fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]` as references name it (`docker.io` for Docker Hub itself).
    pub host: String,
    /// Plain HTTP rather than HTTPS.
    pub plain_http: bool,
    /// A mirror (its failure moves on to the next endpoint).
    pub mirror: bool,
}

impl RegistryConfig {
    /// The insecure registries as `docker info` lists them: the CIDRs, loopback's first.
    pub fn insecure_cidrs(&self) -> Vec<String> {
        let mut cidrs = vec!["127.0.0.0/8".to_string()];
        cidrs.extend(
            self.insecure
                .iter()
                .filter(|entry| parse_cidr(entry).is_some())
                .filter(|entry| entry.as_str() != "127.0.0.0/8")
                .cloned(),
        );
        cidrs
    }

    /// The insecure registries given by name (`host[:port]`), as `docker info` lists them.
    pub fn insecure_hosts(&self) -> Vec<String> {
        self.insecure
            .iter()
            .filter(|entry| parse_cidr(entry).is_none())
            .cloned()
            .collect()
    }

    /// The mirrors as `docker info` lists them (URLs ending in `/`).
    pub fn mirror_urls(&self) -> Vec<String> {
        self.mirrors
            .iter()
            .map(|m| {
                let m = m.trim();
                if m.ends_with('/') {
                    m.to_string()
                } else {
                    format!("{m}/")
                }
            })
            .collect()
    }

    /// Whether `registry` (`host[:port]`) is spoken to over plain HTTP, as dockerd decides: a
    /// listed name (here or in `$BERTH_INSECURE_REGISTRIES`, comma separated), or an address
    /// (the host's own, or what its name resolves to) on loopback or inside a listed CIDR.
    /// docker.io is always secure.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let host = crate::host_part(registry);
        if crate::normalize_registry(registry) == "docker.io" {
            return false;
        }
        if matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]") {
            return true;
        }
        let from_env = std::env::var("BERTH_INSECURE_REGISTRIES").unwrap_or_default();
        let listed: Vec<&str> = self
            .insecure
            .iter()
            .map(String::as_str)
            .chain(from_env.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        if listed
            .iter()
            .any(|entry| *entry == registry || *entry == host)
        {
            return true;
        }
        let networks: Vec<(IpAddr, u8)> = listed.iter().filter_map(|e| parse_cidr(e)).collect();
        addresses(host).into_iter().any(|address| {
            address.is_loopback()
                || networks
                    .iter()
                    .any(|(network, bits)| in_network(address, *network, *bits))
        })
    }

    /// Where a pull from `registry` goes, in order: for docker.io its mirrors, then docker.io;
    /// any other registry is its own only endpoint (dockerd uses mirrors for docker.io only).
    pub fn endpoints(&self, registry: &str) -> Vec<Endpoint> {
        let own = Endpoint {
            host: registry.to_string(),
            plain_http: self.is_insecure(registry),
            mirror: false,
        };
        if crate::normalize_registry(registry) != "docker.io" {
            return vec![own];
        }
        let mut endpoints: Vec<Endpoint> = self
            .mirrors
            .iter()
            .filter_map(|url| {
                let url = url.trim();
                let (plain, rest) = match url.strip_prefix("http://") {
                    Some(rest) => (true, rest),
                    None => (false, url.strip_prefix("https://").unwrap_or(url)),
                };
                let host = rest.split('/').next().filter(|h| !h.is_empty())?;
                Some(Endpoint {
                    host: host.to_string(),
                    plain_http: plain || self.is_insecure(host),
                    mirror: true,
                })
            })
            .collect();
        endpoints.push(own);
        endpoints
    }
}

/// The addresses of a registry's host: itself when it is one, else what its name resolves to
/// (none when it does not resolve).
fn addresses(host: &str) -> Vec<IpAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(address) = bare.parse::<IpAddr>() {
        return vec![address];
    }
    use std::net::ToSocketAddrs;
    (bare, 0)
        .to_socket_addrs()
        .map(|found| found.map(|a| a.ip()).collect())
        .unwrap_or_default()
}

/// `10.0.0.0/8` -> (10.0.0.0, 8); None for anything that is not a CIDR.
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, bits) = text.trim().split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((address, bits))
}

fn in_network(address: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RegistryConfig {
        RegistryConfig {
            mirrors: vec![
                "http://127.0.0.1:5000".into(),
                "https://mirror.example".into(),
            ],
            insecure: vec!["10.1.0.0/16".into(), "reg.internal:5000".into()],
        }
    }

    #[test]
    fn mirrors_serve_docker_io_only() {
        let c = config();
        let hosts: Vec<(String, bool, bool)> = c
            .endpoints("docker.io")
            .into_iter()
            .map(|e| (e.host, e.plain_http, e.mirror))
            .collect();
        assert_eq!(
            hosts,
            [
                ("127.0.0.1:5000".into(), true, true),
                ("mirror.example".into(), false, true),
                ("docker.io".into(), false, false),
            ]
        );
        assert_eq!(c.endpoints("quay.io").len(), 1);
        assert_eq!(
            c.mirror_urls(),
            ["http://127.0.0.1:5000/", "https://mirror.example/"]
        );
    }

    #[test]
    fn insecure_by_name_and_by_network() {
        let c = config();
        assert!(c.is_insecure("reg.internal:5000"));
        assert!(c.is_insecure("10.1.2.3:5000"));
        assert!(!c.is_insecure("10.2.0.1:5000"));
        assert!(!c.is_insecure("reg.internal:5001"));
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.is_insecure("127.0.0.2:5000"));
        assert!(!c.is_insecure("docker.io"));
        assert_eq!(c.insecure_cidrs(), ["127.0.0.0/8", "10.1.0.0/16"]);
        assert_eq!(c.insecure_hosts(), ["reg.internal:5000"]);
    }
}
