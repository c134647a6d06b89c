//! A container's endpoints: its network namespace (made by its mode's driver before the
//! container is created, released after its processes are gone: the kernel then removes its
//! veths), `network connect` / `disconnect`, create-time checks, and the repair of leases and
//! namespaces a killed process left.

use std::path::PathBuf;

use super::inspect::predefined_network;
use super::leases::{LeaseRequest, interface};
use super::mode::Mode;
use super::{hostname_of, net_err};
use crate::store::ContainerRecord;
use crate::{Engine, Error};

impl Engine {
    /// Checks a create request's network settings (the network exists, --ip fits it).
    pub(crate) fn check_container_network(
        &self,
        request: &crate::types::CreateRequest,
    ) -> Result<(), Error> {
        let mode = Mode::of(&request.host_config.network_mode);
        if let Some(other) = mode.container() {
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
        let Some(network) = mode.network() else {
            return Ok(());
        };
        let net = self.network(network)?;
        for (name, settings) in &request.networking_config.endpoints_config {
            // Each network's settings against that network (the primary one when the key
            // names none, as older clients key it by the mode).
            let target = match self.network(name) {
                Ok(other) if name != network => other,
                _ => net.clone(),
            };
            LeaseRequest::from_settings(&target, Some(settings))?;
        }
        Ok(())
    }

    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.run.join("netns").join(id)
    }

    /// Frees a removed container's ports, pinned namespace and leases, in that order: its
    /// addresses go back to the pool only once no DNAT rule leads to them. Ends with the
    /// firewall as the database says, waiting for its turn: a shim that dropped the ports and
    /// has yet to apply (or was killed before it could) leaves that to here, and the removal
    /// does not return with the container's rules still live.
    pub(crate) fn release_container_network(&self, id: &str) {
        self.unpublish_ports(id);
        self.settle_firewall();
        berth_net::netns::release(&self.netns_path(id));
        let _ = self.db.delete_container_endpoints(id);
    }

