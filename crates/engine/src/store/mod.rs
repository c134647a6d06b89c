//! The state store: every record the engine keeps (containers, image names, the build cache,
//! blob sources, volumes, mounts, networks, leases, published ports, events) behind
//! [`StateStore`]. Only the engine holds one, so only the engine writes the state.
//!
//! Each method is one atomic operation: where a decision needs several reads and writes to
//! agree (claiming a shim slot, leasing an address, refusing to remove a volume or a network
//! that is in use), the method does all of it in one transaction of its own, so that another
//! implementation (etcd, later) can do the same with its transactions.
//!
//! The trait is split per kind of object ([`ContainerStore`], [`MountStore`], [`ImageStore`],
//! [`VolumeStore`], [`NetworkStore`], [`PortStore`], [`EventStore`]): each reads as one table
//! group's contract, and a test double or a second backend can be written (and reviewed) one
//! kind at a time.
//! [`StateStore`] is their sum. It needs `Send` only: an `Engine` moves between threads but is
//! never shared (the API server keeps one per blocking thread).
//!
//! [`sqlite`] is the one implementation (one file, `$BERTH_ROOT/berth.db`, shared by every
//! berth process); its connection is private to that module tree.

mod records;
mod sqlite;

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::Path;

#[cfg(test)]
pub(crate) use records::test_container;
pub use records::{
    ContainerRecord, EndpointRecord, Event, MountRow, NetworkRecord, NetworkRemoval, PortRow,
    Volume, VolumeRemoval,
};
pub use records::{Ipv6Pool, NetworkExtra};

use crate::Error;
pub use crate::error::StoreError;
use crate::types::{CreateRequest, Health};

/// Opens (creating or upgrading) the state database at `path`.
pub(crate) fn open(path: &Path) -> Result<Box<dyn StateStore>, Error> {
    Ok(Box::new(sqlite::SqliteStore::open(path)?))
}

/// Everything the engine keeps.
pub(crate) trait StateStore:
    ContainerStore
    + MountStore
    + ImageStore
    + VolumeStore
    + NetworkStore
    + PortStore
    + EventStore
    + Send
{
    /// Releases caches (for a process about to idle, the shim).
    fn shrink_memory(&self);

    /// A number that changes whenever another process commits a change (sqlite's
    /// `data_version`), so that a reader may keep what it read until then; `None`: unknown,
    /// read again.
    fn change_counter(&self) -> Option<i64> {
        None
    }
}

/// Containers and their health. Creating and deleting one writes its mounts too (see
/// [`MountStore`]), in the same transaction.
pub(crate) trait ContainerStore {
    /// Inserts a new container with its mounts, creating the volumes they name that do not
    /// exist, all or nothing. Returns the names of the volumes it created. A name already in
    /// use, or a volume being removed, is a `Conflict`.
    fn create_container(
        &self,
        rec: &ContainerRecord,
        mounts: &[MountRow],
    ) -> Result<Vec<String>, Error>;
    fn container(&self, id: &str) -> Result<Option<ContainerRecord>, Error>;
    fn container_by_name(&self, name: &str) -> Result<Option<ContainerRecord>, Error>;
    /// Containers whose id starts with `prefix`.
    fn containers_by_id_prefix(&self, prefix: &str) -> Result<Vec<ContainerRecord>, Error>;
    /// Every container, newest first.
    fn containers(&self) -> Result<Vec<ContainerRecord>, Error>;
    /// Containers that should have a live shim (running, paused, restarting, or mid-start).
    fn containers_with_shim(&self) -> Result<Vec<ContainerRecord>, Error>;
    /// [`ContainerStore::containers_with_shim`], and every container a process holds (a shim
    /// starting a stopped one, a process removing one): what repair looks at.
    fn containers_held(&self) -> Result<Vec<ContainerRecord>, Error>;
    /// Makes the calling shim the container's only one: succeeds only when no shim holds it
    /// (a dead one is cleared by repair first). Clears a previous stop request.
    fn claim_shim(&self, id: &str, shim_pid: i32, shim_start: u64) -> Result<bool, Error>;
    /// Writes the state fields of a record back (not the stop request: only `stop`/`kill`
    /// and [`ContainerStore::claim_shim`] change that). False when the record is gone.
    fn update_container(&self, rec: &ContainerRecord) -> Result<bool, Error>;
    fn set_manually_stopped(&self, id: &str, stopped: bool) -> Result<(), Error>;
    /// Replaces a container's settings (`docker update`); its state fields are left alone.
    fn set_container_config(&self, id: &str, config: &CreateRequest) -> Result<(), Error>;
    /// A name already in use is a `Conflict`.
    fn rename_container(&self, id: &str, name: &str) -> Result<(), Error>;
    /// Records a container's `State.Health` (written by its shim only).
    fn set_health(&self, id: &str, health: &Health) -> Result<(), Error>;
    /// Deletes a container, its health and its mount rows; of `anonymous_volumes`, those no
    /// other container mounts are marked `removing` in the same transaction (so a crash
    /// cannot leak them). Returns the marked ones.
    fn delete_container(
        &self,
        id: &str,
        anonymous_volumes: &[String],
    ) -> Result<Vec<String>, Error>;
}

