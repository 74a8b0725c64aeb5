//! Holder crate for the benches in `benches/` and the load scripts beside them.
