//! The compose front end's errors. A project error names the file, line and column and the
//! path inside the document (`services.web.ports[0]`), as the user wrote it.

use std::path::PathBuf;

use crate::loc::Loc;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The YAML itself does not parse.
    #[error("{file}:{line}:{column}: {message}")]
    Yaml {
        file: PathBuf,
        line: u32,
        column: u32,
        message: String,
    },
    /// A valid document with a wrong value: where it is and which key.
    #[error("{loc}: {path}: {message}")]
    Invalid {
        loc: Loc,
        path: String,
        message: String,
    },
    /// A project-wide inconsistency with no single place in the files.
    #[error("{0}")]
    Project(String),
    /// The project loaded, but running it failed (a dependency unhealthy, a container that
    /// exited, something missing on the engine's side).
    #[error("{0}")]
    Run(String),
    /// A service's image did not build.
    #[error("{0}")]
    Build(String),
    #[error("no configuration file provided: not found")]
    NoConfigFile,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] berth_engine::Error),
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn invalid(loc: &Loc, path: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            loc: loc.clone(),
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// Docker Compose v2's exit codes: 14 when no file is found, 15 for a project that does
    /// not load, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NoConfigFile => 14,
            Error::Yaml { .. } | Error::Invalid { .. } | Error::Project(_) => 15,
            Error::Io { .. } | Error::Engine(_) | Error::Build(_) | Error::Run(_) => 1,
        }
    }
}
