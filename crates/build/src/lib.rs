//! berth-build: the Dockerfile language, with no I/O on images.
//!
//! Owns: parsing a Dockerfile into stages and instructions ([`dockerfile`], on top of the
//! `parse-dockerfile` crate), Docker's word expansion ([`expand`]), ARG scoping ([`args`]),
//! `.dockerignore` matching ([`ignore`]) and the build context's file listing with content
//! digests for the build cache ([`context`]). Every error names FILE:LINE.
//!
//! Must not: touch the image store, start containers or know the engine; the engine's build
//! executor (`berth_engine::build`) does that with what this crate returns.

pub mod args;
pub mod context;
pub mod dockerfile;
pub mod expand;
pub mod ignore;
pub mod mount;
pub mod platform;

pub use dockerfile::{Command, Dockerfile, Instruction, Kind, Stage, parse};

/// A Dockerfile error at a place: displays as `FILE:LINE: message` (Docker's form).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct Error {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl Error {
    pub fn at(file: &str, line: usize, message: String) -> Error {
        Error {
            file: file.to_string(),
            line,
            message,
        }
    }
}
