//! Storage types of the aggregate values: one file per type, each with its small and big
//! encodings (as Redis 7.0 names them for OBJECT ENCODING), no I/O and no locks. The
//! commands that use them live in `cmd/<family>.rs`.

pub mod hash;
pub mod list;
pub mod set;
pub mod zset;

/// The size thresholds at which the small encodings convert to the big ones, from the
/// configuration (Redis's `*-max-listpack-*` and `set-max-intset-entries`). A value converts
/// up on the write that crosses a threshold and never converts down, as in Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodingLimits {
    /// Most fields of a listpack hash (`hash-max-listpack-entries`, 512 in Redis 7.0.15).
    pub hash_max_listpack_entries: usize,
    /// Longest field or value of a listpack hash (`hash-max-listpack-value`, 64).
    pub hash_max_listpack_value: usize,
    /// Most members of an intset (`set-max-intset-entries`, 512).
    pub set_max_intset_entries: usize,
    /// Most members of a listpack sorted set (`zset-max-listpack-entries`, 128).
    pub zset_max_listpack_entries: usize,
    /// Longest member of a listpack sorted set (`zset-max-listpack-value`, 64).
    pub zset_max_listpack_value: usize,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}
