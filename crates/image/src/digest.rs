//! sha256 digests: parsing/validating ids, hashing while streaming, OCI chain ids.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use crate::Error;

/// Returns the 64 lowercase hex characters of a digest given as "sha256:<hex>" or bare hex.
/// Validating here is what keeps a digest from ever being a path like "../x".
pub fn hex_of(id: &str) -> Result<&str, Error> {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    if hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(hex)
    } else {
        Err(Error::InvalidDigest(id.to_string()))
    }
}

/// "sha256:<hex>" of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// OCI chain ids: chainid(L0) = diffid(L0); chainid(Ln) = sha256(chainid(Ln-1) + " " + diffid(Ln)).
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => sha256_digest(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// A reader that hashes and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    /// ("sha256:<hex>", bytes read).
    pub fn finish(self) -> (String, u64) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// A reader that copies everything read through it into a writer (the tmp blob file) and hashes it.
pub struct TeeReader<R, W> {
    inner: HashingReader<R>,
    out: W,
}

impl<R: Read, W: Write> TeeReader<R, W> {
    pub fn new(inner: R, out: W) -> Self {
        TeeReader {
            inner: HashingReader::new(inner),
            out,
        }
    }
    pub fn finish(self) -> (String, u64, W) {
        let (d, n) = self.inner.finish();
        (d, n, self.out)
    }
}

impl<R: Read, W: Write> Read for TeeReader<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // A write failure is reported as an io error with a recognizable kind so the caller can
        // tell "disk full" from "bad tar"; we wrap it in a custom error carrying a marker.
        self.out
            .write_all(&buf[..n])
            .map_err(|e| io::Error::new(e.kind(), WriteFailed(e)))?;
        Ok(n)
    }
}

/// Marks an io error that came from writing the tmp blob (not from reading the input).
#[derive(Debug)]
pub struct WriteFailed(pub io::Error);

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing blob: {}", self.0)
    }
}

impl std::error::Error for WriteFailed {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_validation() {
        let h = "a".repeat(64);
        assert_eq!(hex_of(&format!("sha256:{h}")).unwrap(), h);
        assert_eq!(hex_of(&h).unwrap(), h);
        assert!(hex_of("sha256:../../etc").is_err());
        assert!(hex_of(&"A".repeat(64)).is_err());
        assert!(hex_of("sha512:abc").is_err());
    }

    #[test]
    fn chain_id_definition() {
        let a = sha256_digest(b"a");
        let b = sha256_digest(b"b");
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(c[1], sha256_digest(format!("{a} {b}").as_bytes()));
    }
}
