//! The guest kernel's modules berth puts in the initramfs: which ones a profile needs, in what
//! order they load (dependencies first, from the kernel's `modules.dep`), and their bytes with
//! the appended signature removed (the guest loads them with `finit_module`, which would
//! otherwise check a signature it has no use for inside a throwaway guest).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::config::GuestProfile as Profile;
use crate::error::VmError;

/// What every guest needs: the virtio-mmio transport of QEMU's `microvm` machine, the agent's
/// virtio-serial port, 9p over virtio (the container's root and its shares), virtio-net, and
/// the balloon whose free page reporting hands the memory the guest frees (the unpacked
/// initramfs archive, the kernel's init sections, exited processes) back to the host.
const CONTAINER: &[&str] = &[
    "virtio_mmio",
    "virtio_console",
    "9pnet_virtio",
    "9p",
    "virtio_net",
    "virtio_balloon",
];

/// What a Docker host inside the guest adds (`berth machine`): its persistent disk (virtio-blk,
/// ext4 and the crc32c it checksums with, a soft dependency modules.dep does not list), overlay
/// for image layers, bridges and veths for container networks, tun, and the nftables pieces
/// berth's firewall and embedded DNS load (NAT, masquerade, redirect, conntrack matches).
const MACHINE: &[&str] = &[
    "virtio_blk",
    "crc32c_generic",
    "ext4",
    "overlay",
    "bridge",
    "br_netfilter",
    "veth",
    "tun",
    "nf_tables",
    "nft_chain_nat",
    "nft_nat",
    "nft_masq",
    "nft_redir",
    "nft_ct",
    "nft_limit",
    "nft_reject_inet",
    "nft_fib_inet",
    "nft_compat",
    "xt_MASQUERADE",
    "iptable_nat",
    "iptable_filter",
];

/// The module names a profile asks for (their dependencies come on top).
pub fn wanted(profile: Profile) -> Vec<&'static str> {
    let mut names = CONTAINER.to_vec();
    if profile == Profile::Machine {
        names.extend_from_slice(MACHINE);
    }
    names
}

/// A module's name as the kernel compares them: the file name without `.ko[.xz]`, `-` and `_`
/// being the same.
pub fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

/// The paths (relative to the modules directory, as modules.dep writes them) of `wanted` and
/// everything they depend on, each once, every module after its dependencies. Each line of
/// modules.dep lists a module's whole dependency closure, nearest last-loaded first, so the
/// list is walked in reverse; a dependency's own line is followed too, so a closure modules.dep
/// lists in an unexpected order still loads correctly. An unknown name is the error's `Err`.
pub fn load_order(modules_dep: &str, wanted: &[&str]) -> Result<Vec<String>, String> {
    let mut deps: HashMap<String, (String, Vec<String>)> = HashMap::new();
    for line in modules_dep.lines() {
        let Some((module, rest)) = line.split_once(':') else {
            continue;
        };
        let list = rest.split_whitespace().map(str::to_string).collect();
        deps.insert(module_name(module), (module.to_string(), list));
    }
    let mut order = Vec::new();
    let mut done = HashSet::new();
    for name in wanted {
        visit(&module_name(name), &deps, &mut done, &mut order)?;
    }
    Ok(order)
}

fn visit(
    name: &str,
    deps: &HashMap<String, (String, Vec<String>)>,
    done: &mut HashSet<String>,
    order: &mut Vec<String>,
) -> Result<(), String> {
    if done.contains(name) {
        return Ok(());
    }
    let (path, list) = deps.get(name).ok_or_else(|| name.to_string())?;
    // Marked before the dependencies: a cycle (which modules.dep never has) cannot recurse
    // forever.
    done.insert(name.to_string());
    for dep in list.iter().rev() {
        visit(&module_name(dep), deps, done, order)?;
    }
    order.push(path.clone());
    Ok(())
}

/// The trailer the kernel's `scripts/sign-file` appends after the module's ELF.
const SIGNATURE_MAGIC: &[u8] = b"~Module signature appended~\n";

/// `struct module_signature`: algo, hash, id_type, signer_len, key_id_len, pad[3], sig_len
/// (big-endian u32 at offset 8).
const SIGNATURE_INFO_LEN: usize = 12;

