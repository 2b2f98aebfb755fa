//! Integration tests of the planner crate.

mod order_properties;
