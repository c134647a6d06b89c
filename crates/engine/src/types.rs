//! Docker-shaped container settings: they live in the model ([`berth_model::types`]); re-exported
//! here so `crate::types::X` and `berth_engine::types::X` keep naming them.

pub use berth_model::types::*;
