//! Hash maps with a fast, randomly seeded hasher (foldhash) for the name
//! indexes built on every run: SipHash's resistance to chosen keys is not
//! worth its cost for a file the user gives the tool.

/// A `std` hash map with foldhash.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
