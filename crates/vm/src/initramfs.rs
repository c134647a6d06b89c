//! A cpio archive in the kernel's "newc" format, the initramfs the guest kernel unpacks into
//! its rootfs. Hand-written (about 60 lines) rather than a crate: berth needs only directories,
//! regular files and symlinks written once, and the format is a fixed ASCII header per entry.
//! Kept uncompressed: under TCG the kernel's decompressor costs more than reading the bytes.

use std::io::{self, Write};

/// The newc magic (no checksums).
const MAGIC: &str = "070701";
const HEADER_LEN: usize = 110;

/// Writes entries one after another; [`Writer::finish`] writes the trailer.
pub struct Writer<W: Write> {
    out: W,
    next_inode: u32,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        Writer { out, next_inode: 1 }
    }

    /// A directory (its parents must come first, as the kernel creates entries in order).
    pub fn directory(&mut self, path: &str, mode: u32) -> io::Result<()> {
        self.entry(path, libc::S_IFDIR | (mode & 0o7777), &[])
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, mode: u32, content: &[u8]) -> io::Result<()> {
        self.entry(path, libc::S_IFREG | (mode & 0o7777), content)
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        self.entry(path, libc::S_IFLNK | 0o777, target.as_bytes())
    }

    /// The trailer; returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.entry("TRAILER!!!", 0, &[])?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn entry(&mut self, path: &str, mode: u32, content: &[u8]) -> io::Result<()> {
        let name = path.trim_start_matches('/');
        let name_size = name.len() + 1;
        let inode = if mode == 0 { 0 } else { self.next_inode };
        self.next_inode += 1;
        let nlink = if mode & libc::S_IFMT == libc::S_IFDIR {
            2
        } else {
            1
        };
        let header = format!(
            "{MAGIC}{inode:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}\
             {dev_major:08x}{dev_minor:08x}{rdev_major:08x}{rdev_minor:08x}{name_size:08x}{check:08x}",
            uid = 0,
            gid = 0,
            mtime = 0,
            size = content.len(),
            dev_major = 0,
            dev_minor = 0,
            rdev_major = 0,
            rdev_minor = 0,
            check = 0,
        );
        debug_assert_eq!(header.len(), HEADER_LEN);
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.pad(HEADER_LEN + name_size)?;
        self.out.write_all(content)?;
        self.pad(content.len())
    }

    /// Header+name and data each end on a 4-byte boundary.
    fn pad(&mut self, written: usize) -> io::Result<()> {
        let padding = (4 - written % 4) % 4;
        self.out.write_all(&[0u8; 3][..padding])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (path, mode, content) of every entry but the trailer: a reader of the format written
    /// independently of the writer's code.
    fn read_back(mut archive: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut entries = Vec::new();
        let mut offset = 0;
        loop {
            assert_eq!(&archive[..6], MAGIC.as_bytes(), "at offset {offset}");
            let field = |i: usize| {
                let text = std::str::from_utf8(&archive[6 + 8 * i..14 + 8 * i]).unwrap();
                usize::from_str_radix(text, 16).unwrap()
            };
            let (mode, size, name_size) = (field(1) as u32, field(6), field(11));
            let name = String::from_utf8(archive[HEADER_LEN..HEADER_LEN + name_size - 1].to_vec())
                .unwrap();
            let data_start = (HEADER_LEN + name_size).div_ceil(4) * 4;
            let data = archive[data_start..data_start + size].to_vec();
            let next = (data_start + size).div_ceil(4) * 4;
            offset += next;
            archive = &archive[next..];
            if name == "TRAILER!!!" {
                assert!(archive.is_empty());
                return entries;
            }
            entries.push((name, mode, data));
        }
    }

    fn sample() -> Vec<u8> {
        let mut writer = Writer::new(Vec::new());
        writer.directory("/lib", 0o755).unwrap();
        writer.file("/lib/a.ko", 0o644, b"odd-length").unwrap();
        writer.file("/init", 0o755, b"\x7fELF").unwrap();
        writer.symlink("/lib64", "lib").unwrap();
        writer.finish().unwrap()
    }

    #[test]
    fn entries_read_back_as_written() {
        let entries = read_back(&sample());
        assert_eq!(
            entries,
            [
                ("lib".to_string(), libc::S_IFDIR | 0o755, vec![]),
                (
                    "lib/a.ko".to_string(),
                    libc::S_IFREG | 0o644,
                    b"odd-length".to_vec()
                ),
                (
                    "init".to_string(),
                    libc::S_IFREG | 0o755,
                    b"\x7fELF".to_vec()
                ),
                ("lib64".to_string(), libc::S_IFLNK | 0o777, b"lib".to_vec()),
            ]
        );
    }

    #[test]
    fn the_cpio_tool_lists_the_archive() {
        let Ok(mut child) = std::process::Command::new("cpio")
            .args(["-t", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            // The independent reader above already checks the format; the tool is a second
            // opinion where it is installed.
            return;
        };
        child.stdin.take().unwrap().write_all(&sample()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            "lib\nlib/a.ko\ninit\nlib64\n"
        );
    }
}
