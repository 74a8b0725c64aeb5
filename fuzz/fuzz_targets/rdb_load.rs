//! The RDB loader (`kv_core::persist::rdb`) on arbitrary bytes. The first byte picks:
//!
//! * `% 3 == 0`: the rest as a whole RDB file (`rdb::load`), under the default encoding
//!   limits or, when bit 2 is set, tiny ones (so loads convert encodings); the file's CRC is
//!   checked only at its end, after every value was decoded.
//! * `% 3 == 1`: the rest as the body of a DUMP payload: the harness appends the RDB
//!   version and the right CRC-64 (a fuzzer would never guess it), then `rdb::undump`, as
//!   RESTORE does. A value it accepts must dump again to a payload it accepts, and RESTORE
//!   through a real worker, followed by reads and writes of every type on the key, must
//!   not panic and must answer whole replies.
//! * `% 3 == 2`: the rest loaded into an engine (`snapshot::load`: duplicate keys,
//!   database numbers, expiry); what loads must save (`snapshot::write`) to a file that
//!   loads again with as many keys.
#![no_main]

use kv_core::config::Config;
use kv_core::engine::{Engine, HostFacts};
use kv_core::persist::{crc64, rdb, snapshot, RDB_VERSION};
use kv_core::time::UnixMillis;
use kv_core::types::EncodingLimits;
use kv_fuzz::{encode_request, Driver};
use libfuzzer_sys::fuzz_target;

const NOW: UnixMillis = UnixMillis(1_700_000_000_000);

/// Commands run on a restored key `k` (most answer WRONGTYPE for all types but one).
const AFTER_RESTORE: &[&[&[u8]]] = &[
    &[b"TYPE", b"k"],
    &[b"OBJECT", b"ENCODING", b"k"],
    &[b"MEMORY", b"USAGE", b"k"],
    &[b"DUMP", b"k"],
    &[b"GET", b"k"],
    &[b"STRLEN", b"k"],
    &[b"LRANGE", b"k", b"0", b"-1"],
    &[b"LINDEX", b"k", b"-1"],
    &[b"LPOP", b"k"],
    &[b"RPUSH", b"k", b"x"],
    &[b"HGETALL", b"k"],
    &[b"HSET", b"k", b"f", b"v"],
    &[b"HRANDFIELD", b"k", b"-3", b"WITHVALUES"],
    &[b"SMEMBERS", b"k"],
    &[b"SISMEMBER", b"k", b"1"],
    &[b"SADD", b"k", b"x"],
    &[b"SPOP", b"k"],
    &[b"ZRANGE", b"k", b"0", b"-1", b"WITHSCORES"],
    &[b"ZRANGEBYLEX", b"k", b"-", b"+"],
    &[b"ZADD", b"k", b"1", b"x"],
    &[b"ZPOPMIN", b"k"],
    &[b"SCAN", b"0", b"COUNT", b"100"],
    &[b"SORT", b"k", b"ALPHA"],
    &[b"COPY", b"k", b"k2"],
    &[b"DUMP", b"k2"],
];

fn small_limits() -> EncodingLimits {
    EncodingLimits {
        hash_max_listpack_entries: 2,
        hash_max_listpack_value: 4,
        set_max_intset_entries: 2,
        zset_max_listpack_entries: 2,
        zset_max_listpack_value: 4,
        list_max_listpack_size: 2,
    }
}

fn whole_file(mode: u8, body: &[u8]) {
    let limits = if mode & 4 != 0 {
        small_limits()
    } else {
        EncodingLimits::default()
    };
    let _ = rdb::load(body, &limits, |_| Ok(()));
}

fn payload(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn restore(body: &[u8]) {
    let p = payload(body);
    let Ok(v) = rdb::undump(&p, &EncodingLimits::default()) else {
        return;
    };
    for compress in [false, true] {
        let again = rdb::dump(&v, compress);
        assert!(
            rdb::undump(&again, &EncodingLimits::default()).is_ok(),
            "a loaded value's DUMP does not load: {again:?}"
        );
    }
    let mut d = Driver::new(kv_fuzz::config(1, 1 << 20), 1);
    let mut req = Vec::new();
    encode_request(&mut req, &[b"RESTORE", b"k", b"0", &p]);
    d.send(0, &req);
    for cmd in AFTER_RESTORE {
        req.clear();
        encode_request(&mut req, cmd);
        d.send(0, &req);
    }
}

fn into_engine(body: &[u8]) {
    let engine = Engine::new(
        Config::default(),
        HostFacts::default(),
        7,
        Default::default(),
    );
    let Ok(stats) = snapshot::load(&engine, body, NOW) else {
        return;
    };
    assert!(engine.persist.try_start());
    let opts = snapshot::WriteOptions {
        compress: true,
        checksum: true,
        now: NOW,
    };
    let Ok((file, written)) = snapshot::write(&engine, Vec::new(), opts, || {});
    engine.persist.finish();
    assert_eq!(written, stats.keys);
    let fresh = Engine::new(
        Config::default(),
        HostFacts::default(),
        7,
        Default::default(),
    );
    match snapshot::load(&fresh, &file, NOW) {
        Ok(again) => assert_eq!(again.keys, stats.keys),
        Err(e) => panic!("a saved file does not load: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => whole_file(mode, body),
        1 => restore(body),
        _ => into_engine(body),
    }
});
