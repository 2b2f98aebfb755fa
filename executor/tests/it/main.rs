//! Integration tests of the executor: runs against the in-memory fake, and
//! the SDK-backed cloud against moto server.

mod asg;
mod gates;
mod groups;
mod locking;
mod moto;
mod runs;
mod safety;
mod watching;
