//! `docker create`: checking a request, merging the image's defaults into it, and writing the
//! new container's record, volumes and directories.

use crate::store::ContainerRecord;
use crate::types::CreateRequest;
use crate::{Engine, Error, names};

impl Engine {
    /// Creates a container record (no process yet), as `docker create` does.
    pub fn create_container(
        &self,
        request: CreateRequest,
        name: Option<&str>,
    ) -> Result<String, Error> {
        self.repair();
        self.repair_volumes();
        let image_id = self.resolve_image(&request.config.image)?;
        self.create_container_from(request, name, image_id)
    }

    /// [`Engine::create_container`] from an image id known to the store (the builder's
    /// intermediate images have no name and no row in the images table).
    pub(crate) fn create_container_from(
        &self,
        request: CreateRequest,
        name: Option<&str>,
        image_id: String,
    ) -> Result<String, Error> {
        validate_request(&request)?;
        self.check_container_network(&request)?;
        if let Some(name) = name {
            let bare = name.strip_prefix('/').unwrap_or(name);
            if !names::valid_name(bare) {
                return Err(Error::InvalidArgument(format!(
                    "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
        }
        let image = self.images.image(&image_id)?;
        let mut request = request;
        merge_image_defaults(&mut request, &image.config.config);
        super::isolation::fill_defaults(&mut request.host_config);
        if request
            .config
            .entrypoint
            .iter()
            .chain(request.config.cmd.iter())
            .flatten()
            .next()
            .is_none()
        {
            return Err(Error::InvalidArgument("No command specified".into()));
        }
        let id = names::new_id();
        let mut record =
            ContainerRecord::created(id.clone(), image_id, crate::clock::now(), request);
        // Volumes first (their dirs, then their records with the container's, in one
        // transaction): bad input is refused before anything exists.
        let planned = self.plan_mounts(&record.config)?;
        let made_dirs = self.prepare_volume_dirs(&planned)?;
        let mounts = self.mount_rows(&planned)?;
        let inserted = match name {
            Some(name) => {
                record.name = name.strip_prefix('/').unwrap_or(name).to_string();
                self.db.create_container(&record, &mounts)
            }
            None => {
                // Random names may collide; retry with fresh ones.
                let mut attempt = 0;
                loop {
                    let seed = names::random_bytes();
                    record.name = names::random_name(&seed);
                    if attempt > 3 {
                        record.name = format!("{}{}", record.name, seed[4] % 10);
                    }
                    match self.db.create_container(&record, &mounts) {
                        // Only a taken name is worth another try (not a volume being removed).
                        Err(Error::Conflict(m)) if attempt < 10 && m.contains("container name") => {
                            attempt += 1
                        }
                        other => break other,
                    }
                }
            }
        };
        // On failure nothing was inserted; the new dirs go.
        let new_volumes = match inserted {
            Ok(made) => made,
            Err(e) => {
                self.discard_volume_dirs(&made_dirs);
                return Err(e);
            }
        };
        let dir = self.container_dir(&id);
        if let Err(e) = std::fs::create_dir_all(dir.join("upper"))
            .and_then(|_| std::fs::create_dir_all(dir.join("work")))
        {
            let _ = self.delete_container_and_mounts(&id, true);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Error::io(format!("creating {}", dir.display()), e));
        }
        if let Err(e) = self.populate_volumes(&record) {
            // Nothing half-created: the container goes, and the volumes made for it.
            let _ = self.destroy_with_volumes(&id, true);
            for name in &new_volumes {
                let _ = self.remove_volume(name, true);
            }
            return Err(e);
        }
        self.container_event(&record, "create", &[]);
        Ok(id)
    }
}

/// Checks what can be checked before anything is created.
pub(crate) fn validate_request(request: &CreateRequest) -> Result<(), Error> {
    let hc = &request.host_config;
    // dockerd's words for a runtime it does not know (its own message says why).
    crate::sandbox::validate_runtime(&hc.runtime).map_err(|_| {
        Error::InvalidArgument(format!("unknown or invalid runtime name: {}", hc.runtime))
    })?;
    match hc.restart_policy.name.as_str() {
        "" | "no" | "always" | "unless-stopped" | "on-failure" => {}
        other => {
            return Err(Error::InvalidArgument(format!(
                "invalid restart policy '{other}'"
            )));
        }
    }
    if hc.restart_policy.name != "on-failure" && hc.restart_policy.maximum_retry_count != 0 {
        return Err(Error::InvalidArgument(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                .to_string(),
        ));
    }
    if hc.auto_remove && !matches!(hc.restart_policy.name.as_str(), "" | "no") {
        return Err(Error::InvalidArgument(
            "conflicting options: cannot specify both --restart and --rm".into(),
        ));
    }
    let cwd = &request.config.working_dir;
    if !cwd.is_empty() && !cwd.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "the working directory '{cwd}' is invalid, it needs to be an absolute path"
        )));
    }
    if let Some(health) = &request.config.healthcheck {
        crate::health::validate(health)?;
    }
    crate::logs::LogSettings::from_config(hc.log_config.as_ref())?;
    if hc.memory != 0 && hc.memory < 6 * 1024 * 1024 {
        return Err(Error::InvalidArgument(
            "Minimum memory limit allowed is 6MB".into(),
        ));
    }
    if hc.memory_swap > 0 && hc.memory > 0 && hc.memory_swap < hc.memory {
        return Err(Error::InvalidArgument(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        ));
    }
    if hc.memory_swap > 0 && hc.memory == 0 {
        return Err(Error::InvalidArgument(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        ));
    }
    if hc.nano_cpus < 0 {
        return Err(Error::InvalidArgument(
            "Range of CPUs is from 0.01 to the number of CPUs".into(),
        ));
    }
    for opt in hc.security_opt.iter().flatten() {
        let known = opt == "no-new-privileges"
            || opt == "no-new-privileges:true"
            || opt == "no-new-privileges=true"
            || opt.starts_with("no-new-privileges")
            || opt.starts_with("seccomp=")
            || opt.starts_with("seccomp:")
            || opt.starts_with("label=")
            || opt.starts_with("apparmor=");
        if !known {
            return Err(Error::InvalidArgument(format!(
                "invalid --security-opt: {opt:?}"
            )));
        }
    }
    super::isolation::validate(hc, &request.config)?;
    Ok(())
}

