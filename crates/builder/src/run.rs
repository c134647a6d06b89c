//! RUN: the host runs the command in a container made the way `berth run` makes one, on the
//! parent image; its output is streamed to the build progress, and what it changed comes back
//! as the step's layer. Another stage failing stops the step.

use berth_image::Descriptor;

use crate::host::{RunStep, StepExit};
use crate::{ABORTED, BuildError, BuildHost, Shared};

/// Runs the step shown as `#step`; returns the layer of what it changed and its diff_id.
pub fn run<H: BuildHost>(
    host: &H,
    shared: &Shared<'_>,
    spec: &RunStep<'_>,
    step: usize,
) -> Result<(Descriptor, String), BuildError<H::Error>> {
    // A stage that failed meanwhile: start nothing more.
    if shared.failed.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(BuildError::Internal(ABORTED.into()));
    }
    let started = std::time::Instant::now();
    let output = |text: &str| {
        shared.say(&format!(
            "#{step} {:.3} {text}",
            started.elapsed().as_secs_f64()
        ))
    };
    let failed = |code: i32| BuildError::StepFailed {
        message: format!(
            "The command '{}' returned a non-zero code: {code}",
            spec.argv.join(" ")
        ),
        code,
    };
    match host.run_step(spec, &output, &shared.failed)? {
        StepExit::Done(layer, diff_id) => Ok((layer, diff_id)),
        StepExit::Failed { code, message } => {
            if let Some(message) = message {
                shared.say(&format!("#{step} {message}"));
            }
            Err(failed(code))
        }
    }
}
