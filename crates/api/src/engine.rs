//! Calling the blocking engine from async handlers: each blocking-pool thread keeps one open
//! `Engine` (opening is cheap, keeping it is cheaper: no per-request SQLite open).

use std::cell::RefCell;

use berth_engine::Engine;

use crate::error::{ApiError, ApiResult};

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's engine on the blocking pool.
pub async fn call<T, F>(f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> Result<T, berth_engine::Error> + Send + 'static,
{
    tokio::task::spawn_blocking(move || with_engine(f))
        .await
        .map_err(|e| ApiError::internal(format!("engine call failed: {e}")))?
}

/// Runs `f` with this thread's engine, on the current (blocking) thread.
pub fn with_engine<T>(f: impl FnOnce(&Engine) -> Result<T, berth_engine::Error>) -> ApiResult<T> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Engine::open()?);
        }
        let engine = slot
            .as_ref()
            .ok_or_else(|| ApiError::internal("engine unavailable"))?;
        f(engine).map_err(ApiError::from)
    })
}
