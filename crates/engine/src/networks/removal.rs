//! Removing networks, kill-9 safe: `network rm` marks the row `removing` in the transaction
//! that checks for endpoints, then (under the host-wide lock, re-reading the row) the firewall
//! rules go, the bridge, and the row last; whoever comes next finishes a removal a killed
//! process left. Also `network prune` and the reclaiming of bridges no row names.

use berth_net::ipam;

use super::inspect::predefined_network;
use super::{DEFAULT_NETWORK, NetworkRecord, net_err};
use crate::store::NetworkRemoval;
use crate::{Engine, Error};

impl Engine {
    /// `network rm`: refused while a container is attached; deletes the bridge.
    pub fn remove_network(&self, name_or_id: &str) -> Result<(), Error> {
        self.repair();
        if let Some((name, _)) = predefined_network(name_or_id) {
            return Err(Error::Conflict(format!(
                "{name} is a pre-defined network and cannot be removed"
            )));
        }
        let rec = self.network(name_or_id)?;
        if rec.is_default() {
            return Err(Error::Conflict(format!(
                "{DEFAULT_NETWORK} is a pre-defined network and cannot be removed"
            )));
        }
        self.delete_network(&rec)?;
        self.reclaim_orphan_bridges();
        Ok(())
    }

    /// Removes a network with no endpoint: marks its row `removing` (in the transaction that
    /// checks for endpoints), then [`Engine::finish_network_removal`]. From the mark on, the
    /// removal is finished by whoever comes next if this process dies.
    fn delete_network(&self, rec: &NetworkRecord) -> Result<(), Error> {
        match self.db.mark_network_removing_if_unused(&rec.id)? {
            NetworkRemoval::Marked => {}
            NetworkRemoval::InUse => {
                return Err(Error::Conflict(format!(
                    "error while removing network: network {} id {} has active endpoints",
                    rec.name, rec.id
                )));
            }
            NetworkRemoval::Missing => {
                return Err(Error::NotFound(format!("network {} not found", rec.name)));
            }
        }
        self.object_event(
            "network",
            "destroy",
            &rec.id,
            &[("name", &rec.name), ("type", &rec.driver)],
        );
        self.finish_network_removal(rec, true)
    }

    /// The rest of a removal whose row is marked `removing`: its firewall rules, its bridge,
    /// then its row. Idempotent, and safe to run in several processes at once.
    /// `wait`: give the veths of just-removed containers (which vanish with their namespaces)
    /// up to 2 s to leave the bridge; without it, a bridge that still has ports is left for
    /// a later repair.
    fn finish_network_removal(&self, rec: &NetworkRecord, wait: bool) -> Result<(), Error> {
        let rounds = if wait { 100 } else { 0 };
        let driver = rec.driver();
        for _ in 0..rounds {
            if !driver.in_use(&rec.bridge) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if !wait && driver.in_use(&rec.bridge) {
            return Ok(());
        }
        // Under the lock bridges are made under, re-read: another process may have finished
        // this removal, and a new network may since have taken the bridge's name (the default
        // network's is fixed).
        let _lock = ipam::HostLock::acquire().map_err(net_err)?;
        let still_removing = self.db.network_is_removing(&rec.id)?;
        if !still_removing {
            return Ok(());
        }
        // The truth no longer lists a network being removed: its rules go.
        let _ = self.sync_firewall();
        driver.delete(&rec.bridge).map_err(net_err)?;
        if rec.is_default() {
            // The Kubernetes API's service rules lead to the pods behind this bridge, gone
            // now (best effort: the table exists only where the API ran).
            let _ = berth_net::firewall::services::remove(&rec.bridge);
        }
        self.db.delete_network(&rec.id)?;
        Ok(())
    }

    /// Repair: finishes the removals a killed process left (see [`Engine::delete_network`]).
    /// One query when there are none.
    pub(crate) fn finish_network_removals(&self, wait: bool) {
        let Ok(half_removed) = self.db.removing_networks() else {
            return;
        };
        for rec in half_removed {
            let _ = self.finish_network_removal(&rec, wait);
        }
    }

    /// Deletes the bridges this state root made that no row names (a network removed by an
    /// older berth killed halfway): the caller holds the [`ipam::HostLock`]. Bridges that
    /// still have ports are left alone.
    pub(super) fn reclaim_orphan_bridges_locked(&self) {
        // Bridges first, rows second: a bridge is made after its row and deleted before it,
        // so a bridge listed here whose row is missing below has none.
        // Only drivers that make networks leave host interfaces behind.
        let driver = berth_net::driver::default_driver();
        let bridges = driver.interfaces_of(&self.root);
        if bridges.is_empty() {
            return;
        }
        let Ok(rows) = self.db.all_networks() else {
            return;
        };
        let orphans: Vec<String> = bridges
            .into_iter()
            .filter(|b| !rows.iter().any(|r| &r.bridge == b) && !driver.in_use(b))
            .collect();
        if orphans.is_empty() {
            return;
        }
        for bridge in &orphans {
            let _ = driver.delete(bridge);
        }
        // Rules written for them (the table is rewritten from the truth anyway).
        let _ = self.sync_firewall();
    }

    /// [`Engine::reclaim_orphan_bridges_locked`], taking the lock.
    pub(super) fn reclaim_orphan_bridges(&self) {
        if let Ok(_lock) = ipam::HostLock::acquire() {
            self.reclaim_orphan_bridges_locked();
        }
    }

    /// `network prune`: removes the unused user-defined networks; returns their names.
    pub fn prune_networks(&self) -> Result<Vec<String>, Error> {
        self.prune_networks_filtered(&crate::prune_filters::PruneFilters::default())
    }

    /// `network prune --filter label=..|until=..`: only the unused networks passing `filters`.
    pub fn prune_networks_filtered(
        &self,
        filters: &crate::prune_filters::PruneFilters,
    ) -> Result<Vec<String>, Error> {
        self.repair();
        let mut removed = Vec::new();
        for rec in self.db.live_networks()? {
            if rec.is_default() || !self.network_endpoints(&rec.id)?.is_empty() {
                continue;
            }
            let created = chrono::DateTime::parse_from_rfc3339(&rec.created)
                .map(|t| t.timestamp())
                .unwrap_or(0);
            if !filters.matches(created, &rec.labels) {
                continue;
            }
            if self.delete_network(&rec).is_ok() {
                removed.push(rec.name);
            }
        }
        // Half-removed networks (their removal's process was killed), bridges of this root
        // without a row, and bridges of state roots that are gone hold subnets of the pools.
        self.finish_network_removals(true);
        self.reclaim_orphan_bridges();
        reclaim_stale_networks();
        Ok(removed)
    }

    /// Removes the default network's bridge of this state root when no container uses it
    /// (for tests and uninstall; Docker never removes docker0).
    pub fn remove_default_bridge(&self) -> Result<(), Error> {
        if let Some(rec) = self.db.live_network_by_name(DEFAULT_NETWORK)? {
            self.delete_network(&rec)?;
        }
        Ok(())
    }
}

/// Deletes networks' interfaces left by vanished state roots (see
/// `berth_net::netlink::stale_bridges`).
pub(super) fn reclaim_stale_networks() {
    let driver = berth_net::driver::default_driver();
    for (interface, root) in driver.stale_interfaces() {
        // The root's firewall table (its rules name the bridge) goes first.
        let _ = berth_net::firewall::Firewall::sync(&crate::ports::firewall_of(&root), &[], &[]);
        let _ = driver.delete(&interface);
    }
}
