//! The log file berth keeps for `logs` (the `json-file` and `local` drivers, and the remote
//! drivers' cache): Docker's json-file lines, `{"log":"text\n","stream":"stdout","time":"..."}`,
//! in `<id>-json.log`, rotated as `max-size`/`max-file`/`compress` say: the live file moves to
//! `.1` (gzip-compressed to `.1.gz` with `compress`), `.1` to `.2`, and the oldest goes.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Stream;
use super::settings::Rotation;
use super::writer::{LogSink, Stamp};

#[derive(Serialize, Deserialize)]
pub(super) struct Entry<'a> {
    pub log: std::borrow::Cow<'a, str>,
    pub stream: std::borrow::Cow<'a, str>,
    pub time: std::borrow::Cow<'a, str>,
}

/// The log file being written, with its rotation.
pub(super) struct JsonFile {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Rotation,
    /// Entries of the current batch, written with one write(2).
    pending: Vec<u8>,
}

impl JsonFile {
    pub(super) fn open(path: &Path, rotation: Rotation) -> std::io::Result<JsonFile> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(JsonFile {
            path: path.to_path_buf(),
            file,
            size,
            rotation,
            pending: Vec::with_capacity(4096),
        })
    }

    /// Writes the batch's entries to the live file.
    fn write_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if self.file.write_all(&self.pending).is_ok() {
            self.size += self.pending.len() as u64;
        }
        self.pending.clear();
    }

    /// Rotates before the last entry of the batch (from `start` in `pending`) when it would
    /// take the live file past its size, as Docker checks each message: one batch of lines
    /// may span several files.
    fn rotate_before(&mut self, start: usize) {
        let before = self.size + start as u64;
        let after = self.size + self.pending.len() as u64;
        if self.rotation.max_size == 0 || before == 0 || after <= self.rotation.max_size {
            return;
        }
        let entry = self.pending.split_off(start);
        self.write_pending();
        self.pending = entry;
        // Losing the rotation keeps the lines: the file only grows past its size.
        let _ = self.rotate();
    }

    /// Moves the live file down the chain of rotated ones and starts a new one.
    fn rotate(&mut self) -> std::io::Result<()> {
        let max = self.rotation.max_files;
        if max <= 1 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(rotated(&self.path, max - 1, false));
        let _ = std::fs::remove_file(rotated(&self.path, max - 1, true));
        for n in (1..max - 1).rev() {
            for gz in [false, true] {
                let from = rotated(&self.path, n, gz);
                if from.exists() {
                    std::fs::rename(&from, rotated(&self.path, n + 1, gz))?;
                }
            }
        }
        let first = rotated(&self.path, 1, false);
        std::fs::rename(&self.path, &first)?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        if self.rotation.compress {
            compress(&first)?;
        }
        Ok(())
    }
}

impl LogSink for JsonFile {
    fn line(&mut self, stream: Stream, line: &[u8], stamp: &Stamp) {
        let entry = Entry {
            log: String::from_utf8_lossy(line),
            stream: stream.name().into(),
            time: stamp.rfc3339.as_str().into(),
        };
        let start = self.pending.len();
        if serde_json::to_writer(&mut self.pending, &entry).is_err() {
            self.pending.truncate(start);
            return;
        }
        self.pending.push(b'\n');
        self.rotate_before(start);
    }

    fn flush(&mut self) {
        self.write_pending();
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// `<log>.N` or `<log>.N.gz`.
fn rotated(path: &Path, n: u32, gz: bool) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}{}", if gz { ".gz" } else { "" }));
    PathBuf::from(name)
}

/// Replaces `path` by `path.gz`, atomically: a reader sees one or the other, whole.
fn compress(path: &Path) -> std::io::Result<()> {
    let mut gz_name = path.as_os_str().to_owned();
    gz_name.push(".gz");
    let gz_path = PathBuf::from(gz_name);
    let mut tmp_name = gz_path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut input = File::open(path)?;
    let mut encoder =
        flate2::write::GzEncoder::new(File::create(&tmp)?, flate2::Compression::default());
    std::io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.sync_all()?;
    std::fs::rename(&tmp, &gz_path)?;
    std::fs::remove_file(path)
}

/// The rotated files of the log at `path`, oldest first, each with whether it is compressed.
/// Found by listing the directory, not by counting up from `.1`: a rotation killed between two
/// renames leaves a gap in the numbers, and the files past it are still the log's.
fn rotated_files(path: &Path) -> Vec<(PathBuf, bool)> {
    let (Some(dir), Some(base)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let prefix = format!("{}.", base.to_string_lossy());
    let mut found: Vec<(u32, PathBuf, bool)> = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let (number, gz) = match rest.strip_suffix(".gz") {
            Some(n) => (n, true),
            None => (rest, false),
        };
        if let Ok(n) = number.parse::<u32>() {
            found.push((n, entry.path(), gz));
        }
    }
    // Oldest (highest number) first; of a file there twice (a kill between compressing and
    // removing the plain one), the plain copy.
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)));
    found.dedup_by_key(|f| f.0);
    found.into_iter().map(|(_, file, gz)| (file, gz)).collect()
}

