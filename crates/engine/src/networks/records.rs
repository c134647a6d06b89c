//! Network records: the rows, lookups by name, id or prefix, the default network (made on
//! first use), `network create`, and endpoint rows by network or container.

use berth_net::driver::DEFAULT_DRIVER;
use berth_net::ipam;
use ipnet::Ipv4Net;

use super::mode::Mode;
use super::{DEFAULT_NETWORK, EndpointRecord, NetworkCreate, NetworkRecord, net_err};
use crate::{Engine, Error};

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
        let existing = self.db.all_networks()?;
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
        if !self.db.insert_network(&rec)? {
            return Err(Error::Conflict(format!(
                "network with name {} already exists",
                req.name
            )));
        }
        if let Err(e) = self.ensure_network(&rec) {
            // Whatever part of the bridge was made goes before its row.
            let deleted = rec.driver().delete(&rec.bridge);
            if deleted.is_ok() {
                let _ = self.db.delete_network(&rec.id);
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
    pub(crate) fn default_network(&self) -> Result<NetworkRecord, Error> {
        if let Some(rec) = self.db.live_network_by_name(DEFAULT_NETWORK)? {
            return Ok(rec);
        }
        let req = NetworkCreate {
            name: DEFAULT_NETWORK.into(),
            driver: DEFAULT_DRIVER.into(),
            ..Default::default()
        };
        match self.add_network(&req, Some(self.default_bridge_name())) {
            Err(Error::Conflict(_)) => self
                .db
                .live_network_by_name(DEFAULT_NETWORK)?
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
        if let Some(rec) = self.db.live_network_by_name(name_or_id)? {
            return Ok(rec);
        }
        let matches: Vec<NetworkRecord> =
            if name_or_id.chars().all(|c| c.is_ascii_hexdigit()) && !name_or_id.is_empty() {
                self.db.live_networks_by_id_prefix(name_or_id)?
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

    /// Every network, the default one included.
    pub fn networks(&self) -> Result<Vec<NetworkRecord>, Error> {
        self.repair();
        self.default_network()?;
        self.db.live_networks()
    }

    pub(crate) fn network_by_id(&self, id: &str) -> Option<NetworkRecord> {
        self.db.live_network_by_id(id).ok()?
    }

    /// The containers attached to a network (by lease).
    pub fn network_endpoints(&self, network_id: &str) -> Result<Vec<EndpointRecord>, Error> {
        self.db.network_endpoints(network_id)
    }

    pub fn container_endpoints(&self, container_id: &str) -> Result<Vec<EndpointRecord>, Error> {
        self.db.container_endpoints(container_id)
    }
}