/// Containers' mounts (which is also "who uses this volume").
pub(crate) trait MountStore {
    /// The `spec` of each of a container's mounts, in no particular order.
    fn mount_specs(&self, container_id: &str) -> Result<Vec<String>, Error>;
    fn set_mount_spec(
        &self,
        container_id: &str,
        destination: &str,
        spec: &str,
    ) -> Result<(), Error>;
    /// Ids of the containers (running or not) that mount the volume, sorted.
    fn volume_users(&self, volume: &str) -> Result<Vec<String>, Error>;
    /// The volumes a container's mounts use.
    fn container_volumes(&self, container_id: &str) -> Result<Vec<String>, Error>;
    /// Whether a container other than `container_id` that has (or should have) a live
    /// process mounts the volume.
    fn volume_used_while_running(&self, volume: &str, container_id: &str) -> Result<bool, Error>;
}

/// Image names (tags), the build cache and where blobs came from.
pub(crate) trait ImageStore {
    /// Registers an image (kept if it is there already) and points `names` at it, in one
    /// transaction: a killed `import`, `commit`, `build`, `load`, `pull` or `tag` leaves the
    /// image named or not there at all, never a nameless image the user did not ask for.
    fn add_image(&self, id: &str, created: &str, names: &[String]) -> Result<(), Error>;
    fn remove_tag(&self, name: &str) -> Result<(), Error>;
    /// The image a name points at.
    fn tag(&self, name: &str) -> Result<Option<String>, Error>;
    /// (image id, created) of every image, newest first.
    fn images(&self) -> Result<Vec<(String, String)>, Error>;
    fn tags_of(&self, image_id: &str) -> Result<Vec<String>, Error>;
    /// Deletes an image and its names.
    fn delete_image(&self, id: &str) -> Result<(), Error>;
    /// A container that uses the image.
    fn image_in_use(&self, image_id: &str) -> Result<Option<String>, Error>;
    /// The image a build step with this cache key produced, if recorded.
    fn build_cache_get(&self, key: &str) -> Result<Option<String>, Error>;
    fn build_cache_put(&self, key: &str, image_id: &str, created: &str) -> Result<(), Error>;
    fn build_cache_forget(&self, key: &str) -> Result<(), Error>;
    /// Every image id the build cache refers to.
    fn build_cache_images(&self) -> Result<Vec<String>, Error>;
    /// Drops the cache entries that lead to `image_id`.
    fn build_cache_forget_image(&self, image_id: &str) -> Result<(), Error>;
    /// Drops every cache entry; returns how many there were.
    fn build_cache_clear(&self) -> Result<usize, Error>;
    /// Records that a blob is in `registry`'s `repository` (for cross-repo mounts).
    fn add_blob_source(&self, digest: &str, registry: &str, repository: &str) -> Result<(), Error>;
    /// (digest, repository) of every blob known to be in `registry`.
    fn blob_sources_in(&self, registry: &str) -> Result<Vec<(String, String)>, Error>;
}

/// Volumes. A removal marks the volume `removing` first and deletes it last; a marked volume
/// is invisible to lookups and cannot be mounted.
pub(crate) trait VolumeStore {
    /// A live (not being removed) volume.
    fn volume(&self, name: &str) -> Result<Option<Volume>, Error>;
    /// Every live volume, by name.
    fn volumes(&self) -> Result<Vec<Volume>, Error>;
    /// Every volume's name, those being removed included.
    fn volume_names(&self) -> Result<Vec<String>, Error>;
    /// The volumes marked `removing`.
    fn removing_volumes(&self) -> Result<Vec<String>, Error>;
    /// Inserts a volume unless one by that name exists (then returns false).
    fn insert_volume(&self, volume: &Volume) -> Result<bool, Error>;
    /// Marks a live volume `removing` unless a container mounts it, in one transaction.
    fn mark_volume_removing_if_unused(&self, name: &str) -> Result<VolumeRemoval, Error>;
    /// Takes a volume's `removing` mark back (a removal that found it in use after all).
    fn unmark_volume_removing(&self, name: &str) -> Result<(), Error>;
    fn delete_volume(&self, name: &str) -> Result<(), Error>;
}

