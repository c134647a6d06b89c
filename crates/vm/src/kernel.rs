//! The guest kernel and its initramfs. The kernel is the host's Debian kernel (or the user's
//! `--kernel`): QEMU's `microvm` boots an uncompressed ELF `vmlinux` through its PVH entry, so
//! the vmlinux is extracted once from the bzImage's XZ payload and cached. The initramfs holds
//! the agent (the berth binary as `/init`, its shared libraries) and the modules a profile
//! needs, in load order; it is built once per (agent binary, kernel, profile). Both are
//! written to a temporary file and renamed into place, so racing launches all succeed.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::VmError;
use crate::initramfs;
use crate::modules;

/// Which modules and tools go in the initramfs: [`GuestProfile`] itself, under the name the
/// callers of [`guest_kernel`] know.
pub use crate::config::GuestProfile as Profile;

/// A kernel ready for QEMU's `-kernel` and `-initrd`.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestKernel {
    pub vmlinux: PathBuf,
    pub initramfs: PathBuf,
    /// The kernel release ("6.1.0-57-amd64").
    pub version: String,
}

/// Where in the initramfs the agent finds its modules: `ORDER` names them one a line, in load
/// order, each at `MODULES_DIR/NAME.ko`.
pub const MODULES_DIR: &str = "/berth/modules";
pub const MODULES_ORDER: &str = "/berth/modules.order";