    /// Repair: frees leases of containers that no longer exist, and namespaces of containers
    /// that do not run (their shim died) or no longer exist.
    /// `live`: containers the caller just saw with a live shim (their netns files are skipped
    /// without a lookup; any other file is checked against the database before it goes).
    pub(crate) fn repair_networks(&self, live: &std::collections::HashSet<String>) {
        // Ports before leases: an address is free again only once no rule leads to it.
        self.repair_ports();
        let _ = self.db.delete_orphan_endpoints();
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
            if !self.holder_alive_now(&id) {
                berth_net::netns::release(&entry.path());
            }
        }
    }

    /// The container's network namespace, set up before it is created (by its shim): leases,
    /// the veth pair, addresses and routes; then its hosts, hostname and resolv.conf. Returns
    /// the namespace path for the OCI spec (`None`: the host's).
    pub(crate) fn prepare_container_network(
        &self,
        rec: &ContainerRecord,
        hostname: &str,
    ) -> Result<Option<PathBuf>, Error> {
        let mode = Mode::of(&rec.config.host_config.network_mode);
        if let Some(other) = mode.container() {
            // The other container's namespace, hosts, hostname and resolv.conf.
            let other = self.container(other)?;
            if !other.state.has_shim() {
                return Err(Error::Conflict(format!(
                    "cannot join network of a non running container: {}",
                    other.id
                )));
            }
            let path = self.netns_path(&other.id);
            return Ok(Some(if berth_net::netns::is_pinned(&path) {
                path
            } else {
                PathBuf::from(format!("/proc/{}/ns/net", other.pid))
            }));
        }
        let mut netns = None;
        if mode.has_endpoints() {
            let path = self.netns_path(&rec.id);
            if !berth_net::netns::is_pinned(&path) {
                // Host ports first: a taken one fails before anything exists. The primary
                // network says where ports without a host address go; an `--internal` one
                // publishes nothing (as dockerd).
                let primary = match self.container_endpoints(&rec.id)?.first() {
                    Some(ep) => self.network_by_id(&ep.network_id),
                    None => mode.network().and_then(|name| self.network(name).ok()),
                };
                let ports = match &primary {
                    Some(net) if net.internal => Vec::new(),
                    _ => self
                        .choose_ports(rec, primary.as_ref().and_then(|n| n.host_binding_ipv4()))?,
                };
                let endpoints = self.lease_all(rec)?;
                mode.driver().setup(&path, &endpoints).map_err(net_err)?;
                let first = &endpoints[0];
                if let Err(e) = self.publish_ports(
                    rec,
                    &ports,
                    first.address,
                    first.address6.map(|(ip6, _)| ip6),
                    &first.bridge,
                ) {
                    self.unpublish_ports(&rec.id);
                    berth_net::netns::release(&path);
                    return Err(e);
                }
            }
            netns = Some(path);
        } else if mode.driver().namespace() == berth_net::driver::Namespace::Loopback {
            // `--network none`: a namespace of its own with loopback up, as Docker's (a fresh
            // one from the runtime has lo down). Pinned like the others, so released with them.
            let path = self.netns_path(&rec.id);
            if !berth_net::netns::is_pinned(&path) {
                berth_net::netns::create(&path, &[]).map_err(net_err)?;
            }
            netns = Some(path);
        }
        self.write_network_files(rec, hostname)?;
        if mode.has_endpoints() {
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
        let owner = match Mode::of(&rec.config.host_config.network_mode).container() {
            Some(other) => self.container(other)?,
            None => rec.clone(),
        };
        let hostname = hostname_of(&owner);
        Ok((self.container_dir(&owner.id), hostname))
    }

    /// `network connect [--ip] [--ip6] [--alias] [--link-local-ip] NET CONTAINER` (and the API's
    /// EndpointConfig, MacAddress included): a lease now; an interface at once if the container
    /// runs, else when it starts.
    pub(crate) fn connect_network_unlogged(
        &self,
        network: &str,
        container: &str,
        settings: &crate::types::EndpointSettings,
    ) -> Result<(), Error> {
        self.repair();
        refuse_network_mode(network)?;
        let net = self.network(network)?;
        let rec = self.container(container)?;
        let mode = Mode::of(&rec.config.host_config.network_mode);
        if !mode.has_endpoints() {
            return Err(Error::Conflict(
                "container sharing network namespace with another container or host cannot be connected to any other network".into(),
            ));
        }
        let request = LeaseRequest::from_settings(&net, Some(settings))?;
        if !request.aliases.is_empty() && net.is_default() {
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
            if let Some(name) = mode.network() {
                let primary = self.network(name)?;
                if primary.id != net.id {
                    let settings = rec
                        .config
                        .networking_config
                        .endpoints_config
                        .get(&primary.name);
                    let primary_request = LeaseRequest::from_settings(&primary, settings)?;
                    existing.push(self.lease(&primary, &rec, &primary_request)?);
                }
            }
        }
        if let Some(limit) = self.sandbox_for(&rec).network_limit()
            && existing.len() >= limit
        {
            return Err(Error::Conflict(format!(
                "container {} is a micro-VM: its guest has {limit} network interface, already on network {}; it cannot join another",
                rec.name,
                existing
                    .first()
                    .and_then(|ep| self.network(&ep.network_id).ok())
                    .map(|on| on.name)
                    .unwrap_or_default()
            )));
        }
        let ep = self.lease(&net, &rec, &request)?;
        let path = self.netns_path(&rec.id);
        if rec.state.has_shim() && berth_net::netns::is_pinned(&path) {
            let endpoint = interface(&net, &ep, existing.len(), false);
            let attached = self
                .ensure_network(&net)
                .and_then(|_| net.driver().attach(&path, &endpoint).map_err(net_err));
            if let Err(e) = attached {
                let _ = self.db.delete_endpoint(&net.id, &rec.id);
                return Err(e);
            }
            self.write_network_files(&rec, &hostname_of(&rec))?;
            self.refresh_peers(&rec);
            if !net.is_default() {
                self.wake_for_dns(&rec);
            }
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
            let configured = Mode::of(&rec.config.host_config.network_mode)
                .network()
                .is_some_and(|name| self.network(name).is_ok_and(|primary| primary.id == net.id));
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
            net.driver()
                .detach(&path, &format!("eth{position}"))
                .map_err(net_err)?;
        }
        self.db.delete_endpoint(&net.id, &rec.id)?;
        if rec.state.has_shim() {
            self.write_network_files(&rec, &hostname_of(&rec))?;
            self.refresh_members(std::slice::from_ref(&net.id), &rec.id);
        }
        Ok(())
    }

    /// After the container's processes are gone: its namespace is released (the kernel removes
    /// its veths) and its peers forget it. Leases stay until the container is removed.
    pub(crate) fn teardown_container_network(&self, rec: &ContainerRecord) {
        self.unpublish_ports(&rec.id);
        berth_net::netns::release(&self.netns_path(&rec.id));
        if Mode::of(&rec.config.host_config.network_mode).has_endpoints() {
            let mut gone = rec.clone();
            gone.state = crate::types::State::Exited;
            gone.shim_pid = 0;
            self.refresh_peers(&gone);
        }
    }
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
