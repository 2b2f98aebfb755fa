//! Integration tests of the planner crate.

mod health;
mod order_properties;
