//! Sizes on the command line: `--memory 2g`, `--disk 20GB`, `--memory 1024`. A plain number is
//! MiB, as docker-machine's `--*-memory` and `--*-disk-size` took MB. Suffixes b, k, m, g, t
//! (with an optional `b`/`ib`) are binary multiples, as Docker's `-m`.

use crate::MachineError;

const MIB: u64 = 1024 * 1024;

/// Parses a size into bytes; `what` names the flag in errors.
pub fn parse(what: &'static str, value: &str) -> Result<u64, MachineError> {
    let bad = |reason: &str| MachineError::BadSize {
        what,
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let text = value.trim().to_ascii_lowercase();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(bad(
            "expected a number with an optional unit (b, k, m, g, t)",
        ));
    }
    let number: u64 = digits.parse().map_err(|_| bad("the number is too large"))?;
    let unit: u64 = match suffix.trim() {
        "" | "m" | "mb" | "mib" => MIB,
        "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "g" | "gb" | "gib" => 1024 * MIB,
        "t" | "tb" | "tib" => 1024 * 1024 * MIB,
        _ => return Err(bad("unknown unit (use b, k, m, g or t)")),
    };
    number
        .checked_mul(unit)
        .ok_or_else(|| bad("the size is too large"))
}

/// A size at least `minimum` bytes, a whole number of MiB.
pub fn parse_at_least(what: &'static str, value: &str, minimum: u64) -> Result<u64, MachineError> {
    let bytes = parse(what, value)?;
    if bytes < minimum {
        return Err(MachineError::BadSize {
            what,
            value: value.to_string(),
            reason: format!("at least {} MiB", minimum / MIB),
        });
    }
    Ok(bytes / MIB * MIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_plain_mebibytes() {
        assert_eq!(parse("memory", "1024").unwrap(), 1024 * MIB);
        assert_eq!(parse("memory", "2g").unwrap(), 2048 * MIB);
        assert_eq!(parse("disk", "20GB").unwrap(), 20 * 1024 * MIB);
        assert_eq!(parse("disk", "512MiB").unwrap(), 512 * MIB);
        assert_eq!(parse("disk", "1t").unwrap(), 1024 * 1024 * MIB);
    }

    #[test]
    fn garbage_and_tiny_sizes_are_refused() {
        for bad in ["", "g", "-1", "12x", "1.5g", "99999999999999999999"] {
            assert!(parse("disk", bad).is_err(), "{bad}");
        }
        assert!(parse_at_least("memory", "64", 128 * MIB).is_err());
        assert_eq!(
            parse_at_least("memory", "128", 128 * MIB).unwrap(),
            128 * MIB
        );
    }
}
