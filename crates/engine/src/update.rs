//! `docker update` (`POST /containers/{id}/update`): new limits and restart policy for a
//! container. The record changes, so the next start keeps them; a running (or paused)
//! container's limits change at once, through its sandbox. The shim reads the restart policy
//! from the record each time the container exits, so a new policy applies to the next exit.

use crate::types::{HostConfig, State, UpdateRequest};
use crate::{Engine, Error};

/// `update` over the container's settings, with Docker's rules: zero leaves a limit alone.
fn updated(mut hc: HostConfig, update: &UpdateRequest) -> Result<HostConfig, Error> {
    if update.memory != 0 {
        if update.memory_swap == 0 && hc.memory_swap > 0 && update.memory > hc.memory_swap {
            return Err(Error::InvalidArgument(
                "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
                    .into(),
            ));
        }
        hc.memory = update.memory;
    }
    if update.memory_swap != 0 {
        hc.memory_swap = update.memory_swap;
    }
    if update.nano_cpus != 0 {
        hc.nano_cpus = update.nano_cpus;
    }
    if update.cpu_shares != 0 {
        hc.cpu_shares = update.cpu_shares;
    }
    if update.cpu_quota != 0 {
        hc.cpu_quota = update.cpu_quota;
    }
    if update.cpu_period != 0 {
        hc.cpu_period = update.cpu_period;
    }
    if let Some(pids) = update.pids_limit {
        hc.pids_limit = Some(pids);
    }
    if !update.cpuset_cpus.is_empty() {
        hc.cpuset_cpus = update.cpuset_cpus.clone();
    }
    if !update.cpuset_mems.is_empty() {
        hc.cpuset_mems = update.cpuset_mems.clone();
    }
    crate::containers::check_cpusets(&hc)?;
    if let Some(policy) = update
        .restart_policy
        .as_ref()
        .filter(|p| !p.name.is_empty())
    {
        if hc.auto_remove && policy.name != "no" {
            return Err(Error::InvalidArgument(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            ));
        }
        hc.restart_policy = policy.clone();
    }
    Ok(hc)
}

impl Engine {
    /// `berth update [limits] CONTAINER`: returns Docker's warnings (none).
    pub(crate) fn update_container_unlogged(
        &self,
        name_or_id: &str,
        update: &UpdateRequest,
    ) -> Result<Vec<String>, Error> {
        self.repair();
        let mut rec = self.container(name_or_id)?;
        rec.config.host_config = updated(rec.config.host_config.clone(), update)?;
        crate::containers::validate_request(&rec.config)?;
        let running = matches!(rec.state, State::Running | State::Paused);
        self.sandbox_for(&rec)
            .update(&rec.config.host_config, running)?;
        self.db.set_container_config(&rec.id, &rec.config)?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::RestartPolicy;

    #[test]
    fn zero_leaves_a_limit_alone_and_swap_must_stay_above_memory() {
        let hc = HostConfig {
            memory: 64 << 20,
            cpu_shares: 512,
            ..Default::default()
        };
        let new = updated(
            hc.clone(),
            &UpdateRequest {
                memory: 128 << 20,
                pids_limit: Some(50),
                restart_policy: Some(RestartPolicy {
                    name: "always".into(),
                    maximum_retry_count: 0,
                }),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (new.memory, new.cpu_shares, new.pids_limit),
            (128 << 20, 512, Some(50))
        );
        assert_eq!(new.restart_policy.name, "always");
        let unnamed = updated(
            new.clone(),
            &UpdateRequest {
                restart_policy: Some(RestartPolicy::default()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(unnamed.restart_policy.name, "always");
        let swapped = HostConfig {
            memory_swap: 100 << 20,
            ..hc
        };
        let e = updated(
            swapped,
            &UpdateRequest {
                memory: 200 << 20,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("memoryswap"), "{e}");
    }
}
