//! `--ulimit name=soft[:hard]`: go-units' ParseUlimit.

use super::go_value::parse_go_int;
use crate::types::Ulimit;

/// go-units' ParseUlimit: `name=soft[:hard]`, hard defaults to soft.
pub fn parse_ulimit(value: &str) -> Result<Ulimit, String> {
    const NAMES: [&str; 15] = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    let (name, limits) = value
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {value}"))?;
    if !NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let parts: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [soft] => {
            let soft = parse_go_int(soft, false)?;
            (soft, soft)
        }
        [soft, hard] => {
            let hard = parse_go_int(hard, false)?;
            (parse_go_int(soft, false)?, hard)
        }
        _ => {
            return Err(format!(
                "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
            ));
        }
    };
    if hard != -1 && soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_follow_go_units() {
        assert_eq!(
            parse_ulimit("nofile=100:200"),
            Ok(Ulimit {
                name: "nofile".into(),
                soft: 100,
                hard: 200,
            })
        );
        assert_eq!(
            parse_ulimit("nproc=7").map(|u| (u.soft, u.hard)),
            Ok((7, 7))
        );
        assert_eq!(
            parse_ulimit("bogus=1"),
            Err("invalid ulimit type: bogus".into())
        );
        assert_eq!(
            parse_ulimit("nofile"),
            Err("invalid ulimit argument: nofile".into())
        );
        assert_eq!(
            parse_ulimit("nofile=3:2"),
            Err("ulimit soft limit must be less than or equal to hard limit: 3 > 2".into())
        );
    }
}
