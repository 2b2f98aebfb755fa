//! Integration tests of the health crate.

mod health;
