//! Network namespaces as bind-mounted files (as `ip netns add` makes them), configured before
//! the container is created, and released (unmounted, unlinked) after its processes are gone:
//! the kernel then removes the container's veth pairs itself.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

use crate::netlink::{Netlink, index_of};
use crate::{Endpoint, Error};

/// Creates a network namespace pinned at `path` with loopback up and one veth per endpoint
/// (eth0, eth1, ... inside, host ends enslaved to their bridges), addresses and the default
/// route. The calling thread returns to its own namespace. On failure nothing is left behind.
pub fn create(path: &Path, endpoints: &[Endpoint]) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    File::create(path).map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    let original = File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening the host network namespace", e))?;
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
        let _ = std::fs::remove_file(path);
        return Err(Error::io("creating a network namespace", e.into()));
    }
    let inside = configure_inside(path, endpoints, original.as_raw_fd());
    // Back to the host's namespace before anything else, whatever happened.
    if let Err(e) = setns(&original, CloneFlags::CLONE_NEWNET) {
        // Nothing this thread does from here would be in the right namespace.
        eprintln!("berth: cannot return to the host network namespace: {e}");
        std::process::abort();
    }
    let result = inside.and_then(|host_ends| {
        let mut host = Netlink::open()?;
        for (host_end, endpoint) in host_ends.iter().zip(endpoints) {
            enslave(&mut host, host_end, endpoint)?;
        }
        Ok(())
    });
    if result.is_err() {
        release(path);
    }
    result
}

/// Runs in the new namespace: pins it at `path`, sets it up; returns the host ends' names.
fn configure_inside(
    path: &Path,
    endpoints: &[Endpoint],
    host_netns: i32,
) -> Result<Vec<String>, Error> {
    mount(
        Some("/proc/thread-self/ns/net"),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| {
        Error::io(
            format!("pinning the network namespace at {}", path.display()),
            e.into(),
        )
    })?;
    let mut nl = Netlink::open()?;
    nl.set_link(index_of("lo")?, true, None)
        .map_err(|e| Error::io("setting lo up", e))?;
    let mut host_ends = Vec::new();
    for endpoint in endpoints {
        let host_end = random_veth_name();
        nl.create_veth(
            &endpoint.interface,
            endpoint.mac,
            &host_end,
            host_netns,
            endpoint.mtu,
        )?;
        configure_interface(&mut nl, endpoint, true)?;
        host_ends.push(host_end);
    }
    Ok(host_ends)
}

/// Inside the container's namespace: the interface's addresses, up, and (with `routes`) its
/// default routes.
fn configure_interface(nl: &mut Netlink, endpoint: &Endpoint, routes: bool) -> Result<(), Error> {
    let index = index_of(&endpoint.interface)?;
    nl.add_address(index, endpoint.address.into(), endpoint.prefix_len)?;
    if let Some((address6, prefix6)) = endpoint.address6 {
        nl.add_address(index, address6.into(), prefix6)?;
    }
    for (address, prefix) in &endpoint.extra_addresses {
        nl.add_address(index, *address, *prefix)?;
    }
    nl.set_link(index, true, None)
        .map_err(|e| Error::io(format!("setting {} up", endpoint.interface), e))?;
    if routes {
        if let Some(gateway) = endpoint.gateway {
            nl.add_default_route(index, gateway.into())?;
        }
        if let Some(gateway6) = endpoint.gateway6 {
            nl.add_default_route(index, gateway6.into())?;
        }
    }
    Ok(())
}

/// In the host's namespace: the host end joins its bridge (isolated if the network says so).
fn enslave(host: &mut Netlink, host_end: &str, endpoint: &Endpoint) -> Result<(), Error> {
    let bridge = index_of(&endpoint.bridge)?;
    host.set_link(index_of(host_end)?, true, Some(bridge))
        .map_err(|e| Error::io(format!("attaching {host_end} to {}", endpoint.bridge), e))?;
    if endpoint.isolated {
        crate::netlink::isolate_bridge_port(host_end)?;
    }
    Ok(())
}

/// Adds one more interface to a pinned namespace (`network connect` on a running container).
pub fn attach(path: &Path, endpoint: &Endpoint) -> Result<(), Error> {
    let target =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let original = File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening the host network namespace", e))?;
    setns(&target, CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io(format!("entering {}", path.display()), e.into()))?;
    let inside = (|| {
        let mut nl = Netlink::open()?;
        let host_end = random_veth_name();
        nl.create_veth(
            &endpoint.interface,
            endpoint.mac,
            &host_end,
            original.as_raw_fd(),
            endpoint.mtu,
        )?;
        configure_interface(&mut nl, endpoint, false)?;
        Ok(host_end)
    })();
    if let Err(e) = setns(&original, CloneFlags::CLONE_NEWNET) {
        eprintln!("berth: cannot return to the host network namespace: {e}");
        std::process::abort();
    }
    let host_end = inside?;
    let mut host = Netlink::open()?;
    enslave(&mut host, &host_end, endpoint)
}

/// Removes an interface from a pinned namespace without deleting a veth: the interface is moved
/// into a fresh, unpinned namespace whose last reference is then dropped, so the kernel's own
/// namespace cleanup removes the pair (`network disconnect` on a running container).
pub fn detach(path: &Path, interface: &str) -> Result<(), Error> {
    let target =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let original = File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening the host network namespace", e))?;
    unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io("creating a network namespace", e.into()))?;
    let trash = File::open("/proc/thread-self/ns/net");
    let entered = setns(&target, CloneFlags::CLONE_NEWNET);
    let moved = match (&trash, entered) {
        (Ok(trash), Ok(())) => (|| {
            let mut nl = Netlink::open()?;
            nl.move_to_netns(index_of(interface)?, trash.as_raw_fd())
                .map_err(|e| Error::io(format!("moving {interface} out of the container"), e))
        })(),
        (Err(e), _) => Err(Error::io(
            "opening the new network namespace",
            std::io::Error::new(e.kind(), e.to_string()),
        )),
        (_, Err(e)) => Err(Error::io(format!("entering {}", path.display()), e.into())),
    };
    if let Err(e) = setns(&original, CloneFlags::CLONE_NEWNET) {
        eprintln!("berth: cannot return to the host network namespace: {e}");
        std::process::abort();
    }
    // Dropping `trash` (its last reference) lets the kernel tear it down with the interface.
    drop(trash);
    moved
}

/// Unpins a namespace made by [`create`]: once no process is in it, the kernel tears it down
/// with its interfaces. Missing or already unmounted is fine.
pub fn release(path: &Path) {
    let _ = umount2(path, MntFlags::MNT_DETACH);
    let _ = std::fs::remove_file(path);
}

/// Whether `path` is a pinned namespace (a bind mount of nsfs), not a leftover plain file.
pub fn is_pinned(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
}

/// Docker's style of host-side name: "veth" and 7 random hex digits.
fn random_veth_name() -> String {
    let mut bytes = [0u8; 4];
    let _ =
        File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    let n = u32::from_ne_bytes(bytes) ^ std::process::id().rotate_left(16);
    format!("veth{:07x}", n & 0x0fff_ffff)
}