/// A rotated file's reader, decompressing; None when it was rotated away meanwhile.
fn open_rotated(file: &Path, gz: bool) -> std::io::Result<Option<Box<dyn Read>>> {
    match File::open(file) {
        Ok(f) if gz => Ok(Some(Box::new(flate2::read::GzDecoder::new(f)))),
        Ok(f) => Ok(Some(Box::new(f))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The contents of the rotated files of the log at `path`, oldest first (the live file not
/// included), decompressed.
pub(super) fn read_rotated(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for (file, gz) in rotated_files(path) {
        if let Some(mut reader) = open_rotated(&file, gz)? {
            reader.read_to_end(&mut out)?;
        }
    }
    Ok(out)
}

/// The first line of a log file (its first entry, unique by its nanosecond time).
fn first_line(reader: impl Read) -> Vec<u8> {
    let mut line = Vec::new();
    let _ = std::io::BufRead::read_until(&mut std::io::BufReader::new(reader), b'\n', &mut line);
    line
}

/// What a follower missed when the log rotated under it: the files rotated after the one it
/// was reading (`reading`, told apart by its first line, as compression replaces its inode)
/// and before the live one it goes on with (`next`, by inode), oldest first. Had the reader's
/// file already gone (max-file), every rotated file is newer than it.
pub(super) fn read_rotated_between(path: &Path, reading: &File, next: &File) -> Vec<u8> {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let mut head = vec![0u8; 64 * 1024];
    let n = reading.read_at(&mut head, 0).unwrap_or(0);
    head.truncate(n);
    let reading_first = first_line(&head[..]);
    let next_id = next.metadata().map(|m| (m.dev(), m.ino())).ok();
    let files = rotated_files(path);
    let mut start = 0;
    let mut end = files.len();
    for (k, (file, gz)) in files.iter().enumerate() {
        if !*gz
            && let Ok(m) = std::fs::metadata(file)
            && Some((m.dev(), m.ino())) == next_id
        {
            end = k;
            break;
        }
        if let Ok(Some(reader)) = open_rotated(file, *gz)
            && !reading_first.is_empty()
            && first_line(reader) == reading_first
        {
            start = k + 1;
        }
    }
    let mut out = Vec::new();
    for (file, gz) in files.get(start..end).unwrap_or_default() {
        if let Ok(Some(mut reader)) = open_rotated(file, *gz) {
            let _ = reader.read_to_end(&mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp::now()
    }

    #[test]
    fn rotates_keeps_max_files_and_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        for compress in [false, true] {
            let rotation = Rotation {
                max_size: 200,
                max_files: 3,
                compress,
            };
            let mut file = JsonFile::open(&path, rotation).unwrap();
            for i in 0..40 {
                file.line(
                    Stream::Stdout,
                    format!("line {i:02}\n").as_bytes(),
                    &stamp(),
                );
                file.flush();
            }
            assert!(std::fs::metadata(&path).unwrap().len() <= 200);
            assert!(rotated(&path, 2, compress).exists());
            assert!(!rotated(&path, 3, compress).exists());
            assert!(!rotated(&path, 3, !compress).exists());
            let mut all = read_rotated(&path).unwrap();
            all.extend(std::fs::read(&path).unwrap());
            let lines: Vec<String> = String::from_utf8(all)
                .unwrap()
                .lines()
                .map(|l| {
                    serde_json::from_str::<Entry<'_>>(l)
                        .unwrap()
                        .log
                        .into_owned()
                })
                .collect();
            // The newest lines survive, in order, with nothing in between lost.
            assert_eq!(lines.last().unwrap(), "line 39\n");
            let first: usize = lines[0][5..7].parse().unwrap();
            assert!(first > 0, "nothing was rotated away");
            for (k, line) in lines.iter().enumerate() {
                assert_eq!(*line, format!("line {:02}\n", first + k));
            }
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
        }
    }

    #[test]
    fn a_gap_left_by_a_killed_rotation_hides_no_older_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        std::fs::write(rotated(&path, 3, true), b"").unwrap();
        std::fs::write(rotated(&path, 3, false), b"three\n").unwrap();
        std::fs::write(rotated(&path, 1, false), b"one\n").unwrap();
        std::fs::write(path.with_extension("log.tmp"), b"not a rotated file\n").unwrap();
        assert_eq!(read_rotated(&path).unwrap(), b"three\none\n");
    }

    #[test]
    fn one_file_is_truncated_instead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let rotation = Rotation {
            max_size: 100,
            max_files: 1,
            compress: false,
        };
        let mut file = JsonFile::open(&path, rotation).unwrap();
        for i in 0..10 {
            file.line(Stream::Stderr, format!("l{i}\n").as_bytes(), &stamp());
            file.flush();
        }
        assert!(std::fs::metadata(&path).unwrap().len() <= 100);
        assert!(!rotated(&path, 1, false).exists());
    }
}
