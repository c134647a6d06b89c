//! Building a service's image through the engine's builder (the one `berth build` uses),
//! tagged as Compose tags it: the service's `image`, else `PROJECT-SERVICE`.

use berth_engine::Engine;
use berth_engine::build::{BuildRequest, Progress, Secret, StepOptions, ssh_sockets};

use crate::error::Error;
use crate::model::Project;
use crate::request::image_name;

/// Builds `name`'s image; returns its id.
pub fn build_service(
    engine: &Engine,
    project: &Project,
    name: &str,
    no_cache: bool,
    progress: Progress<'_>,
) -> Result<String, Error> {
    let service = project.service(name)?;
    let build = service
        .build
        .as_ref()
        .ok_or_else(|| Error::Project(format!("service {name:?} has no build section")))?;
    let context = std::path::PathBuf::from(&build.context);
    let (dockerfile, dockerfile_name) = match (&build.dockerfile_inline, &build.dockerfile) {
        (Some(inline), _) => (inline.clone(), "Dockerfile".to_string()),
        (None, file) => {
            let file = file.clone().unwrap_or_else(|| "Dockerfile".into());
            let path = context.join(&file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::io(format!("failed to read dockerfile {}", path.display()), e)
            })?;
            (text, file)
        }
    };
    let request = BuildRequest {
        context_dir: context,
        dockerfile,
        dockerfile_name,
        tags: std::iter::once(image_name(project, name))
            .chain(build.tags.iter().cloned())
            .collect(),
        build_args: build
            .args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
            .collect(),
        target: build.target.clone(),
        no_cache: no_cache || build.no_cache,
        pull: build.pull,
        labels: build.labels.clone(),
        step_options: StepOptions {
            shm_size: build.shm_size.unwrap_or(0),
            network_mode: build.network.clone().unwrap_or_default(),
            extra_hosts: build.extra_hosts.clone(),
            ..StepOptions::default()
        },
        secrets: build
            .secrets
            .iter()
            .map(|r| {
                let source = &project.secrets[&r.source];
                let bytes = crate::files::content(source, "secret", &r.source)?;
                Ok((r.target.clone(), Secret(bytes)))
            })
            .collect::<Result<_, Error>>()?,
        ssh: ssh_sockets(&build.ssh).map_err(|e| Error::Build(format!("service {name:?}: {e}")))?,
        platform: match build.platforms.is_empty() {
            true => service.platform.clone(),
            false => Some(build.platforms.join(",")),
        },
        ..BuildRequest::default()
    };
    let result = engine
        .build(&request, progress)
        .map_err(|e| Error::Build(format!("failed to build service {name:?}: {e}")))?;
    Ok(result.image_id)
}
