//! Network records: the rows, lookups by name, id or prefix, the default network (made on
//! first use), `network create`, and endpoint rows by network or container.

use std::net::Ipv4Addr;

use berth_net::driver::DEFAULT_DRIVER;
use berth_net::ipam;
use ipnet::Ipv4Net;
use rusqlite::params;

use super::mode::Mode;
use super::{DEFAULT_NETWORK, EndpointRecord, NetworkCreate, NetworkRecord, net_err};
use crate::db::db_err;
use crate::{Engine, Error};

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

pub(super) fn row_to_endpoint(row: &rusqlite::Row<'_>) -> rusqlite::Result<EndpointRecord> {
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

fn random_id() -> String {
    let mut bytes = [0u8; 32];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    hex::encode(bytes)
}

impl Engine {
    /// The default bridge's interface name: Docker's is docker0; berth's is berth0 for the
    /// default state root, and one per other root (tests run many roots side by side).
    pub(super) fn default_bridge_name(&self) -> String {
        if self.root == std::path::Path::new("/var/lib/berth") {
            return "berth0".into();
        }
        use sha2::Digest;
        let hash = hex::encode(sha2::Sha256::digest(
            self.root.as_os_str().as_encoded_bytes(),
        ));
        format!("berth-{}", &hash[..8])
    }

    /// The networks (not being removed) matching `condition` (an SQL condition on `?1` =
    /// `value`; "" for all).
    pub(super) fn network_rows(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<Vec<NetworkRecord>, Error> {
        let filter = if condition.is_empty() {
            "WHERE removing = 0".to_string()
        } else {
            format!("WHERE removing = 0 AND ({condition})")
        };
        self.query_networks(&filter, value)
    }

    /// Every row, those being removed included (their bridges still hold their subnets).
    pub(super) fn all_network_rows(&self) -> Result<Vec<NetworkRecord>, Error> {
        self.query_networks("", "")
    }

    pub(super) fn query_networks(
        &self,
        filter: &str,
        value: &str,
    ) -> Result<Vec<NetworkRecord>, Error> {
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
    pub(super) fn add_network(
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
                    super::removal::reclaim_stale_networks();
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
                DEFAULT_DRIVER.into()
            } else {
                req.driver.clone()
            },
            subnet,
            gateway,
            ip_range: range,
            internal: req.internal,
            bridge,
            labels: req.labels.clone(),
            created: crate::clock::now(),
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
        if let Err(e) = self.ensure_network(&rec) {
            // Whatever part of the bridge was made goes before its row.
            let deleted = rec.driver().delete(&rec.bridge);
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

    /// Makes the network's bridge (through its driver), or completes one a killed process
    /// left half made.
    pub(super) fn ensure_network(&self, rec: &NetworkRecord) -> Result<(), Error> {
        rec.driver()
            .create(&rec.config(), &self.root)
            .map_err(net_err)
    }

    /// The default network, made on first use.
    pub(super) fn default_network(&self) -> Result<NetworkRecord, Error> {
        if let Some(rec) = self.network_rows("name = ?1", DEFAULT_NETWORK)?.pop() {
            return Ok(rec);
        }
        let req = NetworkCreate {
            name: DEFAULT_NETWORK.into(),
            driver: DEFAULT_DRIVER.into(),
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
        if berth_net::driver::network_driver(&req.driver).is_none() {
            return Err(Error::NotFound(format!(
                "plugin \"{}\" not found",
                req.driver
            )));
        }
        if req.name == DEFAULT_NETWORK
            || req.name == "default"
            || Mode::of(&req.name).predefined().is_some()
        {
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

    pub(super) fn network_by_id(&self, id: &str) -> Option<NetworkRecord> {
        self.network_rows("id = ?1", id).ok()?.pop()
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
}
