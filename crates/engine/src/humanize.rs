//! Docker's human wording of durations: it lives in the model ([`berth_model::humanize`]).

pub use berth_model::humanize::*;
