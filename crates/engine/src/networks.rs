//! Networks (Docker's bridge driver) and containers' endpoints in them: the records, the
//! persistent IPAM (one row per lease; `UNIQUE(network_id, ip)` means an address is never
//! handed out twice), the `network` verbs, and each container's network namespace, set up by
//! its shim before the container is created and released after its processes are gone.
//!
//! The default network `bridge` exists implicitly (made on first use). It does not resolve
//! container names; user-defined networks do, through each container's /etc/hosts, which is
//! rewritten in place when a peer joins or leaves.
//!
//! A network's row outlives its bridge, so that a killed process never leaves a bridge (and its
//! subnet) nobody knows of: `network create` inserts the row, then makes the bridge (a row
//! whose bridge is missing or half made gets it completed on next use); `network rm` marks the
//! row `removing` (in the transaction that checks it has no endpoint: no lease is taken on it
//! from then on), deletes the firewall rules and the bridge, and deletes the row last. A
//! removal killed halfway is finished by the next command's repair. Bridges that carry this
//! state root's name but have no row (left by older versions) are reclaimed by `network
//! prune`, `create` and `rm`. Bridges are created and deleted under the host-wide
//! [`ipam::HostLock`].

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_net::ipam;
use ipnet::Ipv4Net;
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use crate::db::ContainerRecord;
use crate::db::{db_err, immediate};
use crate::{Engine, Error};

/// Docker's name for the default network.
pub const DEFAULT_NETWORK: &str = "bridge";

/// The host's network and no network, with their drivers. Docker lists and inspects them, but
/// they are modes, not records: nothing to create, connect, disconnect or remove.
const PREDEFINED_NETWORKS: [(&str, &str); 2] = [("host", "host"), ("none", "null")];

/// One row of the networks table.
#[derive(Debug, Clone)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub ip_range: Option<Ipv4Net>,
    pub internal: bool,
    pub bridge: String,
    pub labels: BTreeMap<String, String>,
    pub created: String,
}

/// `network create` settings, as Docker's `POST /networks/create` carries them.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreate {
    pub name: String,
    pub driver: String,
    pub subnet: String,
    pub gateway: String,
    pub ip_range: String,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
}

/// A container's lease in one network.
#[derive(Debug, Clone)]
pub struct EndpointRecord {
    pub network_id: String,
    pub container_id: String,
    pub ip: Ipv4Addr,
    pub mac: String,
    pub aliases: Vec<String>,
}

fn net_err(e: berth_net::Error) -> Error {
    match e {
        berth_net::Error::Invalid(m) => Error::InvalidArgument(m),
        other => Error::Internal(other.to_string()),
    }
}

const NETWORK_COLUMNS: &str =
    "id, name, driver, subnet, gateway, ip_range, internal, bridge, labels, created";

fn row_to_network(row: &rusqlite::Row<'_>) -> rusqlite::Result<NetworkRecord> {
    let subnet: String = row.get(3)?;
    let gateway: String = row.get(4)?;
    let range: String = row.get(5)?;
    let labels: String = row.get(8)?;
    Ok(NetworkRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        driver: row.get(2)?,
        subnet: subnet.parse().unwrap_or_default(),
        gateway: gateway.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        ip_range: range.parse().ok(),
        internal: row.get::<_, i64>(6)? != 0,
        bridge: row.get(7)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        created: row.get(9)?,
    })
}

fn row_to_endpoint(row: &rusqlite::Row<'_>) -> rusqlite::Result<EndpointRecord> {
    let ip: String = row.get(2)?;
    let aliases: String = row.get(4)?;
    Ok(EndpointRecord {
        network_id: row.get(0)?,
        container_id: row.get(1)?,
        ip: ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        mac: row.get(3)?,
        aliases: serde_json::from_str(&aliases).unwrap_or_default(),
    })
}

/// Whether a network mode names a bridge network (the default or a user-defined one).
fn is_bridge_mode(mode: &str) -> bool {
    !matches!(mode, "host" | "none") && !mode.starts_with("container:")
}

/// The network a container's NetworkMode names ("" and "default" are the default bridge).
fn mode_network(mode: &str) -> &str {
    match mode {
        "" | "default" => DEFAULT_NETWORK,
        other => other,
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 32];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    hex::encode(bytes)
}

impl Engine {
    /// The default bridge's interface name: Docker's is docker0; berth's is berth0 for the
    /// default state root, and one per other root (tests run many roots side by side).
    fn default_bridge_name(&self) -> String {
        if self.root == std::path::Path::new("/var/lib/berth") {
            return "berth0".into();
        }
        use sha2::Digest;
        let hash = hex::encode(sha2::Sha256::digest(
            self.root.as_os_str().as_encoded_bytes(),
        ));
        format!("berth-{}", &hash[..8])
    }

    fn netns_path(&self, id: &str) -> PathBuf {
        self.run.join("netns").join(id)
    }

    /// The networks (not being removed) matching `condition` (an SQL condition on `?1` =
    /// `value`; "" for all).
    fn network_rows(&self, condition: &str, value: &str) -> Result<Vec<NetworkRecord>, Error> {
        let filter = if condition.is_empty() {
            "WHERE removing = 0".to_string()
        } else {
            format!("WHERE removing = 0 AND ({condition})")
        };
        self.query_networks(&filter, value)
    }

    /// Every row, those being removed included (their bridges still hold their subnets).
    fn all_network_rows(&self) -> Result<Vec<NetworkRecord>, Error> {
        self.query_networks("", "")
    }

    fn query_networks(&self, filter: &str, value: &str) -> Result<Vec<NetworkRecord>, Error> {
        let sql = format!("SELECT {NETWORK_COLUMNS} FROM networks {filter} ORDER BY created, id");
        let mut stmt = self.db.conn().prepare_cached(&sql).map_err(db_err)?;
        let rows = if !filter.contains("?1") {
            stmt.query_map([], row_to_network)
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
        } else {
            stmt.query_map([value], row_to_network)
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
        };
        rows.map_err(db_err)
    }

