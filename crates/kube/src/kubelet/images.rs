//! A container's image against the local store, by its imagePullPolicy: Never (the store's or
//! ErrImageNeverPull), IfNotPresent (pulled when missing), Always (pulled each time).

use berth_engine::Engine;
use berth_engine::distribution::PullOptions;

use super::status::Waiting;

/// Makes sure `image` is in the store as `policy` says; the waiting reason when it is not.
/// An unset policy is IfNotPresent: the API server has defaulted it by the time a pod gets
/// here, and `kube play` pulls what is missing, as podman's does.
pub fn ensure(engine: &Engine, image: &str, policy: Option<&str>) -> Result<(), Waiting> {
    let present = engine.resolve_image(image).is_ok();
    match policy {
        Some("Never") if present => Ok(()),
        Some("Never") => Err(Waiting {
            reason: "ErrImageNeverPull".into(),
            message: format!(
                "Container image \"{image}\" is not present with pull policy of Never"
            ),
        }),
        Some("Always") => pull(engine, image),
        _ if present => Ok(()),
        _ => pull(engine, image),
    }
}

fn pull(engine: &Engine, image: &str) -> Result<(), Waiting> {
    engine
        .pull_image(image, &PullOptions::default(), &mut |_| {})
        .map(|_| ())
        .map_err(|e| Waiting {
            reason: "ErrImagePull".into(),
            message: format!("failed to pull image \"{image}\": {e}"),
        })
}
