//! Routes of the `tasks` family (being written).

use std::sync::Arc;

use axum::Router;

use super::state::World;

/// The routes of this family.
pub fn routes() -> Router<Arc<World>> {
    Router::new()
}
