//! RUN: the host runs the command in a container made the way `berth run` makes one, on the
//! parent image; its output is streamed to the build progress, and what it changed comes back
//! as the step's layer. Another stage failing stops the step.

use berth_image::Descriptor;

use crate::host::{RunStep, StepExit, StepOutput};
use crate::{ABORTED, BuildError, BuildHost, ProgressStyle, Shared, short_id};

/// A step's events as progress, in the build's style.
struct Output<'s, 'r> {
    shared: &'s Shared<'r>,
    step: usize,
    started: std::time::Instant,
}

impl StepOutput for Output<'_, '_> {
    fn started(&self, container_id: &str) {
        self.shared
            .classic(&format!(" ---> Running in {}\n", short_id(container_id)));
    }

    fn line(&self, text: &str, stderr: bool) {
        match self.shared.request.style {
            ProgressStyle::Plain => self.shared.plain(&format!(
                "#{} {:.3} {text}",
                self.step,
                self.started.elapsed().as_secs_f64()
            )),
            // dockerd's classic stream wraps what a step writes to stderr in red.
            ProgressStyle::Classic if stderr => {
                self.shared.classic(&format!("\u{1b}[91m{text}\n\u{1b}[0m"))
            }
            ProgressStyle::Classic => self.shared.classic(&format!("{text}\n")),
        }
    }

    fn removed(&self, container_id: &str) {
        self.shared.classic(&format!(
            "Removing intermediate container {}\n",
            short_id(container_id)
        ));
    }
}

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
    let output = Output {
        shared,
        step,
        started: std::time::Instant::now(),
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
                shared.plain(&format!("#{step} {message}"));
                shared.classic(&format!("{message}\n"));
            }
            Err(failed(code))
        }
    }
}
