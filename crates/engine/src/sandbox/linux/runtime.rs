//! Which OCI runtime runs a Linux sandbox: the embedded libcontainer, or an external binary
//! (runc, crun, youki, any name on $PATH, or a path) driven through `berth_runtime::oci`.

use berth_runtime::oci::OciRuntime;

use crate::sandbox::SandboxError;

/// A `--runtime` value, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    /// youki's libcontainer, in this process: no extra binary.
    Embedded,
    /// An OCI runtime binary: a name on $PATH, or a path.
    External(String),
}

impl Choice {
    pub(crate) fn of(runtime: &str) -> Choice {
        if berth_runtime::oci::is_embedded(runtime) {
            Choice::Embedded
        } else {
            Choice::External(runtime.to_string())
        }
    }

    /// The runtime itself; an external one must exist now.
    pub(crate) fn resolve(&self) -> Result<Box<dyn OciRuntime>, SandboxError> {
        match self {
            Choice::Embedded => Ok(Box::new(berth_runtime::oci::Embedded)),
            Choice::External(name) => Ok(Box::new(berth_runtime::oci::External::find(name)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_the_embedded_or_an_external_runtime() {
        for embedded in ["", "berth", "embedded", "libcontainer"] {
            assert_eq!(Choice::of(embedded), Choice::Embedded, "{embedded:?}");
        }
        for external in ["runc", "crun", "youki", "/usr/local/bin/runc"] {
            assert_eq!(
                Choice::of(external),
                Choice::External(external.into()),
                "{external:?}"
            );
        }
        let unknown = Choice::of("no-such-runtime-here").resolve().err().unwrap();
        assert_eq!(
            unknown.to_string(),
            "unknown runtime \"no-such-runtime-here\": not an executable name on $PATH or a path"
        );
    }
}
