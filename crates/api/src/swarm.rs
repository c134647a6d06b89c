//! Swarm mode's endpoints (`/swarm*`, `/nodes`, `/services`, `/tasks`, `/secrets`, `/configs`):
//! berth is never part of a swarm, so they answer as dockerd outside one, 503 with its words
//! (`docker node ls` and `docker service ls` print them).

use axum::http::StatusCode;

use crate::error::ApiError;

/// What dockerd answers on a manager-only endpoint when the node is in no swarm.
pub const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

/// What dockerd answers to `POST /swarm/leave` outside a swarm.
pub const NOT_IN_A_SWARM: &str = "This node is not part of a swarm";

pub async fn not_a_manager() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, NOT_A_MANAGER)
}

pub async fn not_in_a_swarm() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, NOT_IN_A_SWARM)
}
