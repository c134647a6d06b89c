//! `-p [ip:][hostPort:]containerPort[/proto]` port specs as Docker's `PortBindings` entries
//! (an IPv6 host address in brackets: `[::1]:8080:80`).

use crate::types::PortBinding;

/// One `-p [ip:][hostPort:]containerPort[/proto]` (ports may be ranges) as Docker's
/// PortBindings entries: ("80/tcp", binding).
pub fn parse_publish(spec: &str) -> Result<Vec<(String, PortBinding)>, String> {
    let (rest, proto) = spec.rsplit_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    // `[v6]:hostPort:containerPort`: the address is bracketed (its colons are its own).
    let (bracketed, rest) = match rest.strip_prefix('[').and_then(|r| r.split_once("]:")) {
        Some((ip6, ports)) => (Some(ip6), ports),
        None => (None, rest),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (bracketed, parts.as_slice()) {
        (Some(i), [h, c]) => (i, *h, *c),
        (None, [c]) => ("", "", *c),
        (None, [h, c]) => ("", *h, *c),
        (None, [i, h, c]) => (*i, *h, *c),
        _ => return Err(format!("invalid port format for --publish: {spec}")),
    };
    let valid_ip = match bracketed {
        Some(_) => ip.parse::<std::net::Ipv6Addr>().is_ok(),
        None => ip.parse::<std::net::Ipv4Addr>().is_ok(),
    };
    if !ip.is_empty() && !valid_ip {
        return Err(format!("invalid IP address: {ip}"));
    }
    let range = |text: &str, what: &str| -> Result<(u16, u16), String> {
        let (lo, hi) = text.split_once('-').unwrap_or((text, text));
        let lo: u16 = lo.parse().map_err(|_| format!("invalid {what}: {text}"))?;
        let hi: u16 = hi.parse().map_err(|_| format!("invalid {what}: {text}"))?;
        if lo > hi || (what == "containerPort" && lo == 0) {
            return Err(format!("invalid {what}: {text}"));
        }
        Ok((lo, hi))
    };
    let (c_lo, c_hi) = range(container, "containerPort")?;
    let host_range = if host.is_empty() {
        None
    } else {
        Some(range(host, "hostPort")?)
    };
    let binding = |host_port: String| PortBinding {
        host_ip: ip.to_string(),
        host_port,
    };
    let mut out = Vec::new();
    match host_range {
        Some((h_lo, h_hi)) if c_lo != c_hi => {
            if h_hi - h_lo != c_hi - c_lo {
                return Err(format!(
                    "invalid ranges specified for container and host Ports: {container} and {host}"
                ));
            }
            for (i, port) in (c_lo..=c_hi).enumerate() {
                out.push((
                    format!("{port}/{proto}"),
                    binding((h_lo + i as u16).to_string()),
                ));
            }
        }
        Some((h_lo, h_hi)) => {
            let text = if h_lo == h_hi {
                h_lo.to_string()
            } else {
                format!("{h_lo}-{h_hi}")
            };
            out.push((format!("{c_lo}/{proto}"), binding(text)));
        }
        None => {
            for port in c_lo..=c_hi {
                out.push((format!("{port}/{proto}"), binding(String::new())));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: ip.into(),
            host_port: port.into(),
        }
    }

    #[test]
    fn port_specs_follow_docker() {
        assert_eq!(
            parse_publish("8080:80"),
            Ok(vec![("80/tcp".into(), binding("", "8080"))])
        );
        assert_eq!(
            parse_publish("127.0.0.1::53/UDP"),
            Ok(vec![("53/udp".into(), binding("127.0.0.1", ""))])
        );
        assert_eq!(
            parse_publish("8000-8001:80-81"),
            Ok(vec![
                ("80/tcp".into(), binding("", "8000")),
                ("81/tcp".into(), binding("", "8001")),
            ])
        );
        assert_eq!(
            parse_publish("8000-8010:80"),
            Ok(vec![("80/tcp".into(), binding("", "8000-8010"))])
        );
        assert_eq!(
            parse_publish("[::1]:8080:80"),
            Ok(vec![("80/tcp".into(), binding("::1", "8080"))])
        );
        assert_eq!(
            parse_publish("[fd00::1]::80/udp"),
            Ok(vec![("80/udp".into(), binding("fd00::1", ""))])
        );
        assert!(parse_publish("[10.0.0.1]:8080:80").is_err());
        assert!(parse_publish("::1:8080:80").is_err());
        assert_eq!(parse_publish("80/icmp"), Err("invalid proto: icmp".into()));
        assert_eq!(parse_publish("0"), Err("invalid containerPort: 0".into()));
        assert_eq!(
            parse_publish("8000-8002:80-81"),
            Err(
                "invalid ranges specified for container and host Ports: 80-81 and 8000-8002".into()
            )
        );
        assert_eq!(
            parse_publish("1:2:3:4"),
            Err("invalid port format for --publish: 1:2:3:4".into())
        );
    }
}