/// The kernel (the user's `--kernel`: a vmlinux ELF or a bzImage; else the newest
/// `/boot/vmlinuz-*-amd64` with 9p modules), its vmlinux and an initramfs whose `/init` is
/// this very binary (the guest agent), all cached under `cache_dir`.
pub fn guest_kernel(
    cache_dir: &Path,
    user_kernel: Option<&Path>,
    profile: Profile,
) -> Result<GuestKernel, VmError> {
    let agent = std::env::current_exe().map_err(|source| VmError::Read {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    guest_kernel_with_agent(cache_dir, user_kernel, profile, &agent)
}

/// [`guest_kernel`] with another binary as the agent (one that dispatches to
/// [`crate::agent::main`] when it is the guest's init): tests use their own executable.
pub fn guest_kernel_with_agent(
    cache_dir: &Path,
    user_kernel: Option<&Path>,
    profile: Profile,
    agent: &Path,
) -> Result<GuestKernel, VmError> {
    let kernel = match user_kernel {
        Some(path) => path.to_path_buf(),
        None => find_debian_kernel(Path::new("/boot"), Path::new("/lib/modules"))?,
    };
    let read_kernel = || {
        fs::read(&kernel).map_err(|source| VmError::Read {
            path: kernel.clone(),
            source,
        })
    };
    // The kernel is read whole only when its name does not say its version or its vmlinux is
    // not cached yet: a launch with everything cached reads a few bytes.
    let mut bytes = None;
    let version = match version_from_name(&kernel) {
        Some(version) => version,
        None => {
            let content = read_kernel()?;
            let version = kernel_version(&content);
            bytes = Some(content);
            version.ok_or_else(|| VmError::BadKernel {
                path: kernel.clone(),
                reason: "no \"Linux version\" string: not a Linux kernel".to_string(),
            })?
        }
    };
    fs::create_dir_all(cache_dir).map_err(|source| VmError::Write {
        path: cache_dir.to_path_buf(),
        source,
    })?;
    let kernel_key = file_key(&kernel)?;

    let vmlinux = if is_elf(&kernel)? {
        kernel.clone()
    } else {
        let cached = cache_dir.join(format!("vmlinux-{version}-{kernel_key}"));
        if !cached.exists() {
            let content = match bytes.take() {
                Some(content) => content,
                None => read_kernel()?,
            };
            let elf = extract_vmlinux(&kernel, &content)?;
            write_atomically(&cached, &elf)?;
        }
        cached
    };
    drop(bytes);

    let agent_key = file_key(agent)?;
    let initramfs = cache_dir.join(format!(
        "initramfs-{version}-{}-{kernel_key}-{agent_key}.cpio",
        profile.as_str()
    ));
    if !initramfs.exists() {
        let modules_dir = Path::new("/lib/modules").join(&version);
        // A user's kernel without a module tree has what it needs built in.
        let modules = if modules_dir.join("modules.dep").exists() {
            modules::prepare(&modules_dir, profile)?
        } else {
            Vec::new()
        };
        let (shell, programs) = match profile {
            Profile::Machine => (find_busybox(), machine_programs()),
            Profile::Container => (None, Vec::new()),
        };
        let archive = build_initramfs(agent, &modules, shell.as_deref(), &programs)?;
        write_atomically(&initramfs, &archive)?;
        remove_other_agents_initramfs(cache_dir, &agent_key);
    }
    Ok(GuestKernel {
        vmlinux,
        initramfs,
        version,
    })
}

/// Removes the initramfs files of other berth binaries (every rebuild of berth makes a new
/// one, tens of MB for a debug build), keeping this binary's for every kernel and profile. A
/// guest booting from one has read it already (QEMU reads the initrd whole when it starts);
/// one written in the last minute may be about to boot another berth binary's guest and stays.
fn remove_other_agents_initramfs(cache_dir: &Path, agent_key: &str) {
    let recent = |entry: &fs::DirEntry| {
        entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_none_or(|age| age < std::time::Duration::from_secs(60))
    };
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("initramfs-")
            && name.ends_with(".cpio")
            && !name.ends_with(&format!("-{agent_key}.cpio"))
            && !recent(&entry)
        {
            let _ = fs::remove_file(&path);
        }
    }
}

/// The newest `vmlinuz-*-amd64` in `boot` (not `-cloud-amd64`, whose kernel has no 9p) with
/// the 9p module in `modules_root/VERSION`.
fn find_debian_kernel(boot: &Path, modules_root: &Path) -> Result<PathBuf, VmError> {
    let looked_for = || VmError::NoKernel {
        looked_for: format!(
            "{}/vmlinuz-*-amd64 with 9p modules in {}",
            boot.display(),
            modules_root.display()
        ),
    };
    let entries = fs::read_dir(boot).map_err(|_| looked_for())?;
    let mut candidates: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some(name.strip_prefix("vmlinuz-")?.to_string()))
        .filter(|version| version.ends_with("-amd64") && !version.ends_with("-cloud-amd64"))
        .filter(|version| {
            modules_root
                .join(version)
                .join("kernel/fs/9p/9p.ko")
                .exists()
                || modules_root
                    .join(version)
                    .join("kernel/fs/9p/9p.ko.xz")
                    .exists()
        })
        .collect();
    candidates.sort_by(|a, b| natural_cmp(a, b));
    let newest = candidates.pop().ok_or_else(looked_for)?;
    Ok(boot.join(format!("vmlinuz-{newest}")))
}

/// Compares version strings with their digit runs as numbers ("6.1.0-10" after "6.1.0-9").
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        let mut chars = s.chars().peekable();
        while chars.peek().is_some() {
            let digits: String =
                std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
            let rest: String =
                std::iter::from_fn(|| chars.next_if(|c| !c.is_ascii_digit())).collect();
            out.push((digits.parse().unwrap_or(0), rest));
        }
        out
    }
    parts(a).cmp(&parts(b))
}

/// The release a Debian kernel's file name carries (`vmlinuz-RELEASE`).
fn version_from_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    Some(name.strip_prefix("vmlinuz-")?.to_string()).filter(|v| !v.is_empty())
}

