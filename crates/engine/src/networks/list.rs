//! `network ls` / `GET /networks`: filters over the records and the predefined networks.

use std::collections::BTreeMap;

use super::inspect::{PREDEFINED_NETWORKS, predefined_network_id};
use crate::{Engine, Error};

/// What `network ls` filters look at, for records and the predefined networks alike.
struct FilterSubject<'a> {
    id: &'a str,
    name: &'a str,
    driver: &'a str,
    labels: &'a BTreeMap<String, String>,
    /// bridge, host and none: never dangling, `type=builtin`.
    builtin: bool,
}

impl Engine {
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
                builtin: rec.is_default(),
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
}
