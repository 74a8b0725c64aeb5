//! Differential tests of the SORT, SORT_RO, ZINTERCARD, ZMPOP, ZSCAN and the glob matcher against redis-server (see `differential.rs`).
//! SCAFFOLDING: the family's hand-written cases and random mixes go here.
