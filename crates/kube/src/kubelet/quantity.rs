//! Kubernetes resource quantities ("500m", "1.5", "128Mi", "1G", "2e3") as numbers.
//! Hand-written: k8s-openapi keeps a Quantity as its string, and the grammar is a dozen lines.

/// The quantity's value in base units (cores, bytes), or None when it is not one.
pub fn parse(quantity: &str) -> Option<f64> {
    let s = quantity.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0f64.powi(2),
        "Gi" => 1024.0f64.powi(3),
        "Ti" => 1024.0f64.powi(4),
        "Pi" => 1024.0f64.powi(5),
        "Ei" => 1024.0f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => 10f64.powi(exponent[1..].parse().ok()?),
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn quantities() {
        assert_eq!(parse("500m"), Some(0.5));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("128Mi"), Some(134_217_728.0));
        assert_eq!(parse("1G"), Some(1e9));
        assert_eq!(parse("2e3"), Some(2000.0));
        assert_eq!(parse("1.5Gi"), Some(1.5 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse("12 apples"), None);
        assert_eq!(parse(""), None);
    }
}
