//! Docker's container links (`--link NAME[:ALIAS]`, HostConfig.Links): checked and stored as
//! "NAME:ALIAS" on create; on the default bridge the legacy forms (a hosts entry, the
//! `ALIAS_NAME`/`ALIAS_PORT_*`/`ALIAS_ENV_*` variables); on user-defined networks the alias
//! resolves through the embedded DNS ([`super::dns`]); shown as "/NAME:/ME/ALIAS" by inspect;
//! removed by `rm --link ME/ALIAS`.

use berth_net::files::HostEntry;

use super::mode::Mode;
use crate::store::ContainerRecord;
use crate::types::CreateRequest;
use crate::{Engine, Error};

/// dockerd's refusal of links with the host's network.
const HOST_AND_LINKS: &str = "conflicting options: host type networking can't be used with links. This would result in undefined behavior";

/// A link as any client writes it ("web", "web:db", "/web:/me/db") -> (target, alias).
pub(crate) fn parse(link: &str) -> Option<(String, String)> {
    let (target, alias) = link.split_once(':').unwrap_or((link, link));
    let target = target.trim_start_matches('/');
    let alias = alias.rsplit('/').next().unwrap_or(alias);
    (!target.is_empty() && !alias.is_empty()).then(|| (target.to_string(), alias.to_string()))
}

/// Docker's inspect form of a stored link of container `me`.
pub(crate) fn display(link: &str, me: &str) -> String {
    match parse(link) {
        Some((target, alias)) => format!("/{target}:/{me}/{alias}"),
        None => link.to_string(),
    }
}

/// HostConfig.Links as dockerd's inspect shows them: the legacy links as "/NAME:/ME/ALIAS";
/// `None` (null) on a user-defined network, whose links show on its endpoint.
pub(crate) fn host_config_links(rec: &ContainerRecord) -> Option<Vec<String>> {
    let links = rec.config.host_config.links.as_ref()?;
    if user_defined(&rec.config.host_config.network_mode) || links.is_empty() {
        return None;
    }
    Some(links.iter().map(|l| display(l, &rec.name)).collect())
}

/// An endpoint's Links in inspect, on a user-defined network: its own (EndpointConfig.Links),
/// else for the container's own network `--link`'s, as given.
pub(crate) fn endpoint_links(
    rec: &ContainerRecord,
    network: &super::NetworkRecord,
) -> Option<Vec<String>> {
    if network.is_default() {
        return None;
    }
    let endpoints = &rec.config.networking_config.endpoints_config;
    let own = endpoints
        .get(&network.name)
        .or_else(|| endpoints.get(&network.id))
        .and_then(|s| s.links.clone());
    let primary = Mode::of(&rec.config.host_config.network_mode).network() == Some(&network.name);
    own.or_else(|| {
        primary
            .then(|| rec.config.host_config.links.clone())
            .flatten()
    })
    .filter(|l| !l.is_empty())
}

/// Whether a network mode names a user-defined network (links there are DNS names only).
fn user_defined(network_mode: &str) -> bool {
    Mode::of(network_mode)
        .network()
        .is_some_and(|n| n != super::DEFAULT_NETWORK)
}

/// Docker's environment for one legacy link: `ALIAS_PORT`, `ALIAS_PORT_<port>_<PROTO>` and its
/// `_ADDR`/`_PORT`/`_PROTO`, `ALIAS_NAME=/me/alias`, `ALIAS_ENV_<var>` for the target's
/// variables (HOME and PATH aside).
fn link_env(me: &str, alias: &str, target: &ContainerRecord, address: &str) -> Vec<String> {
    let prefix = alias.to_ascii_uppercase().replace('-', "_");
    let mut ports: Vec<(u16, String)> = target
        .config
        .config
        .exposed_ports
        .iter()
        .flatten()
        .filter_map(|(port, _)| {
            let (number, proto) = port.split_once('/').unwrap_or((port, "tcp"));
            Some((number.parse().ok()?, proto.to_string()))
        })
        .collect();
    ports.sort();
    let mut env = Vec::new();
    if let Some((port, proto)) = ports.first() {
        env.push(format!("{prefix}_PORT={proto}://{address}:{port}"));
    }
    for (port, proto) in &ports {
        let key = format!("{prefix}_PORT_{port}_{}", proto.to_ascii_uppercase());
        env.push(format!("{key}={proto}://{address}:{port}"));
        env.push(format!("{key}_ADDR={address}"));
        env.push(format!("{key}_PORT={port}"));
        env.push(format!("{key}_PROTO={proto}"));
    }
    env.push(format!("{prefix}_NAME=/{me}/{alias}"));
    for var in target.config.config.env.iter().flatten() {
        let Some((key, value)) = var.split_once('=') else {
            continue;
        };
        if key != "HOME" && key != "PATH" {
            env.push(format!("{prefix}_ENV_{key}={value}"));
        }
    }
    env
}

