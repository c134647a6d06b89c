//! The contents of a container's /etc/hosts and /etc/resolv.conf, as Docker writes them, and
//! an in-place rewrite for files already bind-mounted into running containers.

use std::io::Write;
use std::path::Path;

use crate::Error;

/// One line of /etc/hosts beyond the standard ones.
pub struct HostEntry {
    pub address: String,
    pub names: Vec<String>,
}

/// /etc/hosts: Docker's standard block, the `--add-host` entries, then this container's own
/// address(es) with its hostname, then the peers on its user-defined networks.
pub fn hosts(extra: &[HostEntry], own: &[HostEntry], peers: &[HostEntry]) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for entry in extra.iter().chain(own).chain(peers) {
        out.push_str(&format!("{}\t{}\n", entry.address, entry.names.join(" ")));
    }
    out
}

/// /etc/resolv.conf from the host's: loopback nameservers dropped (unreachable from the
/// container), Docker's fallback 8.8.8.8/8.8.4.4 if none remains; `--dns`, `--dns-search` and
/// `--dns-option` replace the host's lines of their kind.
pub fn resolv_conf(host: &str, dns: &[String], search: &[String], options: &[String]) -> String {
    let mut nameservers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut opts: Vec<String> = Vec::new();
    let mut other = Vec::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ns) = words.next() {
                    let loopback = ns
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|a| a.is_loopback());
                    if !loopback {
                        nameservers.push(ns.to_string());
                    }
                }
            }
            Some("search") | Some("domain") => searches = words.map(str::to_string).collect(),
            Some("options") => opts.extend(words.map(str::to_string)),
            _ => other.push(line.to_string()),
        }
    }
    if !dns.is_empty() {
        nameservers = dns.to_vec();
    } else if nameservers.is_empty() {
        nameservers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    if !search.is_empty() {
        searches = search
            .iter()
            .filter(|s| s.as_str() != ".")
            .cloned()
            .collect();
    }
    if !options.is_empty() {
        opts = options.to_vec();
    }
    let mut out = String::new();
    for line in other
        .iter()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
    {
        out.push_str(line);
        out.push('\n');
    }
    for ns in &nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    if !opts.is_empty() {
        out.push_str(&format!("options {}\n", opts.join(" ")));
    }
    out
}

/// /etc/resolv.conf on a user-defined network, as Docker's: the embedded server
/// ([`crate::dns::ADDRESS`]) as the only nameserver, the host's (or `--dns-search`) search
/// domains, and `ndots:0` unless `--dns-option` sets ndots itself.
pub fn internal_resolv_conf(host: &str, search: &[String], options: &[String]) -> String {
    let searches: Vec<String> = if search.is_empty() {
        host.lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                matches!(words.next(), Some("search") | Some("domain"))
                    .then(|| words.map(str::to_string).collect::<Vec<_>>())
            })
            .next_back()
            .unwrap_or_default()
    } else {
        search
            .iter()
            .filter(|s| s.as_str() != ".")
            .cloned()
            .collect()
    };
    let mut opts = options.to_vec();
    if !opts.iter().any(|o| o.starts_with("ndots:")) {
        opts.push("ndots:0".into());
    }
    let mut out = String::new();
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    out.push_str(&format!("nameserver {}\n", crate::dns::ADDRESS));
    out.push_str(&format!("options {}\n", opts.join(" ")));
    out
}

/// Rewrites a file that may be bind-mounted into a running container: same inode (a rename
/// would leave the container with the old file), truncated and written in one go.
pub fn rewrite_in_place(path: &Path, content: &str) -> Result<(), Error> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    file.write_all(content.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_and_falls_back() {
        let host = "# generated\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0\n";
        let out = resolv_conf(host, &[], &[], &[]);
        assert_eq!(
            out,
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch corp.example\noptions edns0\n"
        );
        let out = resolv_conf("nameserver 127.0.0.1\nnameserver 10.0.0.2\n", &[], &[], &[]);
        assert_eq!(out, "nameserver 10.0.0.2\n");
    }

    #[test]
    fn resolv_conf_flags_replace_host_lines() {
        let out = resolv_conf(
            "nameserver 10.0.0.2\nsearch a\n",
            &["1.1.1.1".into()],
            &["b.example".into()],
            &["ndots:2".into()],
        );
        assert_eq!(
            out,
            "nameserver 1.1.1.1\nsearch b.example\noptions ndots:2\n"
        );
    }

    #[test]
    fn internal_resolv_conf_names_the_embedded_server() {
        let host = "nameserver 127.0.0.53\nsearch corp.example\n";
        assert_eq!(
            internal_resolv_conf(host, &[], &[]),
            "search corp.example\nnameserver 127.0.0.11\noptions ndots:0\n"
        );
        assert_eq!(
            internal_resolv_conf(host, &["b.example".into()], &["ndots:2".into()]),
            "search b.example\nnameserver 127.0.0.11\noptions ndots:2\n"
        );
    }

    #[test]
    fn hosts_lists_own_and_peers() {
        let own = [HostEntry {
            address: "172.18.0.2".into(),
            names: vec!["abc".into()],
        }];
        let peers = [HostEntry {
            address: "172.18.0.3".into(),
            names: vec!["web".into(), "www".into()],
        }];
        let out = hosts(&[], &own, &peers);
        assert!(out.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(out.ends_with("172.18.0.2\tabc\n172.18.0.3\tweb www\n"));
    }
}
