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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_go_units() {
        let table: &[(&str, Result<i64, &str>)] = &[
            ("64m", Ok(67108864)),
            ("1g", Ok(1 << 30)),
            ("1.5g", Ok(1610612736)),
            ("512", Ok(512)),
            ("512k", Ok(512 * 1024)),
            ("512KiB", Ok(512 * 1024)),
            ("1GiB", Ok(1 << 30)),
            ("12MB", Ok(12 << 20)),
            ("12K", Ok(12 << 10)),
            ("12B", Ok(12)),
            ("12 m", Ok(12 << 20)),
            ("12 ", Ok(12)),
            ("12.m", Ok(12 << 20)),
            ("12.7", Ok(12)),
            ("+12", Ok(12)),
            ("1.5e3k", Ok(1536000)),
            ("0", Ok(0)),
            ("1t", Ok(1 << 40)),
            ("1p", Ok(1 << 50)),
            ("12zz", Err("invalid suffix: 'zz'")),
            ("12ZZZZ", Err("invalid suffix: 'ZZZZ'")),
            ("12iB", Err("invalid suffix: 'ib'")),
            ("12Ki", Err("invalid suffix: 'ki'")),
            ("12kibb", Err("invalid suffix: 'kibb'")),
            ("12bb", Err("invalid suffix: 'bb'")),
            ("12_", Err("invalid suffix: '_'")),
            ("abc", Err("invalid size: 'abc'")),
            ("", Err("invalid size: ''")),
            ("-1", Err("invalid size: '-1'")),
            (
                "1.2.3m",
                Err("strconv.ParseFloat: parsing \"1.2.3\": invalid syntax"),
            ),
            (
                " 12",
                Err("strconv.ParseFloat: parsing \" 12\": invalid syntax"),
            ),
            (
                "12  m",
                Err("strconv.ParseFloat: parsing \"12 \": invalid syntax"),
            ),
            (
                "1 2m",
                Err("strconv.ParseFloat: parsing \"1 2\": invalid syntax"),
            ),
            (
                "é1",
                Err("strconv.ParseFloat: parsing \"é1\": invalid syntax"),
            ),
            ("1é", Err("invalid suffix: 'é'")),
        ];
        for (input, want) in table {
            assert_eq!(
                parse_memory(input),
                want.map_err(String::from),
                "input {input:?}"
            );
        }
    }
}
