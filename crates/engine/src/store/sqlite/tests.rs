//! The SQLite store on a temp dir: records round-trip, and the operations that must be
//! atomic keep their promises.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use rusqlite::Connection;

use super::SqliteStore;
use crate::Error;
use crate::store::{
    ContainerStore, EventStore, MountRow, NetworkRecord, NetworkRemoval, NetworkStore, PortRow,
    PortStore, Volume, VolumeRemoval, VolumeStore, test_container,
};
use crate::types::State;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("berth.db")).unwrap();
    (dir, store)
}

fn volume(name: &str) -> Volume {
    Volume {
        name: name.into(),
        driver: "local".into(),
        created: "2026-01-01T00:00:00Z".into(),
        ..Default::default()
    }
}

fn network(id: &str, name: &str) -> NetworkRecord {
    NetworkRecord {
        id: id.into(),
        name: name.into(),
        driver: "bridge".into(),
        subnet: "10.9.0.0/24".parse().unwrap(),
        gateway: "10.9.0.1".parse().unwrap(),
        ip_range: None,
        internal: false,
        bridge: format!("br-{id}"),
        labels: BTreeMap::new(),
        created: "2026-01-01T00:00:00Z".into(),
        extra: Default::default(),
    }
}

#[test]
fn a_container_record_round_trips() {
    let (_dir, store) = store();
    let mut rec = test_container("c1", "web");
    rec.config.config.image = "busybox".into();
    store.create_container(&rec, &[]).unwrap();
    rec.state = State::Running;
    rec.pid = 42;
    rec.exit_code = 3;
    rec.restart_count = 2;
    rec.oom_killed = true;
    assert!(store.update_container(&rec).unwrap());
    let back = store.container("c1").unwrap().unwrap();
    assert_eq!(back.name, "web");
    assert_eq!(back.state, State::Running);
    assert_eq!((back.pid, back.exit_code, back.restart_count), (42, 3, 2));
    assert!(back.oom_killed);
    assert_eq!(back.config.config.image, "busybox");
    assert_eq!(store.container_by_name("web").unwrap().unwrap().id, "c1");
    assert_eq!(store.containers_by_id_prefix("c").unwrap().len(), 1);
    let taken = store.create_container(&test_container("c2", "web"), &[]);
    assert!(matches!(taken, Err(Error::Conflict(m)) if m.contains("\"c1\"")));
    store.delete_container("c1", &[]).unwrap();
    assert!(store.container("c1").unwrap().is_none());
    assert!(!store.update_container(&rec).unwrap(), "a removed record");
}

#[test]
fn the_second_claimant_of_a_shim_slot_loses() {
    let (_dir, store) = store();
    store
        .create_container(&test_container("c1", "a"), &[])
        .unwrap();
    assert!(store.claim_shim("c1", 100, 7).unwrap());
    assert!(!store.claim_shim("c1", 200, 8).unwrap());
    let rec = store.container("c1").unwrap().unwrap();
    assert_eq!((rec.shim_pid, rec.shim_start), (100, 7));
    assert_eq!(store.containers_held().unwrap().len(), 1);
}

#[test]
fn an_address_is_leased_once() {
    let (_dir, store) = store();
    assert!(store.insert_network(&network("n1", "net")).unwrap());
    assert!(!store.insert_network(&network("n2", "net")).unwrap());
    let lowest_free = |used: &HashSet<Ipv4Addr>, _: &HashSet<std::net::Ipv6Addr>| {
        let ip = (2..255u8)
            .map(|i| Ipv4Addr::new(10, 9, 0, i))
            .find(|ip| !used.contains(ip))
            .unwrap();
        Ok((ip, None, "02:42:0a:09:00:00".to_string()))
    };
    let a = store
        .lease("n1", "c1", &[], None, &mut { lowest_free })
        .unwrap()
        .unwrap();
    let b = store
        .lease("n1", "c2", &[], None, &mut { lowest_free })
        .unwrap()
        .unwrap();
    assert_ne!(a.ip, b.ip);
    let again = store
        .lease("n1", "c1", &[], None, &mut { lowest_free })
        .unwrap()
        .unwrap();
    assert_eq!(again.ip, a.ip, "a container keeps its lease");
    // The same address twice is refused by the table, and the failed lease leaves nothing.
    let mut taken = |_: &HashSet<Ipv4Addr>, _: &HashSet<std::net::Ipv6Addr>| {
        Ok((a.ip, None, "02:42:0a:09:00:01".to_string()))
    };
    assert!(store.lease("n1", "c3", &[], None, &mut taken).is_err());
    assert_eq!(store.network_endpoints("n1").unwrap().len(), 2);
    // A network in use is not marked; once marked, nothing leases in it.
    assert_eq!(
        store.mark_network_removing_if_unused("n1").unwrap(),
        NetworkRemoval::InUse
    );
    store.delete_container_endpoints("c1").unwrap();
    store.delete_container_endpoints("c2").unwrap();
    assert_eq!(
        store.mark_network_removing_if_unused("n1").unwrap(),
        NetworkRemoval::Marked
    );
    assert!(
        store
            .lease("n1", "c4", &[], None, &mut { lowest_free })
            .unwrap()
            .is_none()
    );
    assert!(store.live_network_by_id("n1").unwrap().is_none());
    assert_eq!(store.removing_networks().unwrap().len(), 1);
}

