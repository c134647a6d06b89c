//! Image references: the grammar lives in the model ([`berth_model::reference`]); this wrapper
//! turns its refusal into the engine's "bad value from the user" (400) so callers keep one
//! error type.

pub use berth_model::reference::{ReferenceError, repository_tag_rows, split};

use crate::Error;

/// `busybox` -> `busybox:latest`; see [`berth_model::reference::normalize`].
pub fn normalize(reference: &str) -> Result<String, Error> {
    berth_model::reference::normalize(reference).map_err(|e| Error::InvalidArgument(e.to_string()))
}