/// The module's bytes without its appended signature (as they are when it has none). A
/// trailer whose lengths do not fit the file is an error: that file is not what it claims.
pub fn strip_signature(module: &[u8]) -> Result<&[u8], String> {
    let Some(before_magic) = module.strip_suffix(SIGNATURE_MAGIC) else {
        return Ok(module);
    };
    let info_start = before_magic
        .len()
        .checked_sub(SIGNATURE_INFO_LEN)
        .ok_or("a signature trailer without its header")?;
    let info = &before_magic[info_start..];
    let sig_len = u32::from_be_bytes(info[8..12].try_into().expect("4 bytes")) as usize;
    let end = info_start
        .checked_sub(sig_len)
        .ok_or("a signature longer than the module")?;
    Ok(&module[..end])
}

/// One module ready for the initramfs.
pub struct PreparedModule {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Reads, decompresses (`.ko.xz`) and strips the modules `profile` needs from `modules_dir`
/// (`/lib/modules/VERSION`), in load order.
pub fn prepare(modules_dir: &Path, profile: Profile) -> Result<Vec<PreparedModule>, VmError> {
    let dep_path = modules_dir.join("modules.dep");
    let dep_text = fs::read_to_string(&dep_path).map_err(|source| VmError::Read {
        path: dep_path.clone(),
        source,
    })?;
    let order = load_order(&dep_text, &wanted(profile)).map_err(|name| VmError::MissingModule {
        name,
        modules_dir: modules_dir.to_path_buf(),
    })?;
    order
        .iter()
        .map(|relative| {
            let path = modules_dir.join(relative);
            let raw = read_module(&path)?;
            let bytes = strip_signature(&raw)
                .map_err(|reason| VmError::BadModule {
                    path: path.clone(),
                    reason: reason.to_string(),
                })?
                .to_vec();
            Ok(PreparedModule {
                name: module_name(relative),
                bytes,
            })
        })
        .collect()
}

fn read_module(path: &PathBuf) -> Result<Vec<u8>, VmError> {
    let raw = fs::read(path).map_err(|source| VmError::Read {
        path: path.clone(),
        source,
    })?;
    let name = path.to_string_lossy();
    if name.ends_with(".ko") {
        return Ok(raw);
    }
    if name.ends_with(".ko.xz") {
        let mut out = Vec::new();
        let mut decoder = liblzma::read::XzDecoder::new(raw.as_slice());
        std::io::Read::read_to_end(&mut decoder, &mut out).map_err(|source| {
            VmError::Decompress {
                path: path.clone(),
                source,
            }
        })?;
        return Ok(out);
    }
    Err(VmError::BadModule {
        path: path.clone(),
        reason: "only .ko and .ko.xz modules are supported".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/9p/9pnet.ko:
kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko
kernel/fs/netfs/netfs.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
";

    #[test]
    fn dependencies_load_first_and_once() {
        let order = load_order(DEP, &["virtio_mmio", "9pnet_virtio", "9p"]).unwrap();
        let names: Vec<String> = order.iter().map(|p| module_name(p)).collect();
        assert_eq!(
            names,
            [
                "virtio_ring",
                "virtio",
                "virtio_mmio",
                "9pnet",
                "9pnet_virtio",
                "netfs",
                "fscache",
                "9p"
            ]
        );
        assert_eq!(order[2], "kernel/drivers/virtio/virtio_mmio.ko");
    }

    #[test]
    fn dashes_and_underscores_name_the_same_module_and_unknown_names_are_errors() {
        let order = load_order(DEP, &["crc32c_intel"]).unwrap();
        assert_eq!(order, ["kernel/arch/x86/crypto/crc32c-intel.ko"]);
        assert_eq!(load_order(DEP, &["nope"]).unwrap_err(), "nope");
    }

    #[test]
    fn the_appended_signature_is_cut_off() {
        let elf = b"\x7fELF module body".to_vec();
        let signature = vec![0xAB; 300];
        let mut info = [0u8; SIGNATURE_INFO_LEN];
        info[8..12].copy_from_slice(&(signature.len() as u32).to_be_bytes());
        let mut signed = elf.clone();
        signed.extend_from_slice(&signature);
        signed.extend_from_slice(&info);
        signed.extend_from_slice(SIGNATURE_MAGIC);
        assert_eq!(strip_signature(&signed).unwrap(), elf.as_slice());
        assert_eq!(strip_signature(&elf).unwrap(), elf.as_slice());

        let mut lying = elf.clone();
        info[8..12].copy_from_slice(&10_000u32.to_be_bytes());
        lying.extend_from_slice(&info);
        lying.extend_from_slice(SIGNATURE_MAGIC);
        assert!(strip_signature(&lying).is_err());
    }
}
