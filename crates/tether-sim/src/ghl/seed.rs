//! Populates a new world: the configured locations and PITs, then generated records.

use super::state::{Location, World};

/// Creates the configured locations and PITs, and seeds the main location.
pub fn populate(world: &World) {
    let config = &world.config;
    world.add_location(Location::new(&config.location_id, &config.location_name, &config.company_id));
    for n in 1..=config.extra_locations {
        let id = world.new_id();
        world.add_location(Location::new(id, format!("Sub-account {n} (sim)"), &config.company_id));
    }
    for pit in &config.pits {
        world.tokens.add_pit(pit, &config.location_id, &config.company_id);
    }
}
