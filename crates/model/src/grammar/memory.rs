//! Memory sizes (`-m 64m`, `--memory-swap 1g`, `tmpfs-size=`): go-units' RAMInBytes.

use super::go_value::parse_go_float;

/// Docker's RAMInBytes (docker/go-units): a decimal number, an optional single space, and an
/// optional case-insensitive binary unit `b`, `k`, `m`, `g`, `t`, `p`, the last five optionally
/// followed by `b` or `ib` ("64m", "1.5g", "512KiB", "12 MB"). Negative sizes are invalid
/// (`--memory-swap -1` is handled by its flag, not here).
pub fn parse_memory(value: &str) -> Result<i64, String> {
    let invalid_size = || format!("invalid size: '{value}'");
    let Some(sep) = value.rfind(|ch: char| ch.is_ascii_digit() || ch == '.' || ch == ' ') else {
        return Err(invalid_size());
    };
    let (number, suffix) = if value.as_bytes()[sep] == b' ' {
        (&value[..sep], &value[sep + 1..])
    } else {
        (&value[..=sep], &value[sep + 1..])
    };
    let mut size = parse_go_float(number)?;
    if size < 0.0 {
        return Err(invalid_size());
    }
    if !suffix.is_empty() {
        let bad_suffix = |sfx: &str| format!("invalid suffix: '{sfx}'");
        if suffix.chars().count() > 3 {
            return Err(bad_suffix(suffix));
        }
        let sfx = suffix.to_ascii_lowercase();
        let (first, rest) = sfx.split_at(sfx.chars().next().map_or(0, char::len_utf8));
        let exponent = match first {
            "b" if rest.is_empty() => 0,
            "k" => 1,
            "m" => 2,
            "g" => 3,
            "t" => 4,
            "p" => 5,
            _ => return Err(bad_suffix(&sfx)),
        };
        if !matches!(rest, "" | "b" | "ib") || (first == "b" && !rest.is_empty()) {
            return Err(bad_suffix(&sfx));
        }
        size *= 1024f64.powi(exponent);
    }
    // Go's int64(float64) on amd64: out of range gives the "integer indefinite" value.
    if size >= 9_223_372_036_854_775_808.0 {
        return Ok(i64::MIN);
    }
    Ok(size as i64)
}
