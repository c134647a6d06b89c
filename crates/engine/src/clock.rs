//! The engine's timestamps: RFC 3339 in UTC with nanoseconds, as Docker writes `Created`,
//! `StartedAt` and `FinishedAt`. A leaf module, so records, health and repair share it
//! without importing each other.

/// Now, as the engine records it.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
