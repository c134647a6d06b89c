//! `--restart no|always|unless-stopped|on-failure[:N]`: the Docker CLI's format checks, then its
//! daemon's policy checks.

use crate::types::RestartPolicy;

/// `--restart`: Docker CLI's format checks, then its daemon's policy checks.
pub fn parse_restart_policy(value: &str) -> Result<RestartPolicy, String> {
    if value.is_empty() {
        return Ok(RestartPolicy::default());
    }
    let (name, count) = value.split_once(':').unwrap_or((value, ""));
    if value.contains(':') && name.is_empty() {
        return Err("invalid restart policy format: no policy provided before colon".into());
    }
    let mut policy = RestartPolicy {
        name: name.to_string(),
        maximum_retry_count: 0,
    };
    if !count.is_empty() {
        policy.maximum_retry_count = count.parse::<i64>().map_err(|_| {
            "invalid restart policy format: maximum retry count must be an integer".to_string()
        })?;
    }
    let count = policy.maximum_retry_count;
    match name {
        "no" | "always" | "unless-stopped" if count != 0 => {
            let mut msg =
                "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                    .to_string();
            if count < 0 {
                msg.push_str(" and cannot be negative");
            }
            Err(msg)
        }
        "no" | "always" | "unless-stopped" => Ok(policy),
        "on-failure" if count < 0 => {
            Err("invalid restart policy: maximum retry count cannot be negative".into())
        }
        "on-failure" => Ok(policy),
        other => Err(format!(
            "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_follow_docker() {
        assert_eq!(parse_restart_policy(""), Ok(RestartPolicy::default()));
        assert_eq!(
            parse_restart_policy("on-failure:3"),
            Ok(RestartPolicy {
                name: "on-failure".into(),
                maximum_retry_count: 3,
            })
        );
        assert_eq!(
            parse_restart_policy("always:1"),
            Err(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                    .into()
            )
        );
        assert!(
            parse_restart_policy("sometimes")
                .unwrap_err()
                .contains("unknown policy 'sometimes'")
        );
    }
}