    /// Inserts a network row and creates its bridge, under the host-wide lock so that two
    /// state roots never take the same subnet. The row goes first: a kill between the two
    /// leaves a network whose bridge is made on first use, never a bridge without a row.
    fn add_network(
        &self,
        req: &NetworkCreate,
        bridge: Option<String>,
    ) -> Result<NetworkRecord, Error> {
        // Half-removed networks still hold their names and subnets.
        self.finish_network_removals(false);
        let _lock = ipam::HostLock::acquire().map_err(net_err)?;
        self.reclaim_orphan_bridges_locked();
        let existing = self.all_network_rows()?;
        if existing.iter().any(|n| n.name == req.name) {
            return Err(Error::Conflict(format!(
                "network with name {} already exists",
                req.name
            )));
        }
        let (subnet, gateway, range) = if req.subnet.is_empty() {
            if !req.gateway.is_empty() || !req.ip_range.is_empty() {
                return Err(Error::InvalidArgument(
                    "--gateway and --ip-range need --subnet".into(),
                ));
            }
            let taken: Vec<Ipv4Net> = existing.iter().map(|n| n.subnet).collect();
            let subnet = match ipam::pick_subnet(&taken) {
                Ok(subnet) => subnet,
                Err(_) => {
                    // The pools may be held by bridges of state roots that are gone (a
                    // killed test): reclaim those, then look again.
                    reclaim_stale_bridges();
                    ipam::pick_subnet(&taken).map_err(net_err)?
                }
            };
            (subnet, ipam::default_gateway(&subnet), None)
        } else {
            let parsed =
                ipam::check_config(&req.subnet, &req.gateway, &req.ip_range).map_err(net_err)?;
            if let Some(other) = existing
                .iter()
                .find(|n| ipam::overlaps(&n.subnet, &parsed.0))
            {
                return Err(Error::Conflict(format!(
                    "invalid pool request: Pool overlaps with other one on this address space ({} of network {})",
                    other.subnet, other.name
                )));
            }
            parsed
        };
        let id = random_id();
        let bridge = bridge.unwrap_or_else(|| format!("br-{}", &id[..12]));
        let rec = NetworkRecord {
            id,
            name: req.name.clone(),
            driver: if req.driver.is_empty() {
                "bridge".into()
            } else {
                req.driver.clone()
            },
            subnet,
            gateway,
            ip_range: range,
            internal: req.internal,
            bridge,
            labels: req.labels.clone(),
            created: crate::containers::now(),
        };
        self.db
            .conn()
            .execute(
                &format!("INSERT INTO networks ({NETWORK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![
                    rec.id,
                    rec.name,
                    rec.driver,
                    rec.subnet.to_string(),
                    rec.gateway.to_string(),
                    rec.ip_range.map(|r| r.to_string()).unwrap_or_default(),
                    rec.internal as i64,
                    rec.bridge,
                    serde_json::to_string(&rec.labels).unwrap_or_default(),
                    rec.created
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    Error::Conflict(format!("network with name {} already exists", req.name))
                }
                other => db_err(other),
            })?;
        if let Err(e) = self.ensure_bridge(&rec) {
            // Whatever part of the bridge was made goes before its row.
            let deleted = berth_net::netlink::Netlink::open()
                .and_then(|mut nl| nl.delete_bridge(&rec.bridge));
            if deleted.is_ok() {
                let _ = self
                    .db
                    .conn()
                    .execute("DELETE FROM networks WHERE id = ?1", [&rec.id]);
            }
            return Err(e);
        }
        // Masquerade and isolation rules; best effort (without `nft`, containers still reach
        // each other and the host).
        let _ = self.sync_firewall();
        Ok(rec)
    }

    /// Makes the network's bridge, or completes one a killed process left half made.
    fn ensure_bridge(&self, rec: &NetworkRecord) -> Result<(), Error> {
        if berth_net::netlink::bridge_ready(&rec.bridge) {
            return Ok(());
        }
        let mut nl = berth_net::netlink::Netlink::open().map_err(net_err)?;
        nl.ensure_bridge(
            &rec.bridge,
            rec.gateway,
            rec.subnet.prefix_len(),
            &self.root,
        )
        .map_err(net_err)
    }

    /// The default network, made on first use.
    fn default_network(&self) -> Result<NetworkRecord, Error> {
        if let Some(rec) = self.network_rows("name = ?1", DEFAULT_NETWORK)?.pop() {
            return Ok(rec);
        }
        let req = NetworkCreate {
            name: DEFAULT_NETWORK.into(),
            driver: "bridge".into(),
            ..Default::default()
        };
        match self.add_network(&req, Some(self.default_bridge_name())) {
            Err(Error::Conflict(_)) => self
                .network_rows("name = ?1", DEFAULT_NETWORK)?
                .pop()
                .ok_or_else(|| Error::Internal("the default network vanished".into())),
            other => other,
        }
    }

    /// `network create`: returns the new network's id.
    pub(crate) fn create_network_unlogged(&self, req: NetworkCreate) -> Result<String, Error> {
        if !req.driver.is_empty() && req.driver != "bridge" {
            return Err(Error::NotFound(format!(
                "plugin \"{}\" not found",
                req.driver
            )));
        }
        if matches!(req.name.as_str(), "bridge" | "host" | "none" | "default") {
            return Err(Error::Conflict(format!(
                "operation is not permitted on predefined {} network ",
                req.name
            )));
        }
        if req.name.is_empty() || !crate::names::valid_name(&req.name) {
            return Err(Error::InvalidArgument(format!(
                "invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                req.name
            )));
        }
        Ok(self.add_network(&req, None)?.id)
    }

    /// A network by name, full id or unique id prefix (the default network is made if asked for).
    pub fn network(&self, name_or_id: &str) -> Result<NetworkRecord, Error> {
        if name_or_id == DEFAULT_NETWORK {
            return self.default_network();
        }
        if let Some(rec) = self.network_rows("name = ?1", name_or_id)?.pop() {
            return Ok(rec);
        }
        let matches: Vec<NetworkRecord> =
            if name_or_id.chars().all(|c| c.is_ascii_hexdigit()) && !name_or_id.is_empty() {
                self.network_rows("id LIKE ?1 || '%'", name_or_id)?
            } else {
                Vec::new()
            };
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one match")),
            0 => Err(Error::NotFound(format!("network {name_or_id} not found"))),
            _ => Err(Error::Conflict(format!(
                "network {name_or_id} is ambiguous ({} matches found based on ID prefix)",
                matches.len()
            ))),
        }
    }

    /// Every network record, without making the default one.
    pub(crate) fn network_records(&self) -> Result<Vec<NetworkRecord>, Error> {
        self.network_rows("", "")
    }

    /// Every network, the default one included.
    pub fn networks(&self) -> Result<Vec<NetworkRecord>, Error> {
        self.repair();
        self.default_network()?;
        self.network_rows("", "")
    }

    fn endpoints_where(&self, column: &str, value: &str) -> Result<Vec<EndpointRecord>, Error> {
        let sql = format!(
            "SELECT network_id, container_id, ip, mac, aliases FROM endpoints WHERE {column} = ?1 ORDER BY rowid"
        );
        let mut stmt = self.db.conn().prepare(&sql).map_err(db_err)?;
        let rows = stmt
            .query_map([value], row_to_endpoint)
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>();
        rows.map_err(db_err)
    }

    /// The containers attached to a network (by lease).
    pub fn network_endpoints(&self, network_id: &str) -> Result<Vec<EndpointRecord>, Error> {
        self.endpoints_where("network_id", network_id)
    }

    pub fn container_endpoints(&self, container_id: &str) -> Result<Vec<EndpointRecord>, Error> {
        self.endpoints_where("container_id", container_id)
    }

    /// `network rm`: refused while a container is attached; deletes the bridge.
    pub fn remove_network(&self, name_or_id: &str) -> Result<(), Error> {
        self.repair();
        if let Some((name, _)) = predefined_network(name_or_id) {
            return Err(Error::Conflict(format!(
                "{name} is a pre-defined network and cannot be removed"
            )));
        }
        let rec = self.network(name_or_id)?;
        if rec.name == DEFAULT_NETWORK {
            return Err(Error::Conflict(
                "bridge is a pre-defined network and cannot be removed".into(),
            ));
        }
        self.delete_network(&rec)?;
        self.reclaim_orphan_bridges();
        Ok(())
    }

    /// Removes a network with no endpoint: marks its row `removing` (in the transaction that
    /// checks for endpoints), then [`Engine::finish_network_removal`]. From the mark on, the
    /// removal is finished by whoever comes next if this process dies.
    fn delete_network(&self, rec: &NetworkRecord) -> Result<(), Error> {
        {
            let tx = immediate(self.db.conn())?;
            let attached: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM endpoints WHERE network_id = ?1",
                    [&rec.id],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if attached > 0 {
                return Err(Error::Conflict(format!(
                    "error while removing network: network {} id {} has active endpoints",
                    rec.name, rec.id
                )));
            }
            let marked = tx
                .execute(
                    "UPDATE networks SET removing = 1 WHERE id = ?1 AND removing = 0",
                    [&rec.id],
                )
                .map_err(db_err)?;
            if marked == 0 {
                return Err(Error::NotFound(format!("network {} not found", rec.name)));
            }
            tx.commit().map_err(db_err)?;
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
        for _ in 0..rounds {
            if !berth_net::netlink::bridge_has_ports(&rec.bridge) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if !wait && berth_net::netlink::bridge_has_ports(&rec.bridge) {
            return Ok(());
        }
        // Under the lock bridges are made under, re-read: another process may have finished
        // this removal, and a new network may since have taken the bridge's name (the default
        // network's is fixed).
        let _lock = ipam::HostLock::acquire().map_err(net_err)?;
        let still_removing: bool = self
            .db
            .conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM networks WHERE id = ?1 AND removing = 1)",
                [&rec.id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if !still_removing {
            return Ok(());
        }
        // The truth no longer lists a network being removed: its rules go.
        let _ = self.sync_firewall();
        berth_net::netlink::Netlink::open()
            .and_then(|mut nl| nl.delete_bridge(&rec.bridge))
            .map_err(net_err)?;
        self.db
            .conn()
            .execute("DELETE FROM networks WHERE id = ?1", [&rec.id])
            .map_err(db_err)?;
        Ok(())
    }

    /// Repair: finishes the removals a killed process left (see [`Engine::delete_network`]).
    /// One query when there are none.
    pub(crate) fn finish_network_removals(&self, wait: bool) {
        let Ok(half_removed) = self.query_networks("WHERE removing = 1", "") else {
            return;
        };
        for rec in half_removed {
            let _ = self.finish_network_removal(&rec, wait);
        }
    }

    /// Deletes the bridges this state root made that no row names (a network removed by an
    /// older berth killed halfway): the caller holds the [`ipam::HostLock`]. Bridges that
    /// still have ports are left alone.
    fn reclaim_orphan_bridges_locked(&self) {
        // Bridges first, rows second: a bridge is made after its row and deleted before it,
        // so a bridge listed here whose row is missing below has none.
        let bridges = berth_net::netlink::bridges_of(&self.root);
        if bridges.is_empty() {
            return;
        }
        let Ok(rows) = self.all_network_rows() else {
            return;
        };
        let orphans: Vec<String> = bridges
            .into_iter()
            .filter(|b| {
                !rows.iter().any(|r| &r.bridge == b) && !berth_net::netlink::bridge_has_ports(b)
            })
            .collect();
        if orphans.is_empty() {
            return;
        }
        if let Ok(mut nl) = berth_net::netlink::Netlink::open() {
            for bridge in &orphans {
                let _ = nl.delete_bridge(bridge);
            }
        }
        // Rules written for them (the table is rewritten from the truth anyway).
        let _ = self.sync_firewall();
    }

    /// [`Engine::reclaim_orphan_bridges_locked`], taking the lock.
    fn reclaim_orphan_bridges(&self) {
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
        for rec in self.network_rows("", "")? {
            if rec.name == DEFAULT_NETWORK || !self.network_endpoints(&rec.id)?.is_empty() {
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
        reclaim_stale_bridges();
        Ok(removed)
    }

    /// Removes the default network's bridge of this state root when no container uses it
    /// (for tests and uninstall; Docker never removes docker0).
    pub fn remove_default_bridge(&self) -> Result<(), Error> {
        if let Some(rec) = self.network_rows("name = ?1", DEFAULT_NETWORK)?.pop() {
            self.delete_network(&rec)?;
        }
        Ok(())
    }

    /// Docker's network inspect document.
    pub fn inspect_network(&self, name_or_id: &str) -> Result<serde_json::Value, Error> {
        self.repair();
        if let Some((name, driver)) = predefined_network(name_or_id) {
            return self.inspect_predefined_network(name, driver);
        }
        let rec = self.network(name_or_id)?;
        let mut containers = serde_json::Map::new();
        for ep in self.network_endpoints(&rec.id)? {
            let Some(c) = self.db.container(&ep.container_id)? else {
                continue;
            };
            containers.insert(
                c.id.clone(),
                json!({
                    "Name": c.name,
                    "EndpointID": endpoint_id(&ep),
                    "MacAddress": ep.mac,
                    "IPv4Address": format!("{}/{}", ep.ip, rec.subnet.prefix_len()),
                    "IPv6Address": "",
                }),
            );
        }
        let mut ipam_config =
            json!({"Subnet": rec.subnet.to_string(), "Gateway": rec.gateway.to_string()});
        if let Some(range) = rec.ip_range {
            ipam_config["IPRange"] = json!(range.to_string());
        }
        // Docker lists driver options only as given (compose recreates a network whose
        // options differ from its file's), so a user network's bridge is named apart.
        let mut options = serde_json::Map::new();
        if rec.name == DEFAULT_NETWORK {
            options.insert("com.docker.network.bridge.name".into(), json!(rec.bridge));
            options.insert(
                "com.docker.network.bridge.default_bridge".into(),
                json!("true"),
            );
        }
        Ok(json!({
            "Name": rec.name,
            "Id": rec.id,
            "Created": rec.created,
            "Scope": "local",
            "Driver": rec.driver,
            "EnableIPv4": true,
            "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Options": {}, "Config": [ipam_config]},
            "Internal": rec.internal,
            "Attachable": false,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": containers,
            "Options": options,
            "Labels": rec.labels,
            "BerthBridge": rec.bridge,
        }))
    }

    /// `host` or `none` as Docker inspects them: the running containers in that mode, no IPAM.
    fn inspect_predefined_network(
        &self,
        name: &str,
        driver: &str,
    ) -> Result<serde_json::Value, Error> {
        let mut containers = serde_json::Map::new();
        for c in self.db.containers_with_shim()? {
            if c.config.host_config.network_mode == name {
                containers.insert(
                    c.id.clone(),
                    json!({"Name": c.name, "EndpointID": "", "MacAddress": "",
                           "IPv4Address": "", "IPv6Address": ""}),
                );
            }
        }
        // Docker makes them when the daemon first starts, with its default bridge.
        let created = self.default_network()?.created;
        Ok(json!({
            "Name": name,
            "Id": predefined_network_id(name),
            "Created": created,
            "Scope": "local",
            "Driver": driver,
            "EnableIPv4": true,
            "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Options": null, "Config": []},
            "Internal": false,
            "Attachable": false,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": containers,
            "Options": {},
            "Labels": {},
        }))
    }

    /// Whether a network passes one `filters` entry of `network ls` / `GET /networks`
    /// (name: substring, id: prefix, label: key or key=value, driver, type: custom|builtin,
    /// dangling: no container attached). An unknown key is an error naming it.
    fn network_matches_filter(
        &self,
        net: &FilterSubject<'_>,
        key: &str,
        value: &str,
    ) -> Result<bool, Error> {
        Ok(match key {
            "name" => net.name.contains(value),
            "id" => net.id.starts_with(value),
            "driver" => net.driver == value,
            "scope" => value == "local",
            "type" => match value {
                "builtin" => net.builtin,
                "custom" => !net.builtin,
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "invalid filter: 'type'='{value}'"
                    )));
                }
            },
            "label" => match value.split_once('=') {
                Some((k, v)) => net.labels.get(k).is_some_and(|have| have == v),
                None => net.labels.contains_key(value),
            },
            "dangling" => {
                let dangling = match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(Error::InvalidArgument(format!(
                            "invalid filter 'dangling={value}'"
                        )));
                    }
                };
                let unused = !net.builtin && self.network_endpoints(net.id)?.is_empty();
                unused == dangling
            }
            _ => return Err(Error::InvalidArgument(format!("invalid filter '{key}'"))),
        })
    }

    /// The networks passing every filter key (values of one key are alternatives), as
    /// Docker's inspect documents, sorted by name; `host` and `none` included, as Docker has them.
    pub fn list_networks(
        &self,
        filters: &[(String, String)],
    ) -> Result<Vec<serde_json::Value>, Error> {
        let records = self.networks()?;
        let no_labels = BTreeMap::new();
        let predefined: Vec<(String, &str, &str)> = PREDEFINED_NETWORKS
            .iter()
            .map(|&(name, driver)| (predefined_network_id(name), name, driver))
            .collect();
        let subjects = records
            .iter()
            .map(|rec| FilterSubject {
                id: &rec.id,
                name: &rec.name,
                driver: &rec.driver,
                labels: &rec.labels,
                builtin: rec.name == DEFAULT_NETWORK,
            })
            .chain(predefined.iter().map(|(id, name, driver)| FilterSubject {
                id,
                name,
                driver,
                labels: &no_labels,
                builtin: true,
            }));
        let mut keys: Vec<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut docs = Vec::new();
        for net in subjects {
            let mut pass = true;
            for &key in &keys {
                // Label values must all match; other keys' values are alternatives.
                let mut any = false;
                let mut all = true;
                for (_, value) in filters.iter().filter(|(k, _)| k == key) {
                    let hit = self.network_matches_filter(&net, key, value)?;
                    any |= hit;
                    all &= hit;
                }
                pass &= if key == "label" { all } else { any };
            }
            if pass {
                docs.push(self.inspect_network(net.id)?);
            }
        }
        docs.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
        Ok(docs)
    }

    /// Checks a create request's network settings (the network exists, --ip fits it).
    pub(crate) fn check_container_network(
        &self,
        request: &crate::types::CreateRequest,
    ) -> Result<(), Error> {
        let mode = request.host_config.network_mode.as_str();
        if let Some(other) = mode.strip_prefix("container:") {
            // Docker's conflicts: these would describe a namespace the container does not own.
            let conflict = |what: &str| {
                Err(Error::InvalidArgument(format!(
                    "conflicting options: {what} and the network mode"
                )))
            };
            if !request.config.hostname.is_empty() {
                return conflict("hostname");
            }
            if request
                .host_config
                .dns
                .as_ref()
                .is_some_and(|d| !d.is_empty())
            {
                return conflict("dns");
            }
            if request
                .host_config
                .extra_hosts
                .as_ref()
                .is_some_and(|h| !h.is_empty())
            {
                return conflict("custom host-to-IP mapping");
            }
            if !request.config.mac_address.is_empty() {
                return conflict("mac-address");
            }
            if request.host_config.publish_all_ports
                || request
                    .host_config
                    .port_bindings
                    .as_ref()
                    .is_some_and(|p| !p.is_empty())
            {
                return Err(Error::InvalidArgument(
                    "conflicting options: port publishing and the container type network mode"
                        .into(),
                ));
            }
            self.container(other)?;
            return Ok(());
        }
        if !is_bridge_mode(mode) {
            return Ok(());
        }
        let net = self.network(mode_network(mode))?;
        for settings in request.networking_config.endpoints_config.values() {
            if let Some(ip) = settings
                .ipam_config
                .as_ref()
                .map(|c| c.ipv4_address.as_str())
                .filter(|s| !s.is_empty())
            {
                let ip: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| Error::InvalidArgument(format!("invalid IPv4 address: {ip}")))?;
                if net.name == DEFAULT_NETWORK {
                    return Err(Error::InvalidArgument(
                        "user specified IP address is supported on user defined networks only"
                            .into(),
                    ));
                }
                if !net.subnet.contains(&ip) {
                    return Err(Error::InvalidArgument(format!(
                        "no configured subnet contains IP address {ip}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Leases an address in `net` for a container (or returns its lease): the requested one,
    /// or the lowest free one. One transaction.
    pub(crate) fn lease(
        &self,
        net: &NetworkRecord,
        rec: &ContainerRecord,
        requested: Option<Ipv4Addr>,
        aliases: &[String],
    ) -> Result<EndpointRecord, Error> {
        let conn = self.db.conn();
        conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
        let result = (|| {
            // A removal marks the row in the transaction that checks for endpoints: after the
            // mark, no lease; before it, the removal sees this one and is refused.
            let usable: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM networks WHERE id = ?1 AND removing = 0)",
                    [&net.id],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if !usable {
                return Err(Error::NotFound(format!("network {} not found", net.name)));
            }
            let existing = conn
                .query_row(
                    "SELECT network_id, container_id, ip, mac, aliases FROM endpoints WHERE network_id = ?1 AND container_id = ?2",
                    params![net.id, rec.id],
                    row_to_endpoint,
                )
                .optional()
                .map_err(db_err)?;
            if let Some(ep) = existing {
                return Ok(ep);
            }
            let mut stmt = conn
                .prepare("SELECT ip FROM endpoints WHERE network_id = ?1")
                .map_err(db_err)?;
            let used: HashSet<Ipv4Addr> = stmt
                .query_map([&net.id], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .filter_map(|r| r.ok()?.parse().ok())
                .collect();
            let ip = match requested {
                Some(ip) if used.contains(&ip) || ip == net.gateway => {
                    return Err(Error::Conflict(format!(
                        "Address already in use: {ip} in network {}",
                        net.name
                    )));
                }
                Some(ip) => ip,
                None => ipam::next_free(&net.subnet, net.ip_range.as_ref(), net.gateway, &used)
                    .ok_or_else(|| {
                        Error::Conflict(format!(
                            "no available IPv4 addresses on network {}",
                            net.name
                        ))
                    })?,
            };
            let mac = match rec.config.config.mac_address.as_str() {
                "" => berth_net::format_mac(&berth_net::mac_for(ip)),
                given => given.to_ascii_lowercase(),
            };
            let ep = EndpointRecord {
                network_id: net.id.clone(),
                container_id: rec.id.clone(),
                ip,
                mac,
                aliases: aliases.to_vec(),
            };
            conn.execute(
                "INSERT INTO endpoints (network_id, container_id, ip, mac, aliases) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![ep.network_id, ep.container_id, ep.ip.to_string(), ep.mac, serde_json::to_string(&ep.aliases).unwrap_or_default()],
            )
            .map_err(db_err)?;
            Ok(ep)
        })();
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        conn.execute_batch(end).map_err(db_err)?;
        result
    }

    /// Frees a removed container's ports, pinned namespace and leases, in that order: its
    /// addresses go back to the pool only once no DNAT rule leads to them. Ends with the
    /// firewall as the database says (a shim killed between dropping its ports and applying
    /// that is made good here).
    pub(crate) fn release_container_network(&self, id: &str) {
        self.unpublish_ports(id);
        berth_net::netns::release(&self.netns_path(id));
        let _ = self
            .db
            .conn()
            .execute("DELETE FROM endpoints WHERE container_id = ?1", [id]);
        self.converge_firewall();
    }

    /// Repair: frees leases of containers that no longer exist, and namespaces of containers
    /// that do not run (their shim died) or no longer exist.
    /// `live`: containers the caller just saw with a live shim (their netns files are skipped
    /// without a lookup; any other file is checked against the database before it goes).
    pub(crate) fn repair_networks(&self, live: &std::collections::HashSet<String>) {
        // Ports before leases: an address is free again only once no rule leads to it.
        self.repair_ports();
        let _ = self.db.conn().execute(
            "DELETE FROM endpoints WHERE container_id NOT IN (SELECT id FROM containers)",
            [],
        );
        self.finish_network_removals(false);
        self.converge_firewall();
        let Ok(entries) = std::fs::read_dir(self.run.join("netns")) else {
            return;
        };
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().to_string();
            if live.contains(&id) {
                continue;
            }
            // Re-read: a container that started after the caller's snapshot is live too.
            let live = match self.db.container(&id) {
                Ok(Some(rec)) => {
                    rec.shim_pid != 0 && crate::proc::alive(rec.shim_pid, rec.shim_start)
                }
                Ok(None) => false,
                Err(_) => true,
            };
            if !live {
                berth_net::netns::release(&entry.path());
            }
        }
    }

    /// The container's network namespace, set up before it is created (by its shim): leases,
    /// the veth pair, addresses and routes; then its hosts, hostname and resolv.conf. Returns
    /// the namespace path for the OCI spec (`None`: a fresh loopback-only one, or the host's).
    pub(crate) fn prepare_container_network(
        &self,
        rec: &ContainerRecord,
        hostname: &str,
    ) -> Result<Option<PathBuf>, Error> {
        let hc = &rec.config.host_config;
        let mode = hc.network_mode.as_str();
        let mut netns = None;
        if let Some(other) = mode.strip_prefix("container:") {
            let other = self.container(other)?;
            if !other.state.has_shim() {
                return Err(Error::Conflict(format!(
                    "cannot join network of a non running container: {}",
                    other.id
                )));
            }
            let path = self.netns_path(&other.id);
            netns = Some(if berth_net::netns::is_pinned(&path) {
                path
            } else {
                PathBuf::from(format!("/proc/{}/ns/net", other.pid))
            });
        } else if is_bridge_mode(mode) {
            let path = self.netns_path(&rec.id);
            if !berth_net::netns::is_pinned(&path) {
                // Host ports first: a taken one fails before anything exists.
                let ports = self.choose_ports(rec)?;
                let endpoints = self.lease_all(rec)?;
                berth_net::netns::create(&path, &endpoints).map_err(net_err)?;
                if let Err(e) =
                    self.publish_ports(rec, &ports, endpoints[0].address, &endpoints[0].bridge)
                {
                    self.unpublish_ports(&rec.id);
                    berth_net::netns::release(&path);
                    return Err(e);
                }
            }
            netns = Some(path);
        }
        if !mode.starts_with("container:") {
            self.write_network_files(rec, hostname)?;
        }
        if is_bridge_mode(mode) {
            self.refresh_peers(rec);
        }
        Ok(netns)
    }

    /// Whose hosts, hostname and resolv.conf a container sees, and its hostname: its own, or
    /// with `--network container:NAME` the other container's (as Docker shares them).
    pub(crate) fn network_identity(
        &self,
        rec: &ContainerRecord,
    ) -> Result<(PathBuf, String), Error> {
        let owner = match rec
            .config
            .host_config
            .network_mode
            .strip_prefix("container:")
        {
            Some(other) => self.container(other)?,
            None => rec.clone(),
        };
        let hostname = match owner.config.config.hostname.as_str() {
            "" => owner.id[..12].to_string(),
            given => given.to_string(),
        };
        Ok((self.container_dir(&owner.id), hostname))
    }

    fn network_by_id(&self, id: &str) -> Option<NetworkRecord> {
        self.network_rows("id = ?1", id).ok()?.pop()
    }

    /// Leases addresses in the container's networks and describes its interfaces: the
    /// networks it has leases in (`network connect`), in order, or else its NetworkMode's.
    fn lease_all(&self, rec: &ContainerRecord) -> Result<Vec<berth_net::Endpoint>, Error> {
        let mut nets: Vec<NetworkRecord> = self
            .container_endpoints(&rec.id)?
            .iter()
            .filter_map(|ep| self.network_by_id(&ep.network_id))
            .collect();
        if nets.is_empty() {
            nets.push(self.network(mode_network(&rec.config.host_config.network_mode))?);
        }
        let mut out = Vec::new();
        for (i, net) in nets.iter().enumerate() {
            let settings = rec.config.networking_config.endpoints_config.get(&net.name);
            let requested = settings
                .and_then(|s| s.ipam_config.as_ref())
                .map(|c| c.ipv4_address.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<Ipv4Addr>()
                        .map_err(|_| Error::InvalidArgument(format!("invalid IPv4 address: {s}")))
                })
                .transpose()?;
            let aliases = settings.and_then(|s| s.aliases.clone()).unwrap_or_default();
            // The lease first: it fails on a network being removed, whose bridge must not
            // be made again.
            let ep = self.lease(net, rec, requested, &aliases)?;
            self.ensure_bridge(net)?;
            out.push(berth_net::Endpoint {
                bridge: net.bridge.clone(),
                interface: format!("eth{i}"),
                address: ep.ip,
                prefix_len: net.subnet.prefix_len(),
                gateway: (i == 0 && !net.internal).then_some(net.gateway),
                mac: berth_net::parse_mac(&ep.mac).unwrap_or_else(|| berth_net::mac_for(ep.ip)),
            });
        }
        Ok(out)
    }

    /// Writes hosts, hostname and resolv.conf for a container.
    fn write_network_files(&self, rec: &ContainerRecord, hostname: &str) -> Result<(), Error> {
        let dir = self.container_dir(&rec.id);
        let hc = &rec.config.host_config;
        let write = |name: &str, data: &str| {
            berth_net::files::rewrite_in_place(&dir.join(name), data).map_err(net_err)
        };
        write("hosts", &self.hosts_file(rec, hostname)?)?;
        write("hostname", &format!("{hostname}\n"))?;
        let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let none = Vec::new();
        let resolv = berth_net::files::resolv_conf(
            &host,
            hc.dns.as_ref().unwrap_or(&none),
            hc.dns_search.as_ref().unwrap_or(&none),
            hc.dns_options.as_ref().unwrap_or(&none),
        );
        write("resolv.conf", &resolv)
    }

    /// A container's /etc/hosts: its own addresses, `--add-host` entries, and on user-defined
    /// networks the other running containers by name, short id and alias.
    fn hosts_file(&self, rec: &ContainerRecord, hostname: &str) -> Result<String, Error> {
        use berth_net::files::HostEntry;
        let mut extra = Vec::new();
        for line in rec.config.host_config.extra_hosts.iter().flatten() {
            let Some((name, ip)) = line.split_once([':', '=']) else {
                continue;
            };
            let ip = if ip == "host-gateway" {
                self.default_network()?.gateway.to_string()
            } else {
                ip.to_string()
            };
            extra.push(HostEntry {
                address: ip,
                names: vec![name.to_string()],
            });
        }
        let mine = self.container_endpoints(&rec.id)?;
        let mut own: Vec<HostEntry> = mine
            .iter()
            .map(|ep| HostEntry {
                address: ep.ip.to_string(),
                names: vec![hostname.to_string()],
            })
            .collect();
        if own.is_empty() && rec.config.host_config.network_mode != "host" {
            own.push(HostEntry {
                address: "127.0.0.1".into(),
                names: vec![hostname.to_string()],
            });
        }
        let mut peers = Vec::new();
        for ep in &mine {
            let Ok(Some(net)) = self
                .network_rows("id = ?1", &ep.network_id)
                .map(|mut v| v.pop())
            else {
                continue;
            };
            if net.name == DEFAULT_NETWORK {
                continue;
            }
            for other in self.network_endpoints(&net.id)? {
                if other.container_id == rec.id {
                    continue;
                }
                let Some(peer) = self.db.container(&other.container_id)? else {
                    continue;
                };
                let active = peer.state.has_shim()
                    || (peer.shim_pid != 0 && crate::proc::alive(peer.shim_pid, peer.shim_start));
                if !active {
                    continue;
                }
                let mut names = vec![peer.name.clone(), peer.id[..12].to_string()];
                names.extend(other.aliases.iter().cloned());
                peers.push(HostEntry {
                    address: other.ip.to_string(),
                    names,
                });
            }
        }
        Ok(berth_net::files::hosts(&extra, &own, &peers))
    }

    /// Rewrites the hosts files of the running containers sharing a user-defined network with
    /// `rec` (it joined or left), in place: they are bind-mounted into those containers.
    pub(crate) fn refresh_peers(&self, rec: &ContainerRecord) {
        let Ok(mine) = self.container_endpoints(&rec.id) else {
            return;
        };
        let ids: Vec<String> = mine.into_iter().map(|ep| ep.network_id).collect();
        self.refresh_members(&ids, &rec.id);
    }

    /// Rewrites the hosts files of the running containers in `networks`, except `skip`.
    fn refresh_members(&self, networks: &[String], skip: &str) {
        let mut done = HashSet::new();
        for network_id in networks {
            // Nobody's hosts file names its peers on the default network: nothing to rewrite
            // (and no O(containers) work per run there).
            if self
                .network_by_id(network_id)
                .is_none_or(|n| n.name == DEFAULT_NETWORK)
            {
                continue;
            }
            let Ok(others) = self.network_endpoints(network_id) else {
                continue;
            };
            for other in others {
                if other.container_id == skip || !done.insert(other.container_id.clone()) {
                    continue;
                }
                let Ok(Some(peer)) = self.db.container(&other.container_id) else {
                    continue;
                };
                if !peer.state.has_shim() {
                    continue;
                }
                let hostname = if peer.config.config.hostname.is_empty() {
                    peer.id[..12].to_string()
                } else {
                    peer.config.config.hostname.clone()
                };
                if let Ok(text) = self.hosts_file(&peer, &hostname) {
                    let _ = berth_net::files::rewrite_in_place(
                        &self.container_dir(&peer.id).join("hosts"),
                        &text,
                    );
                }
            }
        }
    }

    /// `network connect [--ip] [--alias] NET CONTAINER`: a lease now; an interface at once if
    /// the container runs, else when it starts.
    pub(crate) fn connect_network_unlogged(
        &self,
        network: &str,
        container: &str,
        ip: Option<&str>,
        aliases: &[String],
    ) -> Result<(), Error> {
        self.repair();
        refuse_network_mode(network)?;
        let net = self.network(network)?;
        let rec = self.container(container)?;
        let mode = rec.config.host_config.network_mode.clone();
        if !is_bridge_mode(&mode) {
            return Err(Error::Conflict(
                "container sharing network namespace with another container or host cannot be connected to any other network".into(),
            ));
        }
        let requested = match ip {
            Some(ip) if !ip.is_empty() => {
                let ip: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| Error::InvalidArgument(format!("invalid IPv4 address: {ip}")))?;
                if !net.subnet.contains(&ip) {
                    return Err(Error::InvalidArgument(format!(
                        "no configured subnet contains IP address {ip}"
                    )));
                }
                Some(ip)
            }
            _ => None,
        };
        if !aliases.is_empty() && net.name == DEFAULT_NETWORK {
            return Err(Error::InvalidArgument(
                "network-scoped alias is supported only for containers in user defined networks"
                    .into(),
            ));
        }
        let mut existing = self.container_endpoints(&rec.id)?;
        if existing.iter().any(|ep| ep.network_id == net.id) {
            return Err(Error::Conflict(format!(
                "endpoint with name {} already exists in network {}",
                rec.name, net.name
            )));
        }
        if existing.is_empty() {
            // Its own network stays first (eth0, the default route).
            let primary = self.network(mode_network(&mode))?;
            if primary.id != net.id {
                existing.push(self.lease(&primary, &rec, None, &[])?);
            }
        }
        let ep = self.lease(&net, &rec, requested, aliases)?;
        let path = self.netns_path(&rec.id);
        if rec.state.has_shim() && berth_net::netns::is_pinned(&path) {
            let endpoint = berth_net::Endpoint {
                bridge: net.bridge.clone(),
                interface: format!("eth{}", existing.len()),
                address: ep.ip,
                prefix_len: net.subnet.prefix_len(),
                gateway: None,
                mac: berth_net::parse_mac(&ep.mac).unwrap_or_else(|| berth_net::mac_for(ep.ip)),
            };
            let attached = self
                .ensure_bridge(&net)
                .and_then(|_| berth_net::netns::attach(&path, &endpoint).map_err(net_err));
            if let Err(e) = attached {
                let _ = self.db.conn().execute(
                    "DELETE FROM endpoints WHERE network_id = ?1 AND container_id = ?2",
                    [&net.id, &rec.id],
                );
                return Err(e);
            }
            let hostname = if rec.config.config.hostname.is_empty() {
                rec.id[..12].to_string()
            } else {
                rec.config.config.hostname.clone()
            };
            self.write_network_files(&rec, &hostname)?;
            self.refresh_peers(&rec);
        }
        Ok(())
    }

    /// `network disconnect NET CONTAINER`: the lease goes; a running container's interface is
    /// moved into a throwaway namespace that the kernel then removes (no veth is deleted).
    pub(crate) fn disconnect_network_unlogged(
        &self,
        network: &str,
        container: &str,
    ) -> Result<(), Error> {
        self.repair();
        refuse_network_mode(network)?;
        let net = self.network(network)?;
        let rec = self.container(container)?;
        let endpoints = self.container_endpoints(&rec.id)?;
        let Some(position) = endpoints.iter().position(|ep| ep.network_id == net.id) else {
            // A container that never ran has no lease yet, only the network it was created on
            // (compose disconnects and reconnects it to set its aliases): nothing to undo.
            let configured = is_bridge_mode(&rec.config.host_config.network_mode)
                && self
                    .network(mode_network(&rec.config.host_config.network_mode))
                    .is_ok_and(|primary| primary.id == net.id);
            if endpoints.is_empty() && !rec.state.has_shim() && configured {
                return Ok(());
            }
            return Err(Error::Conflict(format!(
                "container {} is not connected to network {}",
                rec.id, net.name
            )));
        };
        let path = self.netns_path(&rec.id);
        if rec.state.has_shim() && berth_net::netns::is_pinned(&path) {
            berth_net::netns::detach(&path, &format!("eth{position}")).map_err(net_err)?;
        }
        self.db
            .conn()
            .execute(
                "DELETE FROM endpoints WHERE network_id = ?1 AND container_id = ?2",
                [&net.id, &rec.id],
            )
            .map_err(db_err)?;
        if rec.state.has_shim() {
            let hostname = if rec.config.config.hostname.is_empty() {
                rec.id[..12].to_string()
            } else {
                rec.config.config.hostname.clone()
            };
            self.write_network_files(&rec, &hostname)?;
            self.refresh_members(std::slice::from_ref(&net.id), &rec.id);
        }
        Ok(())
    }

    /// After the container's processes are gone: its namespace is released (the kernel removes
    /// its veths) and its peers forget it. Leases stay until the container is removed.
    pub(crate) fn teardown_container_network(&self, rec: &ContainerRecord) {
        self.unpublish_ports(&rec.id);
        berth_net::netns::release(&self.netns_path(&rec.id));
        if is_bridge_mode(&rec.config.host_config.network_mode) {
            let mut gone = rec.clone();
            gone.state = crate::types::State::Exited;
            gone.shim_pid = 0;
            self.refresh_peers(&gone);
        }
    }

    /// Docker's NetworkSettings for container inspect.
    /// The `Ports` list and `NetworkSettings` of a `GET /containers/json` row (what `docker ps`
    /// shows under PORTS and NETWORKS), from the same data as inspect's NetworkSettings.
    pub fn container_list_networking(
        &self,
        rec: &ContainerRecord,
    ) -> (serde_json::Value, serde_json::Value) {
        let settings = self.network_settings(rec);
        let mut ports = Vec::new();
        for (key, bindings) in settings["Ports"].as_object().into_iter().flatten() {
            let (number, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let private: u16 = number.parse().unwrap_or(0);
            match bindings.as_array() {
                Some(list) if !list.is_empty() => {
                    for b in list {
                        let public: u16 = b["HostPort"]
                            .as_str()
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(0);
                        let ip = b["HostIp"]
                            .as_str()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or("0.0.0.0");
                        ports.push(json!({"IP": ip, "PrivatePort": private, "PublicPort": public, "Type": proto}));
                    }
                }
                _ => ports.push(json!({"PrivatePort": private, "Type": proto})),
            }
        }
        (
            serde_json::Value::Array(ports),
            json!({"Networks": settings["Networks"]}),
        )
    }

    pub(crate) fn network_settings(&self, rec: &ContainerRecord) -> serde_json::Value {
        let running = rec.state.has_shim();
        let mut networks = serde_json::Map::new();
        let mut primary =
            json!({"Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""});
        let mode = rec.config.host_config.network_mode.as_str();
        if !is_bridge_mode(mode) {
            let name = if mode.starts_with("container:") {
                None
            } else {
                Some(mode)
            };
            if let Some(name) = name {
                networks.insert(name.into(), json!({"IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""}));
            }
        }
        for (i, ep) in self
            .container_endpoints(&rec.id)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let Ok(Some(net)) = self
                .network_rows("id = ?1", &ep.network_id)
                .map(|mut v| v.pop())
            else {
                continue;
            };
            let (ip, gw, prefix, mac) = if running {
                (
                    ep.ip.to_string(),
                    net.gateway.to_string(),
                    net.subnet.prefix_len(),
                    ep.mac.clone(),
                )
            } else {
                (String::new(), String::new(), 0, String::new())
            };
            let requested = rec
                .config
                .networking_config
                .endpoints_config
                .get(&net.name)
                .and_then(|s| s.ipam_config.clone());
            networks.insert(
                net.name.clone(),
                json!({
                    "IPAMConfig": requested.map(|c| json!({"IPv4Address": c.ipv4_address})),
                    "Links": null,
                    "Aliases": if ep.aliases.is_empty() { serde_json::Value::Null } else { json!(ep.aliases) },
                    "MacAddress": mac,
                    "NetworkID": net.id,
                    "EndpointID": if running { endpoint_id(ep) } else { String::new() },
                    "Gateway": gw,
                    "IPAddress": ip,
                    "IPPrefixLen": prefix,
                    "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                    "DNSNames": if net.name == DEFAULT_NETWORK { serde_json::Value::Null } else { json!([rec.name, rec.id[..12]]) },
                }),
            );
            if i == 0 {
                primary = json!({"Gateway": gw, "IPAddress": ip, "IPPrefixLen": prefix, "MacAddress": mac});
            }
        }
        if networks.is_empty() && is_bridge_mode(mode) {
            // Not started yet: no lease, but the network it will join, as Docker shows it.
            if let Ok(net) = self.network(mode_network(mode)) {
                networks.insert(net.name.clone(), json!({
                    "IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "",
                    "NetworkID": net.id, "EndpointID": "", "Gateway": "", "IPAddress": "",
                    "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                }));
            }
        }
        let mut ports = serde_json::Map::new();
        if running {
            for key in rec
                .config
                .config
                .exposed_ports
                .iter()
                .flatten()
                .map(|(k, _)| k)
            {
                ports.insert(key.clone(), serde_json::Value::Null);
            }
            for p in self.published_ports(&rec.id) {
                let entry = ports
                    .entry(p.container_port.clone())
                    .or_insert_with(|| json!([]));
                if entry.is_null() {
                    *entry = json!([]);
                }
                if let Some(list) = entry.as_array_mut() {
                    list.push(json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}));
                }
            }
        }
        json!({
            "Bridge": "", "SandboxID": "", "HairpinMode": false, "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0, "Ports": ports,
            "SandboxKey": if running && is_bridge_mode(mode) { self.netns_path(&rec.id).display().to_string() } else { String::new() },
            "Gateway": primary["Gateway"], "IPAddress": primary["IPAddress"], "IPPrefixLen": primary["IPPrefixLen"],
            "MacAddress": primary["MacAddress"],
            "Networks": networks,
        })
    }
}

/// Deletes bridges left by vanished state roots (see `berth_net::netlink::stale_bridges`).
fn reclaim_stale_bridges() {
    let stale = berth_net::netlink::stale_bridges();
    if stale.is_empty() {
        return;
    }
    if let Ok(mut nl) = berth_net::netlink::Netlink::open() {
        for (bridge, root) in stale {
            // The root's firewall table (its rules name the bridge) goes first.
            let _ =
                berth_net::firewall::Firewall::sync(&crate::ports::firewall_of(&root), &[], &[]);
            let _ = nl.delete_bridge(&bridge);
        }
    }
}

/// A stable id for an endpoint (Docker's is random; ours is derived from the lease).
fn endpoint_id(ep: &EndpointRecord) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!(
        "{}/{}",
        ep.network_id, ep.container_id
    )))
}

/// What `network ls` filters look at, for records and the predefined networks alike.
struct FilterSubject<'a> {
    id: &'a str,
    name: &'a str,
    driver: &'a str,
    labels: &'a BTreeMap<String, String>,
    /// bridge, host and none: never dangling, `type=builtin`.
    builtin: bool,
}

/// A stable id for a predefined network (the same on every machine, as names are).
fn predefined_network_id(name: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!(
        "berth predefined network {name}"
    )))
}

/// `connect`/`disconnect` of `host` or `none`: they are network modes, not networks.
fn refuse_network_mode(network: &str) -> Result<(), Error> {
    match predefined_network(network) {
        Some((name, _)) => Err(Error::Conflict(format!(
            "container cannot be connected to or disconnected from the {name} network: it is a network mode (--network {name})"
        ))),
        None => Ok(()),
    }
}

/// `host` or `none` (by name, or by id or the short id `network ls` shows) with its driver.
fn predefined_network(name_or_id: &str) -> Option<(&'static str, &'static str)> {
    PREDEFINED_NETWORKS.iter().copied().find(|&(name, _)| {
        name_or_id == name
            || (name_or_id.len() >= 12
                && name_or_id.chars().all(|c| c.is_ascii_hexdigit())
                && predefined_network_id(name).starts_with(name_or_id))
    })
}
