//! The kubelet's errors: the engine's, kept whole, and a pod the kubelet cannot make.

/// What went wrong turning a Pod into containers (or removing them).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine refused or failed; its error says which container operation (boxed: the
    /// engine's error is large, and most results here are not errors).
    #[error("{context}: {source}")]
    Engine {
        context: String,
        #[source]
        source: Box<berth_engine::Error>,
    },
    /// The pod's spec asks for something invalid or that berth cannot do (the field named).
    #[error("pod {pod}: {message}")]
    InvalidPod { pod: String, message: String },
    /// A pod's container that does not exist (yet): the API server's words for it.
    #[error("container {container} is not valid for pod {pod}")]
    NoSuchContainer { pod: String, container: String },
    /// Writing the files of a configMap or secret volume.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn engine(context: impl Into<String>) -> impl FnOnce(berth_engine::Error) -> Error {
        let context = context.into();
        move |source| Error::Engine {
            context,
            source: Box::new(source),
        }
    }

    pub(crate) fn invalid(pod: &str, message: impl Into<String>) -> Error {
        Error::InvalidPod {
            pod: pod.to_string(),
            message: message.into(),
        }
    }
}
