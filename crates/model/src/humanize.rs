//! Docker's human wording of durations and sizes (go-units): part of the API's data (a
//! container's `Status`, "Up 5 seconds", is computed by the engine) and of the CLI's tables.

use crate::gofmt::go_fmt_g;

/// go-units `HumanDuration`, for a duration in whole seconds.
pub fn human_duration(secs: i64) -> String {
    if secs < 1 {
        return "Less than a second".to_string();
    }
    if secs == 1 {
        return "1 second".to_string();
    }
    if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = secs / 60;
    if minutes == 1 {
        return "About a minute".to_string();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // int(d.Hours() + 0.5)
    let hours = (secs + 1800) / 3600;
    if hours == 1 {
        return "About an hour".to_string();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", secs / 3600 / 24 / 365)
}

/// go-units `HumanSizeWithPrecision(size, 3)`: decimal units, `%.3g`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_fmt_g(size, 3), UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases: &[(i64, &str)] = &[
            (0, "Less than a second"),
            (1, "1 second"),
            (45, "45 seconds"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (180, "3 minutes"),
            (35 * 60 + 40, "35 minutes"),
            (59 * 60, "59 minutes"),
            (3600, "About an hour"),
            (3600 + 29 * 60, "About an hour"),
            (3600 + 31 * 60, "2 hours"),
            (3 * 3600 + 31 * 60, "4 hours"),
            (24 * 3600, "24 hours"),
            (36 * 3600, "36 hours"),
            (2 * 86400, "2 days"),
            (13 * 86400 + 5 * 3600, "13 days"),
            (14 * 86400, "2 weeks"),
            (21 * 86400, "3 weeks"),
            (30 * 86400, "4 weeks"),
            (44 * 86400, "6 weeks"),
            (60 * 86400, "2 months"),
            (150 * 86400 + 14 * 86400, "5 months"),
            (720 * 86400, "24 months"),
            (734 * 86400, "2 years"),
            (3 * 365 * 86400 + 60 * 86400, "3 years"),
        ];
        for (s, want) in cases {
            assert_eq!(human_duration(*s), *want, "{s}s");
        }
    }

    #[test]
    fn sizes() {
        let cases: &[(u64, &str)] = &[
            (0, "0B"),
            (1, "1B"),
            (999, "999B"),
            (1000, "1kB"),
            (1200, "1.2kB"),
            (1234, "1.23kB"),
            (4_261_234, "4.26MB"),
            (77_800_000, "77.8MB"),
            (187_000_000, "187MB"),
            (999_500, "1e+03kB"),
            (1_000_000_000, "1GB"),
            (5_368_709_120, "5.37GB"),
        ];
        for (b, want) in cases {
            assert_eq!(human_size(*b), *want, "{b}");
        }
        assert_eq!(go_fmt_g(0.0001234, 3), "0.000123");
    }
}
