//! Storage types of the aggregate values: one file per type, each with its small and big
//! encodings (as Redis 7.0 names them for OBJECT ENCODING), no I/O and no locks. The
//! commands that use them live in `cmd/<family>.rs`.

pub mod hash;
pub mod list;
pub mod set;
pub mod string;
pub mod zset;

/// The seed of the element hashes (fields of hashes, members of sets and sorted sets),
/// set once per process by the engine from its random seed, so that nobody can aim
/// colliding elements at a known hash function; 0 until then (unit tests).
static ELEMENT_SEED: crate::sync::Once<u64> = crate::sync::Once::new();

/// Sets the element-hash seed; the first call wins (one engine per process).
pub fn set_element_seed(seed: u64) {
    ELEMENT_SEED.call_once(|| seed);
}

/// The hash of an element's bytes: XXH3-64 under the process's element seed.
#[inline]
pub fn element_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(bytes, ELEMENT_SEED.get().copied().unwrap_or(0))
}

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
    /// The fill of new lists' chunks (`list-max-listpack-size`, alias
    /// `list-max-ziplist-size`, -2: 8 KiB chunks; see [`list`]).
    pub list_max_listpack_size: i32,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: list::DEFAULT_FILL,
        }
    }
}