/// Picks a new lease's address and MAC, given the addresses already leased in the network.
/// Returns the IPv4 address, the IPv6 one (dual-stack networks) and the MAC.
pub(crate) type ChooseAddress<'a> = dyn FnMut(
        &HashSet<Ipv4Addr>,
        &HashSet<std::net::Ipv6Addr>,
    ) -> Result<(Ipv4Addr, Option<std::net::Ipv6Addr>, String), Error>
    + 'a;

/// Networks and the endpoints (leases) containers hold in them. A removal marks the network
/// `removing` first and deletes its row last.
pub(crate) trait NetworkStore {
    /// Every network not being removed, oldest first.
    fn live_networks(&self) -> Result<Vec<NetworkRecord>, Error>;
    fn live_network_by_id(&self, id: &str) -> Result<Option<NetworkRecord>, Error>;
    fn live_network_by_name(&self, name: &str) -> Result<Option<NetworkRecord>, Error>;
    /// Live networks whose id starts with `prefix`.
    fn live_networks_by_id_prefix(&self, prefix: &str) -> Result<Vec<NetworkRecord>, Error>;
    /// Every network, those being removed included (their bridges still hold their subnets).
    fn all_networks(&self) -> Result<Vec<NetworkRecord>, Error>;
    /// The networks marked `removing`.
    fn removing_networks(&self) -> Result<Vec<NetworkRecord>, Error>;
    /// Inserts a network; false when its name is taken.
    fn insert_network(&self, rec: &NetworkRecord) -> Result<bool, Error>;
    fn delete_network(&self, id: &str) -> Result<(), Error>;
    /// Marks a live network `removing` unless a container holds a lease in it, in one
    /// transaction.
    fn mark_network_removing_if_unused(&self, id: &str) -> Result<NetworkRemoval, Error>;
    fn network_is_removing(&self, id: &str) -> Result<bool, Error>;
    /// The endpoints in a network, in lease order.
    fn network_endpoints(&self, network_id: &str) -> Result<Vec<EndpointRecord>, Error>;
    /// A container's endpoints, in lease order.
    fn container_endpoints(&self, container_id: &str) -> Result<Vec<EndpointRecord>, Error>;
    /// Leases an address in a network for a container, in one transaction: its existing
    /// lease, or a new one at the address `choose` picks given the addresses already leased,
    /// with the MAC it returns. None when the network is gone or being removed.
    fn lease(
        &self,
        network_id: &str,
        container_id: &str,
        aliases: &[String],
        ipam_config: Option<&crate::types::EndpointIpamConfig>,
        choose: &mut ChooseAddress<'_>,
    ) -> Result<Option<EndpointRecord>, Error>;
    fn delete_endpoint(&self, network_id: &str, container_id: &str) -> Result<(), Error>;
    fn delete_container_endpoints(&self, container_id: &str) -> Result<(), Error>;
    /// Deletes the leases of containers that no longer exist.
    fn delete_orphan_endpoints(&self) -> Result<(), Error>;
}

/// Published ports.
pub(crate) trait PortStore {
    /// Replaces a container's published ports, in one transaction. When a row's host port is
    /// taken, `on_taken(index, port)` gives the port to try instead, or the error that
    /// abandons the whole change.
    fn replace_ports(
        &self,
        container_id: &str,
        rows: &[PortRow],
        on_taken: &mut dyn FnMut(usize, u16) -> Result<u16, Error>,
    ) -> Result<(), Error>;
    fn has_ports(&self, container_id: &str) -> Result<bool, Error>;
    /// Deletes a container's ports; returns how many there were.
    fn delete_ports(&self, container_id: &str) -> Result<usize, Error>;
    /// The containers that have published ports.
    fn port_containers(&self) -> Result<Vec<String>, Error>;
    /// A container's ports, by container port.
    fn container_ports(&self, container_id: &str) -> Result<Vec<PortRow>, Error>;
    /// Every published port and every live network, read together (one read transaction):
    /// what the firewall must say.
    fn firewall_rows(&self) -> Result<(Vec<PortRow>, Vec<NetworkRecord>), Error>;
}

/// The append-only event log; an event's `seq` is the followers' cursor.
pub(crate) trait EventStore {
    /// Appends an event; returns its cursor.
    fn append_event(
        &self,
        time_nano: i64,
        kind: &str,
        action: &str,
        actor_id: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<i64, Error>;
    /// Deletes the events up to cursor `seq` (inclusive).
    fn trim_events(&self, seq: i64) -> Result<(), Error>;
    /// Events after cursor `after` with `time_nano >= since`, at most `limit`, oldest first.
    fn events_after(&self, after: i64, since: i64, limit: i64) -> Result<Vec<Event>, Error>;
    /// The cursor of the newest event (0 when the log is empty).
    fn events_cursor(&self) -> Result<i64, Error>;
}
