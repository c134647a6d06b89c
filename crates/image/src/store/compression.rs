//! A layer's compression: detecting it from the first bytes and undoing it (gzip only), mapping
//! read errors through a tee, and a writer that hashes and counts what it writes.

use std::io::{self, Read, Write};
use std::path::Path;

use crate::Error;
use crate::digest::WriteFailed;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

fn detect(magic: &[u8]) -> Compression {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if magic.starts_with(b"BZh") {
        Compression::Bzip2
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else {
        Compression::None
    }
}

/// Reads the first bytes of `input`, detects the compression and returns a reader of the
/// decompressed stream (which starts with those bytes again). None = empty input.
pub(super) fn decompressed<'a, R: Read + 'a>(
    input: R,
) -> Result<Option<Box<dyn Read + 'a>>, Error> {
    Ok(decompressed_kind(input)?.map(|(reader, _)| reader))
}

/// A decompressed stream, and whether its input was compressed at all.
pub(super) type Decompressed<'a> = (Box<dyn Read + 'a>, bool);

/// [`decompressed`], also saying whether the input was compressed at all.
pub(super) fn decompressed_kind<'a, R: Read + 'a>(
    mut input: R,
) -> Result<Option<Decompressed<'a>>, Error> {
    let mut magic = [0u8; 6];
    let mut n = 0;
    while n < magic.len() {
        match input.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::InvalidTar(e)),
        }
    }
    if n == 0 {
        return Ok(None);
    }
    let full = io::Cursor::new(magic[..n].to_vec()).chain(input);
    Ok(Some(match detect(&magic[..n]) {
        Compression::None => (Box::new(full), false),
        Compression::Gzip => (Box::new(flate2::read::MultiGzDecoder::new(full)), true),
        Compression::Zstd => return Err(Error::UnsupportedCompression("zstd".into())),
        Compression::Bzip2 => return Err(Error::UnsupportedCompression("bzip2".into())),
        Compression::Xz => return Err(Error::UnsupportedCompression("xz".into())),
    }))
}

/// Maps an io error from reading through a TeeReader: write errors are store errors, the rest
/// are bad input.
pub(super) fn tee_error(e: io::Error, tmp: &Path) -> Error {
    if e.get_ref().is_some_and(|i| i.is::<WriteFailed>()) {
        let inner = e
            .into_inner()
            .and_then(|i| i.downcast::<WriteFailed>().ok());
        match inner {
            Some(w) => Error::io("write", tmp, w.0),
            None => Error::io("write", tmp, io::Error::other("write failed")),
        }
    } else {
        Error::InvalidTar(e)
    }
}

/// A writer that hashes and counts what goes through it.
pub(super) struct HashingWriter<W> {
    pub(super) inner: W,
    pub(super) hasher: sha2::Sha256,
    pub(super) size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
