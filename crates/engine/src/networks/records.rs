//! Network records: the rows, lookups by name, id or prefix, the default network (made on
//! first use), `network create`, and endpoint rows by network or container.

use std::net::IpAddr;

use berth_net::driver::DEFAULT_DRIVER;
use berth_net::driver::bridge::{
    OPTION_ENABLE_ICC, OPTION_ENABLE_MASQUERADE, OPTION_HOST_BINDING_IPV4, OPTION_MTU, OPTION_NAME,
    parse_bool,
};
use berth_net::ipam;
use ipnet::Ipv4Net;

use super::mode::Mode;
use super::{
    DEFAULT_NETWORK, EndpointRecord, Ipv6Pool, NetworkCreate, NetworkExtra, NetworkRecord, net_err,
};
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
        let auto_subnet = req.subnet.is_empty();
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
        let ipv6 = ipv6_pool(req, &id, &existing)?;
        let bridge = match (bridge, req.options.get(OPTION_NAME)) {
            (Some(bridge), _) => bridge,
            (None, Some(given)) => {
                if let Some(other) = existing.iter().find(|n| &n.bridge == given) {
                    return Err(Error::Conflict(format!(
                        "conflicts with network {} ({}): networks have same bridge name",
                        other.id, other.name
                    )));
                }
                if berth_net::netlink::link_exists(given) {
                    return Err(Error::Conflict(format!(
                        "bridge name {given} is already in use by another interface"
                    )));
                }
                given.clone()
            }
            (None, None) => format!("br-{}", &id[..12]),
        };
        let mut aux_addresses = std::collections::BTreeMap::new();
        for (name, text) in &req.aux_addresses {
            let ip: IpAddr = text.parse().map_err(|_| {
                Error::InvalidArgument(format!("invalid auxiliary address {name}={text}"))
            })?;
            let inside = match ip {
                IpAddr::V4(v4) => subnet.contains(&v4),
                IpAddr::V6(v6) => ipv6.as_ref().is_some_and(|p| p.subnet.contains(&v6)),
            };
            if !inside {
                return Err(Error::InvalidArgument(format!(
                    "no matching subnet for aux-address {ip}"
                )));
            }
            aux_addresses.insert(name.clone(), ip.to_string());
        }
        let extra = NetworkExtra {
            options: req.options.clone(),
            ipam_options: req.ipam_options.clone(),
            aux_addresses,
            ipv6,
            auto_subnet,
        };
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
            extra,
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
        check_driver_options(&req.options)?;
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

/// Checks the bridge driver's options Docker parses (others are stored and echoed as given).
fn check_driver_options(options: &std::collections::BTreeMap<String, String>) -> Result<(), Error> {
    for (key, value) in options {
        let valid = match key.as_str() {
            OPTION_ENABLE_ICC | OPTION_ENABLE_MASQUERADE => parse_bool(value).is_some(),
            OPTION_MTU => value.parse::<u32>().is_ok(),
            OPTION_HOST_BINDING_IPV4 => value.parse::<std::net::Ipv4Addr>().is_ok(),
            OPTION_NAME => {
                !value.is_empty()
                    && value.len() <= 15
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            }
            _ => true,
        };
        if !valid {
            return Err(Error::InvalidArgument(format!(
                "invalid value {value:?} for driver option {key}"
            )));
        }
    }
    Ok(())
}

/// The IPv6 pool of a dual-stack network: the given subnet (or a unique local /64 from the
/// network's id), checked against the other networks' pools. `None`: IPv4 only.
fn ipv6_pool(
    req: &NetworkCreate,
    id: &str,
    existing: &[NetworkRecord],
) -> Result<Option<Ipv6Pool>, Error> {
    if !req.enable_ipv6 && req.subnet6.is_empty() {
        return Ok(None);
    }
    let subnet = if req.subnet6.is_empty() {
        if !req.gateway6.is_empty() || !req.ip_range6.is_empty() {
            return Err(Error::InvalidArgument(
                "--gateway and --ip-range need --subnet".into(),
            ));
        }
        let bytes = hex::decode(&id[..14]).unwrap_or_default();
        let mut seed = [0u8; 7];
        seed.copy_from_slice(&bytes[..7]);
        ipam::ula_subnet(&seed).to_string()
    } else {
        req.subnet6.clone()
    };
    let (subnet, gateway, ip_range) =
        ipam::check_config6(&subnet, &req.gateway6, &req.ip_range6).map_err(net_err)?;
    if let Some(other) = existing.iter().find(|n| {
        n.extra.ipv6.as_ref().is_some_and(|p| {
            p.subnet.contains(&subnet.network()) || subnet.contains(&p.subnet.network())
        })
    }) {
        return Err(Error::Conflict(format!(
            "invalid pool request: Pool overlaps with other one on this address space ({} of network {})",
            subnet, other.name
        )));
    }
    Ok(Some(Ipv6Pool {
        subnet,
        gateway,
        ip_range,
    }))
}
