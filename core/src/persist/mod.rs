//! Persistence, without I/O: Redis's RDB format (version 10, Redis 7.0) for whole files and
//! DUMP payloads, its LZF compression and CRC-64 checksum, and the point-in-time snapshot
//! of the keyspace that BGSAVE writes while clients keep writing. The std frontend owns the
//! files, fsync and background threads; this module decides what the bytes are.

/// The RDB version this build writes (Redis 7.0's), and the newest it reads.
pub const RDB_VERSION: u16 = 10;

pub mod crc64;
pub mod lzf;
pub mod rdb;
