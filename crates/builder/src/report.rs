//! The build's progress, in one of two styles. Plain is BuildKit's `--progress=plain` lines
//! (`#N [stage 2/5] RUN ...`, `#N CACHED`, `#N DONE 0.3s`), which `berth build` shows. Classic
//! is the text of Docker's classic builder, which `POST /build` streams and the docker CLI and
//! compose print as they get it: `Step N/M : INSTR`, ` ---> Using cache`, ` ---> Running in
//! <id>`, the step's output (stderr in red), `Removing intermediate container <id>`,
//! ` ---> <id>`. Each classic call is one message of the stream, its newline included, as
//! dockerd sends them.

use crate::Shared;

/// Which text a build's progress is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProgressStyle {
    /// BuildKit's plain lines, without line ends.
    #[default]
    Plain,
    /// The classic builder's messages, line ends included.
    Classic,
}

/// The 12 hex digits Docker shows of an id (`sha256:` dropped).
pub fn short_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}

/// The classic builder's step count: the global ARGs, the FROM and the instructions of each
/// stage built, and the LABEL step of the build's labels. (dockerd builds every stage up to
/// the target; this builder only those the target needs, and counts only those.)
pub(crate) fn classic_total(
    dockerfile: &berth_build::Dockerfile,
    stages: &[usize],
    labels: bool,
) -> usize {
    usize::from(labels)
        + dockerfile.global_args.len()
        + stages
            .iter()
            .map(|&i| 1 + dockerfile.stages[i].instructions.len())
            .sum::<usize>()
}

/// An instruction as the classic builder shows it: its source, continuations joined.
pub(crate) fn classic_text(text: &str) -> String {
    text.replace("\\\n", "").replace('\n', " ")
}

impl Shared<'_> {
    fn classic_style(&self) -> bool {
        self.request.style == ProgressStyle::Classic
    }

    /// A BuildKit plain line (nothing in the classic style).
    pub fn plain(&self, line: &str) {
        if !self.classic_style() {
            (self.progress)(line);
        }
    }

    /// One classic message, as given (nothing in the plain style).
    pub fn classic(&self, text: &str) {
        if self.classic_style() {
            (self.progress)(text);
        }
    }

    /// `Step N/M : TEXT`, then its line end as a message of its own (as dockerd sends it).
    pub fn classic_step(&self, text: &str) {
        if self.classic_style() {
            let n = self
                .classic_step
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.classic(&format!(
                "Step {n}/{} : {}",
                self.classic_total
                    .load(std::sync::atomic::Ordering::Relaxed),
                classic_text(text)
            ));
            self.classic("\n");
        }
    }

    /// ` ---> <short id>`: the image a classic step ended on (empty for `FROM scratch`).
    pub fn classic_image(&self, id: Option<&str>) {
        self.classic(&format!(" ---> {}\n", id.map(short_id).unwrap_or_default()));
    }

    /// A step the cache had.
    pub fn cached_step(&self, step: usize) {
        self.plain(&format!("#{step} CACHED"));
        self.classic(" ---> Using cache\n");
    }

    /// The global ARGs are steps of their own in the classic text.
    pub fn classic_global_args(&self) {
        for arg in &self.dockerfile.global_args {
            self.classic_step(&arg.text);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_ids_drop_the_algorithm() {
        assert_eq!(super::short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(super::short_id("abc"), "abc");
    }

    #[test]
    fn classic_text_joins_continuations() {
        assert_eq!(
            super::classic_text("RUN echo a && \\\n    echo b"),
            "RUN echo a &&     echo b"
        );
    }
}
