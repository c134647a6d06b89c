//! `--cap-add` / `--cap-drop`: Docker's capability name normalisation.

use std::collections::BTreeSet;

/// Docker's capability normalization: upper case, `CAP_` prefix (except `ALL`), de-duplicated
/// and sorted.
pub fn normalize_caps(caps: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = caps
        .iter()
        .map(|c| {
            let c = c.to_uppercase();
            if c == "ALL" || c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        })
        .collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_prefixed_sorted_and_unique() {
        let caps = ["net_admin", "CAP_CHOWN", "all", "Net_Admin"].map(String::from);
        assert_eq!(normalize_caps(&caps), ["ALL", "CAP_CHOWN", "CAP_NET_ADMIN"]);
    }
}