/// Fills what the user left unset from the image config (Docker's merge rules): Env is image
/// env then user env; an --entrypoint resets the image's Cmd.
/// Docker's merge: the image's health check where the container sets none; each field the
/// container leaves empty (no test, zero durations or retries) comes from the image's.
fn merge_image_healthcheck(
    container: &mut Option<crate::types::HealthConfig>,
    image: Option<&serde_json::Value>,
) {
    let Some(image) =
        image.and_then(|v| serde_json::from_value::<crate::types::HealthConfig>(v.clone()).ok())
    else {
        return;
    };
    let Some(own) = container else {
        *container = Some(image);
        return;
    };
    if own.test.as_ref().is_none_or(|t| t.is_empty()) {
        own.test = image.test;
    }
    for (mine, theirs) in [
        (&mut own.interval, image.interval),
        (&mut own.timeout, image.timeout),
        (&mut own.start_period, image.start_period),
        (&mut own.start_interval, image.start_interval),
        (&mut own.retries, image.retries),
    ] {
        if *mine == 0 {
            *mine = theirs;
        }
    }
}

fn merge_image_defaults(request: &mut CreateRequest, image: &berth_image::ContainerConfig) {
    let c = &mut request.config;
    let mut env: Vec<String> = image.env.clone().unwrap_or_default();
    for kv in c.env.take().unwrap_or_default() {
        let key = kv.split('=').next().unwrap_or("").to_string();
        env.retain(|e| e.split('=').next() != Some(key.as_str()));
        env.push(kv);
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
    }
    c.env = Some(env);
    let user_entrypoint = c.entrypoint.is_some();
    if c.entrypoint.is_none() {
        c.entrypoint = image.entrypoint.clone();
    }
    if c.cmd.as_ref().is_none_or(|v| v.is_empty()) && !user_entrypoint {
        c.cmd = image.cmd.clone();
    }
    if c.entrypoint
        .as_ref()
        .is_some_and(|e| e.is_empty() || e.iter().all(|s| s.is_empty()))
    {
        c.entrypoint = None;
    }
    if c.working_dir.is_empty() {
        c.working_dir = image.working_dir.clone().unwrap_or_default();
    }
    if c.user.is_empty() {
        c.user = image.user.clone().unwrap_or_default();
    }
    if c.stop_signal.is_none() {
        c.stop_signal = image.stop_signal.clone();
    }
    let mut labels = image.labels.clone().unwrap_or_default();
    labels.extend(c.labels.take().unwrap_or_default());
    c.labels = Some(labels);
    if c.exposed_ports.is_none() {
        c.exposed_ports = image.exposed_ports.clone();
    }
    merge_image_healthcheck(&mut c.healthcheck, image.healthcheck.as_ref());
    // Docker: the image's VOLUMEs and the user's `-v /path` ones, together.
    if let Some(image_volumes) = &image.volumes {
        let volumes = c.volumes.get_or_insert_with(Default::default);
        for (path, v) in image_volumes {
            volumes.entry(path.clone()).or_insert_with(|| v.clone());
        }
    }
}
