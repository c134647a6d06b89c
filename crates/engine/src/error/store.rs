//! What a state store operation fails with: the backend's own error, kept whole. Defined
//! here, below the store, so the engine's error can carry it without the store and the error
//! importing each other; `store` re-exports it.

/// Why the state store failed: the backend's own error, kept whole (to clients, a 500).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("state database: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}
