//! What can go wrong setting the API up (serving errors are [`crate::status::ApiError`]).

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Certificate(#[from] berth_pki::PkiError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("setting up TLS: {0}")]
    Tls(String),
    #[error("preparing the API's objects: {0}")]
    Seed(#[from] crate::status::ApiError),
}
