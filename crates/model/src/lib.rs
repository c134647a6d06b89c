//! berth-model: the Docker-shaped data every berth front end shares (the CLI, the API server,
//! later compose and kube), so that each of them parses and prints through one place.
//!
//! Owns: the request and record types ([`types`]: `CreateRequest`, `HostConfig`, ...), image
//! references ([`reference`]), Docker's human wording of sizes and durations ([`humanize`]), the
//! Docker CLI's value grammars with their exact error wording ([`grammar`]: memory sizes, Go
//! durations and numbers, port specs, `--mount`, ulimits, restart policies, security options,
//! `--network`, env files), the Go `--format` template engine with Docker's table alignment
//! ([`template`]), Go's way of printing numbers and JSON ([`gofmt`]), and Docker's inspect
//! documents as types ([`inspect`]) and Docker's event message ([`events`]).
//!
//! Must not: do I/O (the one exception: reading the env, label and seccomp files a user names on
//! the command line, which the grammar turns into values), call the engine, speak HTTP or know
//! clap. Everything here is plain data and pure functions, so every front end can share it.

pub mod events;
pub mod gofmt;
pub mod grammar;
pub mod humanize;
pub mod inspect;
pub mod reference;
pub mod template;
pub mod types;
