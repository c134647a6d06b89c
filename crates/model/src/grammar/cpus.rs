//! `--cpus`: a rational number of CPUs, as Go's big.Rat reads it, in billionths.

use super::go_value::parse_go_int;

/// Docker's `--cpus`: a rational number (Go's big.Rat syntax: "1.5", "3/2", "1e-3") times 1e9,
/// which must come out whole.
pub fn parse_cpus(value: &str) -> Result<i64, String> {
    let not_rational = || format!("failed to parse {value} as a rational number");
    let too_precise = || "value is too precise".to_string();
    let out_of_range = || "value out of range".to_string();
    let (numerator, denominator): (i128, i128) = if let Some((num, den)) = value.split_once('/') {
        let num = parse_go_int(num, true).map_err(|_| not_rational())? as i128;
        if den.is_empty() || !den.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_rational());
        }
        let den: i128 = den.parse().map_err(|_| out_of_range())?;
        if den == 0 {
            return Err(not_rational());
        }
        (num, den)
    } else {
        parse_decimal_fraction(value).ok_or_else(not_rational)?
    };
    let nano = numerator
        .checked_mul(1_000_000_000)
        .ok_or_else(out_of_range)?;
    if nano % denominator != 0 {
        return Err(too_precise());
    }
    i64::try_from(nano / denominator).map_err(|_| out_of_range())
}

/// "[+-]digits[.digits][e[+-]digits]" (or an integer with Go's base prefixes) as an exact
/// fraction.
fn parse_decimal_fraction(s: &str) -> Option<(i128, i128)> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.len() > 2
        && matches!(
            &body.as_bytes()[..2],
            b"0x" | b"0X" | b"0o" | b"0O" | b"0b" | b"0B"
        )
    {
        let v = parse_go_int(body, true).ok()? as i128;
        return Some((if negative { -v } else { v }, 1));
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac_part = frac_part.trim_end_matches('0');
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let mut numerator: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut denominator: i128 = 1;
    let scale = exponent - frac_part.len() as i32;
    if numerator != 0 {
        if scale >= 0 {
            numerator = numerator.checked_mul(10i128.checked_pow(scale as u32)?)?;
        } else {
            denominator = 10i128.checked_pow(scale.unsigned_abs())?;
        }
    }
    Some((if negative { -numerator } else { numerator }, denominator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_are_exact_billionths() {
        assert_eq!(parse_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_cpus("3/2"), Ok(1_500_000_000));
        assert_eq!(parse_cpus("1e-3"), Ok(1_000_000));
        assert_eq!(parse_cpus("0x2"), Ok(2_000_000_000));
        assert_eq!(parse_cpus("1e-10"), Err("value is too precise".into()));
        assert_eq!(
            parse_cpus("abc"),
            Err("failed to parse abc as a rational number".into())
        );
        assert_eq!(
            parse_cpus("1/0"),
            Err("failed to parse 1/0 as a rational number".into())
        );
    }
}