/// Whether the file starts as an ELF (an uncompressed vmlinux).
fn is_elf(path: &Path) -> Result<bool, VmError> {
    let mut magic = [0u8; 4];
    let mut file = fs::File::open(path).map_err(|source| VmError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(file.read_exact(&mut magic).is_ok() && &magic == b"\x7fELF")
}

/// The release from the bzImage header's version string, else from the "Linux version
/// RELEASE" banner inside the file.
fn kernel_version(bytes: &[u8]) -> Option<String> {
    // bzImage: "HdrS" at 0x202, kernel_version (u16, relative to 0x200) at 0x20E.
    if bytes.len() > 0x210 && &bytes[0x202..0x206] == b"HdrS" {
        let offset = u16::from_le_bytes([bytes[0x20E], bytes[0x20F]]) as usize + 0x200;
        if let Some(text) = bytes.get(offset..(offset + 64).min(bytes.len())) {
            let word = text.split(|&b| b == b' ' || b == 0).next()?;
            return Some(String::from_utf8_lossy(word).into_owned());
        }
    }
    let banner = b"Linux version ";
    let at = bytes.windows(banner.len()).position(|w| w == banner)? + banner.len();
    let word = bytes[at..].split(|&b| b == b' ' || b == 0).next()?;
    Some(String::from_utf8_lossy(word).into_owned()).filter(|v| !v.is_empty())
}

/// The XZ stream's magic: the payload of Debian's bzImage.
const XZ_MAGIC: &[u8] = &[0xFD, b'7', b'z', b'X', b'Z', 0x00];

/// A gzip member's magic (deflate): other distributions' bzImages.
const GZIP_MAGIC: &[u8] = &[0x1F, 0x8B, 0x08];

/// The ELF vmlinux inside a bzImage: the first XZ (Debian's) or gzip stream that decompresses
/// to an ELF.
pub fn extract_vmlinux(path: &Path, bzimage: &[u8]) -> Result<Vec<u8>, VmError> {
    let mut last_error = None;
    for magic in [XZ_MAGIC, GZIP_MAGIC] {
        let mut start = 0;
        while let Some(found) = bzimage[start..]
            .windows(magic.len())
            .position(|w| w == magic)
        {
            let at = start + found;
            start = at + 1;
            let mut out = Vec::new();
            // One stream: the decoder stops at its end, whatever follows in the bzImage.
            let decoded = if magic == XZ_MAGIC {
                liblzma::read::XzDecoder::new(&bzimage[at..]).read_to_end(&mut out)
            } else {
                flate2::read::GzDecoder::new(&bzimage[at..]).read_to_end(&mut out)
            };
            match decoded {
                Ok(_) if out.starts_with(b"\x7fELF") => return Ok(out),
                Ok(_) => {}
                Err(e) => last_error = Some(e),
            }
        }
    }
    if let Some(source) = last_error {
        return Err(VmError::Decompress {
            path: path.to_path_buf(),
            source,
        });
    }
    Err(VmError::BadKernel {
        path: path.to_path_buf(),
        reason: "neither an ELF vmlinux nor a bzImage with an XZ- or gzip-compressed kernel; \
                 pass an uncompressed vmlinux with a PVH entry"
            .to_string(),
    })
}

/// A cheap identity of a file's content: size, modification time and inode (hashing a 60 MB
/// debug binary at every launch would cost more than the boot saves).
fn file_key(path: &Path) -> Result<String, VmError> {
    let meta = fs::metadata(path).map_err(|source| VmError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(format!(
        "{:x}-{:x}{:x}-{:x}",
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino()
    ))
}

/// Writes `path` whole or not at all: a temporary file in the same directory, renamed.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), VmError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let write_error = |source| VmError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
    temp.write_all(bytes).map_err(write_error)?;
    temp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

/// The initramfs: the agent as `/init`, its libraries where the dynamic loader looks, the
/// modules and their order, and the empty mount points the agent uses.
fn build_initramfs(
    agent: &Path,
    modules: &[modules::PreparedModule],
    busybox: Option<&Path>,
    programs: &[PathBuf],
) -> Result<Vec<u8>, VmError> {
    let agent_bytes = fs::read(agent).map_err(|source| VmError::Read {
        path: agent.to_path_buf(),
        source,
    })?;
    let agent_bytes = strip_to_segments(&agent_bytes).unwrap_or(agent_bytes);
    // Each library once, however many programs load it.
    let mut libraries = std::collections::BTreeSet::new();
    libraries.extend(shared_libraries(agent)?);
    for program in programs {
        libraries.extend(shared_libraries(program)?);
    }

    let io_error = |source| VmError::Write {
        path: PathBuf::from("(initramfs)"),
        source,
    };
    let mut cpio = initramfs::Writer::new(Vec::with_capacity(agent_bytes.len() + (8 << 20)));
    let mut made_dirs = std::collections::BTreeSet::new();
    for dir in [
        "/dev",
        "/proc",
        "/sys",
        "/run",
        "/tmp",
        "/newroot",
        "/berth",
        MODULES_DIR,
    ] {
        make_dirs(&mut cpio, &mut made_dirs, dir).map_err(io_error)?;
    }
    cpio.file("/init", 0o755, &agent_bytes).map_err(io_error)?;
    for library in &libraries {
        let content = fs::read(library).map_err(|source| VmError::Read {
            path: library.clone(),
            source,
        })?;
        let path = library.to_string_lossy();
        if let Some(parent) = library.parent() {
            make_dirs(&mut cpio, &mut made_dirs, &parent.to_string_lossy()).map_err(io_error)?;
        }
        cpio.file(&path, 0o755, &content).map_err(io_error)?;
    }
    for program in programs {
        let content = fs::read(program).map_err(|source| VmError::Read {
            path: program.clone(),
            source,
        })?;
        if let Some(parent) = program.parent() {
            make_dirs(&mut cpio, &mut made_dirs, &parent.to_string_lossy()).map_err(io_error)?;
        }
        cpio.file(&program.to_string_lossy(), 0o755, &content)
            .map_err(io_error)?;
    }
    if let Some(busybox) = busybox {
        let content = fs::read(busybox).map_err(|source| VmError::Read {
            path: busybox.to_path_buf(),
            source,
        })?;
        make_dirs(&mut cpio, &mut made_dirs, "/bin").map_err(io_error)?;
        cpio.file("/bin/busybox", 0o755, &content)
            .map_err(io_error)?;
        for applet in SHELL_APPLETS {
            cpio.symlink(&format!("/bin/{applet}"), "busybox")
                .map_err(io_error)?;
        }
    }
    let mut order = String::new();
    for module in modules {
        cpio.file(
            &format!("{MODULES_DIR}/{}.ko", module.name),
            0o644,
            &module.bytes,
        )
        .map_err(io_error)?;
        order.push_str(&module.name);
        order.push('\n');
    }
    cpio.file(MODULES_ORDER, 0o644, order.as_bytes())
        .map_err(io_error)?;
    cpio.finish().map_err(io_error)
}

/// The commands a machine's shell (`berth machine ssh`, `scp`) offers, all busybox applets.
const SHELL_APPLETS: &[&str] = &[
    "sh",
    "ash",
    "cat",
    "ls",
    "ps",
    "mount",
    "umount",
    "ip",
    "df",
    "du",
    "mkdir",
    "rm",
    "rmdir",
    "mv",
    "cp",
    "ln",
    "chmod",
    "chown",
    "echo",
    "printf",
    "id",
    "uname",
    "env",
    "sleep",
    "kill",
    "test",
    "[",
    "true",
    "false",
    "head",
    "tail",
    "grep",
    "sed",
    "awk",
    "wc",
    "sort",
    "uniq",
    "sync",
    "tar",
    "gzip",
    "gunzip",
    "free",
    "top",
    "dmesg",
    "vi",
    "less",
    "more",
    "find",
    "xargs",
    "touch",
    "date",
    "hostname",
    "ping",
    "wget",
    "nc",
    "netstat",
    "stat",
    "which",
    "clear",
    "reset",
    "stty",
    "tr",
    "cut",
    "tee",
    "basename",
    "dirname",
    "readlink",
    "pwd",
    "unshare",
    "pivot_root",
    "nsenter",
    "chroot",
];

/// The host programs a Docker host in a machine runs besides berth, at their host paths with
/// their libraries: `nft`, which berth's firewall and embedded DNS load their rules with. A
/// program the host lacks is left out (berth then works without it, as on such a host).
fn machine_programs() -> Vec<PathBuf> {
    ["/usr/sbin/nft"]
        .into_iter()
        .map(PathBuf::from)
        .filter(|path| path.is_file())
        .collect()
}

/// The host's static busybox (busybox-static): a machine's shell. A machine without it still
/// serves the Docker API; only its shell is missing.
fn find_busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// Writes `dir` and every parent not written yet.
fn make_dirs(
    cpio: &mut initramfs::Writer<Vec<u8>>,
    made: &mut std::collections::BTreeSet<String>,
    dir: &str,
) -> std::io::Result<()> {
    let mut path = String::new();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        path.push('/');
        path.push_str(part);
        if made.insert(path.clone()) {
            cpio.directory(&path, 0o755)?;
        }
    }
    Ok(())
}

/// The shared libraries `binary` loads, the dynamic loader among them, as `ldd` resolves
/// them (ldd is part of glibc's libc-bin, always installed where a glibc binary runs; reading
/// DT_NEEDED by hand would also mean re-implementing the loader's search path).
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, VmError> {
    let failed = |reason: String| VmError::Libraries {
        binary: binary.to_path_buf(),
        reason,
    };
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| failed(format!("running ldd: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // A static binary needs nothing.
        if text.contains("not a dynamic executable")
            || String::from_utf8_lossy(&output.stderr).contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    let mut libraries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.contains("not found") {
            return Err(failed(format!("ldd: {line}")));
        }
        let path = match line.split_once("=>") {
            Some((_, resolved)) => resolved.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or("").trim();
        if path.starts_with('/') {
            libraries.push(PathBuf::from(path));
        }
    }
    Ok(libraries)
}

/// The executable without what it does not need to run: everything after the last byte a
/// program header covers (debug info, the symbol table, the section headers), which is most of
/// a debug build. The kernel and the dynamic loader read only program headers; the section
/// header fields are zeroed so nothing reads past the end. `None` when the file is not an
/// ELF64 this understands (it is then copied as is).
fn strip_to_segments(elf: &[u8]) -> Option<Vec<u8>> {
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return None;
    }
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let u64_at = |at: usize| -> Option<usize> {
        Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?) as usize)
    };
    let program_headers = u64_at(0x20)?;
    let (entry_size, count) = (u16_at(0x36), u16_at(0x38));
    let mut end = program_headers + entry_size * count;
    for i in 0..count {
        let header = program_headers + i * entry_size;
        let offset = u64_at(header + 0x08)?;
        let file_size = u64_at(header + 0x20)?;
        end = end.max(offset + file_size);
    }
    if end > elf.len() {
        return None;
    }
    let mut stripped = elf[..end].to_vec();
    stripped[0x28..0x30].fill(0); // e_shoff
    stripped[0x3C..0x40].fill(0); // e_shnum, e_shstrndx
    Some(stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_no_kernel_is_a_clear_error() {
        let err = extract_vmlinux(Path::new("/x/notakernel"), b"just some text").unwrap_err();
        assert!(
            err.to_string()
                .contains("neither an ELF vmlinux nor a bzImage"),
            "{err}"
        );
        // The XZ magic followed by garbage: a decompression error, not a panic.
        let mut fake = b"header".to_vec();
        fake.extend_from_slice(XZ_MAGIC);
        fake.extend_from_slice(&[0xAA; 64]);
        assert!(matches!(
            extract_vmlinux(Path::new("/x/fake"), &fake),
            Err(VmError::Decompress { .. })
        ));
    }

    #[test]
    fn an_xz_payload_in_a_wrapper_is_found_and_trailing_bytes_ignored() {
        let elf = b"\x7fELF pretend kernel image".repeat(100);
        let mut compressed = Vec::new();
        let mut encoder = liblzma::write::XzEncoder::new(&mut compressed, 1);
        encoder.write_all(&elf).unwrap();
        encoder.finish().unwrap();
        let mut bzimage = vec![0u8; 1000];
        bzimage.extend_from_slice(&compressed);
        bzimage.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(extract_vmlinux(Path::new("/x/bz"), &bzimage).unwrap(), elf);
    }

    #[test]
    fn a_gzip_payload_is_found_too() {
        let elf = b"\x7fELF another kernel".repeat(50);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&elf).unwrap();
        let mut bzimage = vec![7u8; 600];
        bzimage.extend_from_slice(&encoder.finish().unwrap());
        bzimage.extend_from_slice(&[9; 8]);
        assert_eq!(extract_vmlinux(Path::new("/x/bz"), &bzimage).unwrap(), elf);
    }

    #[test]
    fn the_newest_debian_kernel_with_9p_wins() {
        let dir = tempfile::tempdir().unwrap();
        let boot = dir.path().join("boot");
        let modules = dir.path().join("modules");
        fs::create_dir_all(&boot).unwrap();
        for version in [
            "6.1.0-9-amd64",
            "6.1.0-10-amd64",
            "6.1.0-11-cloud-amd64",
            "6.1.0-12-amd64",
        ] {
            fs::write(boot.join(format!("vmlinuz-{version}")), b"k").unwrap();
        }
        for version in ["6.1.0-9-amd64", "6.1.0-10-amd64", "6.1.0-11-cloud-amd64"] {
            let fs9p = modules.join(version).join("kernel/fs/9p");
            fs::create_dir_all(&fs9p).unwrap();
            fs::write(fs9p.join("9p.ko"), b"m").unwrap();
        }
        // -12 has no modules, -11 is the cloud kernel: -10 it is, after -9 numerically.
        assert_eq!(
            find_debian_kernel(&boot, &modules).unwrap(),
            boot.join("vmlinuz-6.1.0-10-amd64")
        );
        let err = find_debian_kernel(&dir.path().join("none"), &modules).unwrap_err();
        assert!(
            err.to_string()
                .contains("apt-get install linux-image-amd64"),
            "{err}"
        );
    }

    #[test]
    fn a_new_agent_removes_only_other_agents_initramfs() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "initramfs-6.1-container-k1-old.cpio",
            "initramfs-6.1-container-k1-racing.cpio",
            "initramfs-6.1-container-k1-new.cpio",
            "initramfs-6.1-machine-k1-new.cpio",
            "vmlinux-6.1-k1",
        ];
        for name in names {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for name in [names[0], names[4]] {
            fs::File::options()
                .write(true)
                .open(dir.path().join(name))
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        }
        remove_other_agents_initramfs(dir.path(), "new");
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        // The old agent's goes; a just-written one (another binary booting now) stays.
        let mut expected = names[1..].to_vec();
        expected.sort();
        assert_eq!(left, expected);
    }

    #[test]
    fn stripping_keeps_every_segment_and_drops_the_rest() {
        let exe = fs::read("/proc/self/exe").unwrap();
        let stripped = strip_to_segments(&exe).unwrap();
        assert!(stripped.len() <= exe.len());
        assert_eq!(&stripped[..0x28], &exe[..0x28]);
        assert!(strip_to_segments(b"#!/bin/sh\n").is_none());
    }

    #[test]
    fn versions_come_from_the_name_or_the_banner() {
        assert_eq!(
            version_from_name(Path::new("/boot/vmlinuz-6.1.0-57-amd64")).as_deref(),
            Some("6.1.0-57-amd64")
        );
        assert_eq!(version_from_name(Path::new("/k/vmlinux")), None);
        assert_eq!(
            kernel_version(b"xx Linux version 6.9.1-own (me@host)").as_deref(),
            Some("6.9.1-own")
        );
        assert_eq!(kernel_version(b"nothing"), None);
    }
}
