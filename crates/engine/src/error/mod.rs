//! The engine's error type. Each variant maps to a Docker status (404/409/400/500) for the API
//! and to Docker's exit codes for the CLI (125 engine error, 126 cannot invoke, 127 not found,
//! 1 a refused filter).

mod sandbox;
mod store;

pub use sandbox::{BoxError, SandboxError};
pub use store::StoreError;

use berth_image::rootpath::RootPathError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such container/image/...: 404.
    #[error("{0}")]
    NotFound(String),
    /// Name in use, container running, image in use: 409.
    #[error("{0}")]
    Conflict(String),
    /// A bad value from the user: 400.
    #[error("{0}")]
    InvalidArgument(String),
    /// What this container's own configuration rules out (reading the log of a driver that
    /// keeps none): dockerd answers 501 for it, the docker CLI exits 1.
    #[error("{0}")]
    Unsupported(String),
    /// The container's command cannot be found (127) or cannot be invoked (126).
    #[error("{message}")]
    CannotRun { message: String, exit_code: i32 },
    #[error("{0}")]
    Internal(String),
    /// A file or process operation failed; what was being done, and the system's error.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The image store's error, kept whole: its kind decides the status (a missing image is
    /// a 404, a bad archive a 400).
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    /// The container backend's error: settings it refuses are the user's (400), its own
    /// failures ours (500).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The state store's error, kept whole.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bad `--filter` / `filters=`: 400 (404 for a `before`/`since` object that does not exist).
    #[error(transparent)]
    Filter(#[from] crate::filters::FilterError),
    /// The registry client's error, kept whole: a missing repository, tag, manifest or blob is a
    /// 404, a bad reference a 400.
    #[error(transparent)]
    Registry(#[from] berth_registry::Error),
    /// A `save`/`load` archive's error: a malformed archive is a 400; a store error keeps the
    /// image store's kind.
    #[error(transparent)]
    Archive(#[from] berth_image::archive::ArchiveError),
    /// The network crate's error: a bad value is a 400.
    #[error(transparent)]
    Net(#[from] berth_net::Error),
    /// The host firewall's error while publishing ports: a value it refuses is a port already
    /// taken (409), anything else ours.
    #[error(transparent)]
    Firewall(berth_net::Error),
    /// A path inside a container's rootfs that cannot be resolved: a symlink loop is the
    /// user's (400), an unreadable link ours.
    #[error(transparent)]
    RootPath(#[from] berth_image::rootpath::RootPathError),
    /// Encoding or decoding our own JSON failed (500); what was being done, if anything is
    /// said, and serde's error.
    #[error("{}", in_context(.context, .source))]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },
    /// A system call failed (500); what was being done, if anything is said, and the errno.
    #[error("{}", in_context(.context, .source))]
    Sys {
        context: String,
        #[source]
        source: nix::Error,
    },
    /// A mount whose type, device or options the user gave failed: theirs (400).
    #[error("{context}: {source}")]
    Mount {
        context: String,
        #[source]
        source: nix::Error,
    },
    /// The image store failed while storing what a registry sent (500, whatever the store's
    /// own kind: the bytes came from the registry, not the client).
    #[error("{context}: {source}")]
    Stored {
        context: String,
        #[source]
        source: berth_image::Error,
    },
    /// A sandbox operation on a container failed; the backend's kind.
    #[error("{context}: {source}")]
    Sandboxed {
        context: String,
        #[source]
        source: SandboxError,
    },
    /// A sandbox operation failed because the container stopped meanwhile (409).
    #[error("{context}: {source}")]
    StoppedMeanwhile {
        context: String,
        #[source]
        source: SandboxError,
    },
    /// daemon.json cannot be read or parsed: the user's file (400, exit 125).
    #[error(transparent)]
    DaemonConfig(#[from] crate::daemon_config::ConfigError),
    /// An operation failed and cleaning up after it failed too; the first error's kind.
    #[error("{source} (and cleaning up after it: {cleanup})")]
    CleanupFailed {
        #[source]
        source: Box<Error>,
        cleanup: Box<Error>,
    },
}

/// `context: source`, or the bare source when nothing was said about what was being done.
fn in_context(context: &str, source: &dyn std::fmt::Display) -> String {
    if context.is_empty() {
        source.to_string()
    } else {
        format!("{context}: {source}")
    }
}

/// What an [`Error`] means to a client: the one thing the API's status codes and the CLI's
/// exit codes are chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// 404
    NotFound,
    /// 409
    Conflict,
    /// 400
    Invalid,
    /// 400 through the API; exit code 126/127 from the CLI
    CannotRun,
    /// 501: the container's configuration rules it out (dockerd answers such a request 501 too)
    Unsupported,
    /// 500
    #[default]
    Internal,
}

impl Error {
    /// What this error means to a client.
    pub fn kind(&self) -> ErrorKind {
        use crate::filters::FilterError;
        match self {
            Error::NotFound(_) | Error::Filter(FilterError::NotFound(_)) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::InvalidArgument(_) | Error::Filter(_) => ErrorKind::Invalid,
            Error::Sandbox(e) => sandbox_error_kind(e),
            Error::CannotRun { .. } => ErrorKind::CannotRun,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Image(e) => image_error_kind(e),
            Error::Registry(e) => registry_error_kind(e),
            Error::Archive(e) => archive_error_kind(e),
            Error::Net(e) => net_error_kind(e),
            Error::Firewall(berth_net::Error::Invalid(_)) | Error::StoppedMeanwhile { .. } => {
                ErrorKind::Conflict
            }
            Error::RootPath(RootPathError::TooManyLinks(_)) | Error::Mount { .. } => {
                ErrorKind::Invalid
            }
            Error::Sandboxed { source, .. } => sandbox_error_kind(source),
            Error::CleanupFailed { source, .. } => source.kind(),
            Error::DaemonConfig(_) => ErrorKind::Invalid,
            Error::Internal(_)
            | Error::Io { .. }
            | Error::Store(_)
            | Error::Firewall(_)
            | Error::RootPath(RootPathError::ReadLink { .. })
            | Error::Json { .. }
            | Error::Sys { .. }
            | Error::Stored { .. } => ErrorKind::Internal,
        }
    }

    /// The exit code a CLI command returns for this error, as the docker CLI does. A filter
    /// the daemon refuses is the docker CLI's plain failure (1); one it cannot even parse is a
    /// flag error (125).
    /// A value the caller typed wrong before the engine could act (a filter without `=`): the
    /// docker CLI's flag error, 125 from every command.
    pub fn is_flag_error(&self) -> bool {
        matches!(
            self,
            Error::Filter(crate::filters::FilterError::BadFormat(_))
        )
    }

    pub fn exit_code(&self) -> i32 {
        use crate::filters::FilterError;
        match self {
            Error::CannotRun { exit_code, .. }
            | Error::Sandbox(SandboxError::CannotRun { exit_code, .. }) => *exit_code,
            Error::Filter(FilterError::BadFormat(_)) => 125,
            // The docker CLI's plain failure: `docker logs` of a `none` container exits 1.
            Error::Filter(_) | Error::Unsupported(_) => 1,
            _ => 125,
        }
    }

    /// The error a message that crossed a process boundary (the shim's `Failed`) stands for:
    /// the text, Docker's exit code and the kind it had on the other side.
    pub fn from_parts(message: String, exit_code: i32, kind: ErrorKind) -> Error {
        match kind {
            _ if exit_code == 126 || exit_code == 127 => Error::CannotRun { message, exit_code },
            ErrorKind::NotFound => Error::NotFound(message),
            ErrorKind::Conflict => Error::Conflict(message),
            ErrorKind::Invalid | ErrorKind::CannotRun => Error::InvalidArgument(message),
            ErrorKind::Unsupported => Error::Unsupported(message),
            ErrorKind::Internal => Error::Internal(message),
        }
    }

    pub fn io(context: impl std::fmt::Display, err: std::io::Error) -> Error {
        Error::Io {
            context: context.to_string(),
            source: err,
        }
    }

    /// A failed system call, with what was being done.
    pub fn sys(context: impl std::fmt::Display, err: nix::Error) -> Error {
        Error::Sys {
            context: context.to_string(),
            source: err,
        }
    }

    /// Our own JSON that failed to encode or decode, with what was being done.
    pub fn json(context: impl std::fmt::Display, err: serde_json::Error) -> Error {
        Error::Json {
            context: context.to_string(),
            source: err,
        }
    }
}

/// Settings the backend refuses are the user's; its own failures ours.
fn sandbox_error_kind(e: &SandboxError) -> ErrorKind {
    match e {
        SandboxError::Refused(_) => ErrorKind::Invalid,
        SandboxError::Failed(_) => ErrorKind::Internal,
        SandboxError::CannotRun { .. } => ErrorKind::CannotRun,
    }
}

/// A missing image is the client's 404 and bad input its 400; a broken store is ours.
fn image_error_kind(e: &berth_image::Error) -> ErrorKind {
    use berth_image::Error as E;
    match e {
        E::ImageNotFound(_) => ErrorKind::NotFound,
        E::InvalidTar(_)
        | E::EmptyInput
        | E::UnsupportedCompression(_)
        | E::InvalidDigest(_)
        | E::UnsafeEntry { .. }
        | E::Change(_) => ErrorKind::Invalid,
        E::Unpack { source, .. } => image_error_kind(source),
        _ => ErrorKind::Internal,
    }
}

/// A missing repository, tag, manifest or blob is a 404 and a bad reference a 400. Refused
/// credentials, bad content and transport trouble stay 500 (the API has no 401 kind yet).
fn registry_error_kind(e: &berth_registry::Error) -> ErrorKind {
    use berth_registry::Error as E;
    match e {
        E::NotFound(_) => ErrorKind::NotFound,
        E::InvalidArgument(_) => ErrorKind::Invalid,
        E::Unauthorized(_) | E::BadContent(_) | E::Transport(_) | E::Io { .. } => {
            ErrorKind::Internal
        }
    }
}

/// A malformed archive is the client's 400; the store's errors keep their own kind.
fn archive_error_kind(e: &berth_image::archive::ArchiveError) -> ErrorKind {
    use berth_image::archive::ArchiveError as E;
    match e {
        E::Invalid(_) | E::Malformed { .. } => ErrorKind::Invalid,
        E::Store(inner) => image_error_kind(inner),
        E::Write(_) => ErrorKind::Internal,
    }
}

/// A bad network value is a 400; an exhausted address pool or a failed system call is ours.
fn net_error_kind(e: &berth_net::Error) -> ErrorKind {
    match e {
        berth_net::Error::Invalid(_) => ErrorKind::Invalid,
        _ => ErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_survive_the_image_stores_errors() {
        let missing = Error::from(berth_image::Error::ImageNotFound("sha256:ab".into()));
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert_eq!(
            missing.to_string(),
            "image sha256:ab not found in the image store"
        );
        let junk = Error::from(berth_image::Error::EmptyInput);
        assert_eq!(junk.kind(), ErrorKind::Invalid);
        let io = Error::io("reading x", std::io::Error::other("boom"));
        assert_eq!(io.kind(), ErrorKind::Internal);
        assert_eq!(io.to_string(), "reading x: boom");
        assert!(std::error::Error::source(&io).is_some());
    }

    #[test]
    fn kinds_survive_the_other_crates_errors() {
        let missing = Error::from(berth_registry::Error::NotFound("manifest unknown".into()));
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert_eq!(missing.to_string(), "manifest unknown");
        let bad_ref = Error::from(berth_registry::Error::InvalidArgument("bad ref".into()));
        assert_eq!(bad_ref.kind(), ErrorKind::Invalid);
        let transport = Error::from(berth_registry::Error::Transport("reset".into()));
        assert_eq!(transport.kind(), ErrorKind::Internal);

        use berth_image::archive::ArchiveError;
        let stored = Error::from(ArchiveError::Store(berth_image::Error::ImageNotFound(
            "sha256:ab".into(),
        )));
        assert_eq!(stored.kind(), ErrorKind::NotFound);
        assert!(matches!(stored, Error::Archive(ArchiveError::Store(_))));
        let junk = Error::from(ArchiveError::Invalid("no manifest.json".into()));
        assert_eq!(junk.kind(), ErrorKind::Invalid);
        assert_eq!(junk.to_string(), "invalid image archive: no manifest.json");

        let net = Error::from(berth_net::Error::Invalid("bad subnet".into()));
        assert_eq!(net.kind(), ErrorKind::Invalid);
    }

    #[test]
    fn typed_variants_keep_their_source_kind_and_message() {
        use std::error::Error as _;

        let json_err = serde_json::from_str::<u32>("x").unwrap_err();
        let printed = json_err.to_string();
        let json = Error::json("stored manifest", json_err);
        assert_eq!(json.kind(), ErrorKind::Internal);
        assert_eq!(json.to_string(), format!("stored manifest: {printed}"));
        assert!(json.source().is_some());
        let bare = Error::json("", serde_json::from_str::<u32>("x").unwrap_err());
        assert_eq!(bare.to_string(), printed);

        let sys = Error::sys("pipe", nix::Error::EMFILE);
        assert_eq!(sys.kind(), ErrorKind::Internal);
        assert_eq!(sys.to_string(), format!("pipe: {}", nix::Error::EMFILE));
        assert!(sys.source().is_some());

        let mount = Error::Mount {
            context: "mounting volume v (nfs :/x)".into(),
            source: nix::Error::ENODEV,
        };
        assert_eq!(mount.kind(), ErrorKind::Invalid);
        assert_eq!(
            mount.to_string(),
            format!("mounting volume v (nfs :/x): {}", nix::Error::ENODEV)
        );
        assert!(mount.source().is_some());

        let stored = Error::Stored {
            context: "downloading sha256:ab".into(),
            source: berth_image::Error::InvalidDigest("sha256:ab".into()),
        };
        assert_eq!(stored.kind(), ErrorKind::Internal);
        assert!(stored.to_string().starts_with("downloading sha256:ab: "));
        assert!(stored.source().is_some());
    }

    #[test]
    fn firewall_and_rootpath_errors_keep_their_kinds() {
        use std::error::Error as _;

        let clash = Error::Firewall(berth_net::Error::Invalid("port is taken".into()));
        assert_eq!(clash.kind(), ErrorKind::Conflict);
        assert_eq!(clash.to_string(), "port is taken");
        let broken = Error::Firewall(berth_net::Error::io("nft", std::io::Error::other("boom")));
        assert_eq!(broken.kind(), ErrorKind::Internal);
        assert!(broken.source().is_some());
        let net = Error::Net(berth_net::Error::Exhausted("no subnet left".into()));
        assert_eq!(net.kind(), ErrorKind::Internal);

        let looped = Error::from(RootPathError::TooManyLinks("/a".into()));
        assert_eq!(looped.kind(), ErrorKind::Invalid);
        let unreadable = Error::from(RootPathError::ReadLink {
            link: "/a".into(),
            source: std::io::Error::other("boom"),
        });
        assert_eq!(unreadable.kind(), ErrorKind::Internal);
        assert!(unreadable.source().is_some());
    }

    #[test]
    fn sandbox_and_cleanup_errors_keep_their_kinds() {
        use std::error::Error as _;

        let failed = || SandboxError::Failed("container not running".into());
        let paused = Error::Sandboxed {
            context: "pausing container c to commit it".into(),
            source: failed(),
        };
        assert_eq!(paused.kind(), ErrorKind::Internal);
        assert_eq!(
            paused.to_string(),
            "pausing container c to commit it: container not running"
        );
        assert!(paused.source().is_some());
        let stopped = Error::StoppedMeanwhile {
            context: "pausing container c to commit it".into(),
            source: failed(),
        };
        assert_eq!(stopped.kind(), ErrorKind::Conflict);
        assert_eq!(stopped.to_string(), paused.to_string());

        let cleanup = Error::CleanupFailed {
            source: Box::new(Error::from(berth_registry::Error::NotFound(
                "blob unknown".into(),
            ))),
            cleanup: Box::new(Error::io("removing x", std::io::Error::other("busy"))),
        };
        assert_eq!(cleanup.kind(), ErrorKind::NotFound);
        assert_eq!(
            cleanup.to_string(),
            "blob unknown (and cleaning up after it: removing x: busy)"
        );
        assert!(cleanup.source().is_some());
    }

    #[test]
    fn a_failure_from_another_process_keeps_its_kind() {
        let refused = Error::from_parts("bad profile".into(), 125, ErrorKind::Invalid);
        assert_eq!(refused.kind(), ErrorKind::Invalid);
        assert_eq!(refused.to_string(), "bad profile");
        let missing = Error::from_parts("No such container: x".into(), 125, ErrorKind::NotFound);
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let not_found_cmd = Error::from_parts("exec: nope".into(), 127, ErrorKind::Invalid);
        assert_eq!(not_found_cmd.exit_code(), 127);
        assert_eq!(not_found_cmd.kind(), ErrorKind::CannotRun);
    }
}
