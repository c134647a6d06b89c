//! `--network`: one value's syntax (a name, or `name=NET,alias=A,...`) and the `NetworkMode`
//! that several of them make.

use crate::gofmt::go_quote;

/// One `--network` value: a name, or Docker's long form `name=NET,alias=A,...` (lower-cased, as
/// Docker does). Only the network's name is kept.
pub fn parse_network(value: &str) -> Result<String, String> {
    // Docker's test for the long form is the unanchored regexp `\w+=\w+(,\w+=\w+)*`.
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = value.as_bytes();
    let long = (1..bytes.len().saturating_sub(1))
        .any(|i| bytes[i] == b'=' && word(bytes[i - 1]) && word(bytes[i + 1]));
    if !long {
        return Ok(value.to_string());
    }
    let mut name = String::new();
    for field in value.split(',') {
        let lower = field.to_lowercase();
        let Some((key, val)) = lower.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(format!("invalid field {field}"));
        };
        match key.trim() {
            "name" => name = val.trim().to_string(),
            "alias" | "ip" | "ip6" | "mac-address" | "link-local-ip" | "driver-opt"
            | "gw-priority" => {}
            other => return Err(format!("invalid field key {other}")),
        }
    }
    if name.is_empty() {
        return Err("network name/id is not specified".into());
    }
    Ok(name)
}

/// HostConfig.NetworkMode from the `--network` flags (empty: the engine's default).
pub fn network_mode(networks: &[String]) -> Result<String, String> {
    let user_defined = |n: &str| {
        !matches!(n, "default" | "bridge" | "host" | "none") && !n.starts_with("container:")
    };
    if networks.iter().any(|n| user_defined(n)) && networks.iter().any(|n| !user_defined(n)) {
        return Err("conflicting options: cannot attach both user-defined and non-user-defined network-modes".into());
    }
    for (i, n) in networks.iter().enumerate() {
        if networks[..i].contains(n) {
            return Err(format!(
                "network {} is specified multiple times",
                go_quote(n)
            ));
        }
    }
    if networks.len() > 1 {
        return Err(
            "berth: connecting a container to more than one network is not supported yet".into(),
        );
    }
    Ok(networks.first().cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_values_follow_docker() {
        assert_eq!(parse_network("front"), Ok("front".into()));
        assert_eq!(parse_network("name=Front,alias=web"), Ok("front".into()));
        assert_eq!(
            parse_network("alias=web,x=1"),
            Err("invalid field key x".into())
        );
        assert_eq!(
            parse_network("alias=web"),
            Err("network name/id is not specified".into())
        );
        assert_eq!(network_mode(&[]), Ok(String::new()));
        assert_eq!(
            network_mode(&["a".into(), "host".into()]),
            Err("conflicting options: cannot attach both user-defined and non-user-defined network-modes".into())
        );
        assert_eq!(
            network_mode(&["a".into(), "a".into()]),
            Err("network \"a\" is specified multiple times".into())
        );
    }
}