#[test]
fn events_come_back_in_cursor_order() {
    let (_dir, store) = store();
    assert_eq!(store.events_cursor().unwrap(), 0);
    let attrs = BTreeMap::from([("name".to_string(), "web".to_string())]);
    let first = store
        .append_event(10, "container", "create", "c1", &attrs)
        .unwrap();
    let second = store
        .append_event(5, "container", "start", "c1", &attrs)
        .unwrap();
    let third = store
        .append_event(20, "volume", "create", "v", &BTreeMap::new())
        .unwrap();
    assert!(first < second && second < third);
    assert_eq!(store.events_cursor().unwrap(), third);
    let all = store.events_after(0, 0, 10).unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "start", "create"]);
    assert_eq!(all[0].attributes, attrs);
    let after_first = store.events_after(first, 0, 10).unwrap();
    assert_eq!(after_first.first().unwrap().seq, second);
    assert_eq!(store.events_after(0, 10, 10).unwrap().len(), 2, "since");
    store.trim_events(second).unwrap();
    assert_eq!(store.events_after(0, 0, 10).unwrap()[0].seq, third);
}

#[test]
fn a_volume_marked_removing_is_hidden_and_cannot_be_mounted() {
    let (_dir, store) = store();
    assert!(store.insert_volume(&volume("v")).unwrap());
    assert!(!store.insert_volume(&volume("v")).unwrap());
    let mount = MountRow {
        destination: "/d".into(),
        volume: Some(volume("v")),
        spec: "{}".into(),
    };
    let made = store
        .create_container(&test_container("c1", "a"), std::slice::from_ref(&mount))
        .unwrap();
    assert!(made.is_empty(), "the volume was there");
    assert_eq!(
        store.mark_volume_removing_if_unused("v").unwrap(),
        VolumeRemoval::InUse(vec!["c1".into()])
    );
    // Deleting its only user marks an anonymous volume in the same transaction.
    assert_eq!(store.delete_container("c1", &["v".into()]).unwrap(), ["v"]);
    assert!(store.volume("v").unwrap().is_none());
    assert_eq!(store.removing_volumes().unwrap(), ["v"]);
    assert_eq!(
        store.mark_volume_removing_if_unused("v").unwrap(),
        VolumeRemoval::Missing
    );
    let refused = store.create_container(&test_container("c2", "b"), &[mount]);
    assert!(matches!(refused, Err(Error::Conflict(m)) if m.contains("being removed")));
    assert!(store.container("c2").unwrap().is_none(), "all or nothing");
    store.unmark_volume_removing("v").unwrap();
    assert!(store.volume("v").unwrap().is_some());
    store.delete_volume("v").unwrap();
    assert!(store.volume_names().unwrap().is_empty());
}

#[test]
fn a_taken_host_port_is_picked_again_or_refused() {
    let (_dir, store) = store();
    let row = |port| PortRow {
        protocol: "tcp".into(),
        container_port: 80,
        host_ip: String::new(),
        host_port: port,
        container_ip: "10.9.0.2".into(),
        bridge: "br".into(),
        container_ip6: String::new(),
    };
    let mut refuse = |_, _| Err(Error::Conflict("taken".into()));
    store
        .replace_ports("c1", &[row(8080)], &mut refuse)
        .unwrap();
    assert!(
        store
            .replace_ports("c2", &[row(8080)], &mut refuse)
            .is_err()
    );
    assert!(!store.has_ports("c2").unwrap());
    store
        .replace_ports("c2", &[row(8080)], &mut |_, _| Ok(8081))
        .unwrap();
    assert_eq!(store.container_ports("c2").unwrap()[0].host_port, 8081);
    assert_eq!(store.firewall_rows().unwrap().0.len(), 2);
    assert_eq!(store.delete_ports("c1").unwrap(), 1);
    assert_eq!(store.port_containers().unwrap(), ["c2"]);
}

#[test]
fn an_older_database_gains_the_networks_removing_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.db");
    {
        // A version-7 networks table, as older berth made it, with one network in it.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, \
             driver TEXT NOT NULL, subnet TEXT NOT NULL, gateway TEXT NOT NULL, \
             ip_range TEXT NOT NULL DEFAULT '', internal INTEGER NOT NULL DEFAULT 0, \
             bridge TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL); \
             INSERT INTO networks (id, name, driver, subnet, gateway, bridge, created) \
             VALUES ('n1', 'old', 'bridge', '10.1.0.0/24', '10.1.0.1', 'br-n1', 'x'); \
             PRAGMA user_version = 7;",
        )
        .unwrap();
    }
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        let removing: i64 = store
            .conn
            .query_row("SELECT removing FROM networks WHERE id = 'n1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(removing, 0);
        assert_eq!(store.live_networks().unwrap().len(), 1);
    }
}
