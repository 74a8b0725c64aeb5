//! Differential tests of the set commands against redis-server (see `differential.rs`).
//! SCAFFOLDING: the family's hand-written cases and random mixes go here.
