//! Differential tests of the bitmap commands and LCS against redis-server (see `differential.rs`).
//! SCAFFOLDING: the family's hand-written cases and random mixes go here.
