//! Berth's bridges beside a host firewall whose iptables `filter FORWARD` policy drops (what
//! dockerd does when it starts): nftables runs every base chain on a hook and a drop in any is
//! final, so berth's own table cannot let its traffic through. As Docker does for docker0,
//! each state root then owns one chain in iptables' filter table, jumped to from FORWARD,
//! that accepts its bridges' traffic: everything out of a bridge, and into it only replies and
//! published (DNATed) connections; internal networks only within their bridge. Isolation
//! between networks stays in berth's own table (its drops still win).
//!
//! Written with the `iptables` tools, not nft, so the rules stay in the format iptables-nft
//! (and dockerd through it) can read back. Nothing is touched on hosts whose FORWARD accepts.

use std::io::Write;
use std::process::{Command, Stdio};

use super::NetworkRule;
use crate::Error;

/// The chain of the state root whose nftables table is `table` ("berth-1a2b3c4d" ->
/// "BERTH-1a2b3c4d"; iptables allows 28 characters).
pub fn chain_name(table: &str) -> String {
    let suffix = table.strip_prefix("berth").unwrap_or(table);
    format!("BERTH{suffix}")
}

/// Whether iptables' `filter FORWARD` chain exists with a drop policy.
fn forward_policy_drops() -> bool {
    Command::new("nft")
        .args(["list", "chain", "ip", "filter", "FORWARD"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("policy drop")
        })
}

fn iptables(args: &[&str]) -> bool {
    Command::new("iptables")
        .arg("-w")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes `chain` accept exactly `networks`' traffic (and jump from FORWARD), or, with no
/// networks or a FORWARD that accepts anyway, removes it.
pub fn sync(chain: &str, networks: &[NetworkRule]) -> Result<(), Error> {
    let exists = iptables(&["-S", chain]);
    if networks.is_empty() || !forward_policy_drops() {
        if exists {
            remove(chain);
        }
        return Ok(());
    }
    let mut script = format!("*filter\n:{chain} - [0:0]\n");
    for n in networks {
        let br = &n.bridge;
        if n.internal {
            script += &format!("-A {chain} -i {br} -o {br} -j ACCEPT\n");
        } else {
            script += &format!("-A {chain} -i {br} -j ACCEPT\n");
            script += &format!(
                "-A {chain} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT\n"
            );
        }
    }
    script += "COMMIT\n";
    // --noflush: only this chain is (re)declared, which empties it first; one transaction.
    let mut child = Command::new("iptables-restore")
        .args(["-w", "--noflush"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("running iptables-restore", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| Error::io("writing to iptables-restore", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("running iptables-restore", e))?;
    if !out.status.success() {
        return Err(Error::Invalid(format!(
            "iptables-restore (chain {chain}): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    if !iptables(&["-C", "FORWARD", "-j", chain]) && !iptables(&["-I", "FORWARD", "-j", chain]) {
        return Err(Error::Invalid(format!(
            "iptables: could not add the jump from FORWARD to {chain}"
        )));
    }
    Ok(())
}

/// Removes the chain and every jump to it.
fn remove(chain: &str) {
    while iptables(&["-D", "FORWARD", "-j", chain]) {}
    iptables(&["-F", chain]);
    iptables(&["-X", chain]);
}
