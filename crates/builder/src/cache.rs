//! Build cache keys. A stage's state is identified by a chain of keys: the base image's id,
//! then, for every instruction, the hash of the previous key and what the instruction did
//! (its expanded text, the build args it saw, the digests of the files it read). The
//! `build_cache` table maps a key to the image of that state; equal keys mean equal images.

use sha2::{Digest, Sha256};

/// The next key in a chain.
pub fn chain(previous: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    for p in parts {
        h.update(b"\0");
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_depend_on_every_part() {
        let a = super::chain("base", &["RUN", "echo hi"]);
        assert_eq!(a, super::chain("base", &["RUN", "echo hi"]));
        assert_ne!(a, super::chain("base2", &["RUN", "echo hi"]));
        assert_ne!(a, super::chain("base", &["RUN", "echo hi "]));
        assert_ne!(
            super::chain("b", &["a", "bc"]),
            super::chain("b", &["ab", "c"])
        );
    }
}