impl Engine {
    /// Checks a create request's links (each target exists) and stores them as
    /// "NAME:ALIAS" with the target's own name, as dockerd refuses a missing one.
    /// On a user-defined network links are only names for the embedded DNS: kept as given,
    /// unchecked (as dockerd).
    pub(crate) fn resolve_links(&self, mut request: CreateRequest) -> Result<CreateRequest, Error> {
        if request
            .host_config
            .links
            .as_ref()
            .is_none_or(|l| l.is_empty())
        {
            return Ok(request);
        }
        let mode = Mode::of(&request.host_config.network_mode);
        if mode.is_host() {
            return Err(Error::InvalidArgument(HOST_AND_LINKS.into()));
        }
        if mode.container().is_some() {
            return Err(Error::InvalidArgument(
                "conflicting options: container type network can't be used with links. This would result in undefined behavior".into(),
            ));
        }
        if user_defined(&request.host_config.network_mode) {
            return Ok(request);
        }
        let links = request.host_config.links.take().unwrap_or_default();
        let mut resolved = Vec::new();
        for link in links {
            let Some((target, alias)) = parse(&link) else {
                return Err(Error::InvalidArgument(format!(
                    "invalid link format: {link}"
                )));
            };
            let missing = |target: &str, e: Error| match e {
                // A missing target is the client's mistake (dockerd: "invalid parameter"):
                // a 404 would make clients report a missing image.
                Error::NotFound(message) => Error::InvalidArgument(format!(
                    "could not get container for {target}: {message}"
                )),
                other => other,
            };
            let record = self.container(&target).map_err(|e| missing(&target, e))?;
            let owner = self
                .network_owner(&record)
                .map_err(|e| missing(&target, e))?;
            if Mode::of(&owner.config.host_config.network_mode).is_host() {
                return Err(Error::InvalidArgument(HOST_AND_LINKS.into()));
            }
            resolved.push(format!("{}:{alias}", record.name));
        }
        request.host_config.links = Some(resolved);
        Ok(request)
    }

    /// The legacy links of a container on the default bridge: (hosts entries, environment).
    /// Each target must run (its address is what the entries carry).
    pub(crate) fn legacy_links(
        &self,
        rec: &ContainerRecord,
    ) -> Result<(Vec<HostEntry>, Vec<String>), Error> {
        let links = rec.config.host_config.links.as_deref().unwrap_or_default();
        let mode = Mode::of(&rec.config.host_config.network_mode);
        let on_default = mode.network().is_some_and(|n| n == super::DEFAULT_NETWORK);
        if links.is_empty() || !on_default {
            return Ok((Vec::new(), Vec::new()));
        }
        let default = self.default_network()?;
        let mut hosts = Vec::new();
        let mut env = Vec::new();
        for link in links {
            let Some((target, alias)) = parse(link) else {
                continue;
            };
            let child = self.container(&target)?;
            let address = self
                .container_endpoints(&self.network_owner(&child)?.id)?
                .into_iter()
                .find(|ep| ep.network_id == default.id)
                .map(|ep| ep.ip.to_string());
            let (Some(address), true) = (address, child.state.has_shim()) else {
                return Err(Error::Conflict(format!(
                    "Cannot link to a non running container: /{} AS /{}/{alias}",
                    child.name, rec.name
                )));
            };
            // The alias, the target's hostname, and its name unless that is the alias.
            let mut names = vec![alias.clone(), super::hostname_of(&child)];
            if alias != child.name {
                names.push(child.name.clone());
            }
            hosts.push(HostEntry {
                address: address.clone(),
                names,
            });
            env.extend(link_env(&rec.name, &alias, &child, &address));
        }
        Ok((hosts, env))
    }

    /// The container whose namespace `rec` uses: itself, or with `--network container:X`
    /// X's (followed, as dockerd does for link targets).
    fn network_owner(&self, rec: &ContainerRecord) -> Result<ContainerRecord, Error> {
        let mut owner = rec.clone();
        // Bounded: a chain never needs more, and a cycle must not hang.
        for _ in 0..16 {
            let Some(other) = Mode::of(&owner.config.host_config.network_mode).container() else {
                return Ok(owner);
            };
            owner = self.container(other)?;
        }
        Err(Error::InvalidArgument(format!(
            "too many containers sharing a network namespace from {}",
            rec.name
        )))
    }

    /// `rm --link ME/ALIAS` (`DELETE /containers/ME/ALIAS?link=1`): container ME forgets its
    /// link ALIAS. Takes effect on its next start.
    pub fn remove_link(&self, name: &str) -> Result<(), Error> {
        let name = name.trim_matches('/');
        let Some((parent, alias)) = name.rsplit_once('/') else {
            return Err(Error::Conflict(
                "Conflict, cannot remove the default link name of the container".into(),
            ));
        };
        let missing = || Error::NotFound(format!("No such container: {name}"));
        let mut rec = self.container(parent).map_err(|_| missing())?;
        let links = rec.config.host_config.links.clone().unwrap_or_default();
        let kept: Vec<String> = links
            .iter()
            .filter(|l| parse(l).is_none_or(|(_, a)| a != alias))
            .cloned()
            .collect();
        if kept.len() == links.len() {
            return Err(missing());
        }
        rec.config.host_config.links = (!kept.is_empty()).then_some(kept);
        self.db.set_container_config(&rec.id, &rec.config)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse_in_every_form() {
        let pair = |t: &str, a: &str| Some((t.to_string(), a.to_string()));
        assert_eq!(parse("web"), pair("web", "web"));
        assert_eq!(parse("web:db"), pair("web", "db"));
        assert_eq!(parse("/web:/me/db"), pair("web", "db"));
        assert_eq!(parse(":db"), None);
        assert_eq!(display("web:db", "me"), "/web:/me/db");
    }
}
