//! Redis's CRC-64 (`crc64.c`): the Jones polynomial, reflected in and out, initial value 0,
//! no final xor; `update(0, b"123456789") == 0xe9c6d914c4b8d9ca`. RDB files end with it and
//! DUMP payloads carry it. Slicing-by-8, about 1 byte a cycle: fast enough for files of
//! hundreds of MB. The 16 KB of tables are built on first use (in `.bss`, a few microseconds)
//! rather than stored in the binary (README, "Binary size").

/// The Jones polynomial, bit-reflected (Redis's `POLY` in `crc64.c`).
pub const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

type Tables = [[u64; 256]; 8];

/// `TABLES[0]` is the classic byte table; `TABLES[k][b]` is the CRC of byte `b` followed by
/// `k` zero bytes (slicing-by-8).
static TABLES: crate::sync::Once<Tables> = crate::sync::Once::new();

fn tables() -> &'static Tables {
    TABLES.call_once(build_tables)
}

// `const` so that an index out of bounds in it would be caught by the compile-time test
// below, not panic at run time.
#[allow(clippy::indexing_slicing)]
#[cold]
const fn build_tables() -> Tables {
    let mut t = [[0u64; 256]; 8];
    let mut b = 0;
    while b < 256 {
        let mut crc = b as u64;
        let mut k = 0;
        while k < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            k += 1;
        }
        t[0][b] = crc;
        b += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut b = 0;
        while b < 256 {
            let prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            b += 1;
        }
        k += 1;
    }
    t
}

#[inline(always)]
fn entry(t: &Tables, k: usize, b: u64) -> u64 {
    // `b` is masked to a byte and `k` < 8 at every call site: the lookups cannot miss.
    t.get(k)
        .and_then(|t| t.get((b & 0xff) as usize))
        .copied()
        .unwrap_or(0)
}

/// Continues the CRC `crc` (0 to start) over `bytes`.
pub fn update(mut crc: u64, bytes: &[u8]) -> u64 {
    let t = tables();
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = crc ^ u64::from_le_bytes(w);
        crc = entry(t, 7, v)
            ^ entry(t, 6, v >> 8)
            ^ entry(t, 5, v >> 16)
            ^ entry(t, 4, v >> 24)
            ^ entry(t, 3, v >> 32)
            ^ entry(t, 2, v >> 40)
            ^ entry(t, 1, v >> 48)
            ^ entry(t, 0, v >> 56);
    }
    for &b in chunks.remainder() {
        crc = entry(t, 0, crc ^ u64::from(b)) ^ (crc >> 8);
    }
    crc
}

/// The CRC-64 of `bytes` (Redis's `crc64(0, bytes, len)`).
pub fn crc64(bytes: &[u8]) -> u64 {
    update(0, bytes)
}

// The table builder, evaluated by the compiler once: an out-of-bounds index fails the build.
const _: Tables = build_tables();

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn bitwise(mut crc: u64, bytes: &[u8]) -> u64 {
        for &b in bytes {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn redis_check_value() {
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b""), 0);
    }

    #[test]
    fn matches_bitwise_and_streams() {
        let data: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 100, 1000] {
            let d = &data[..len];
            assert_eq!(crc64(d), bitwise(0, d), "len {len}");
            for split in [0, 1, 3, len / 2, len] {
                let (a, b) = d.split_at(split.min(len));
                assert_eq!(update(update(0, a), b), crc64(d));
            }
        }
    }
}
