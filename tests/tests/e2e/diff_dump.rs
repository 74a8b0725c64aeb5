//! DUMP and RESTORE against redis-server: a dataset with every type in every encoding
//! (small and big), built on both servers; values dumped by redis-server restored into
//! kv_server and the other way round, compared by content and OBJECT ENCODING; DUMP
//! payloads compared byte for byte where Redis's are deterministic; RESTORE's errors and
//! options compared reply for reply.

use crate::support::{self, Kind, Raw};

/// The commands that build the dataset (the same on both servers).
fn dataset() -> Vec<Vec<Vec<u8>>> {
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut c = |parts: Vec<Vec<u8>>| cmds.push(parts);
    let b = |s: &str| s.as_bytes().to_vec();
    c(vec![b("SET"), b("s:empty"), b("")]);
    c(vec![b("SET"), b("s:int"), b("12345")]);
    c(vec![b("SET"), b("s:neg"), b("-7")]);
    c(vec![b("SET"), b("s:i64"), b("12345678901234")]);
    c(vec![b("SET"), b("s:zero"), b("007")]);
    c(vec![b("SET"), b("s:raw"), b("hello world")]);
    c(vec![b("SET"), b("s:long"), b(&"abc".repeat(300))]);
    c(vec![b("SET"), b("s:21"), b(&"x".repeat(21))]);
    c(vec![b("SET"), b"k\x00\xff".to_vec(), (0..=255u8).collect()]);
    let mut small = vec![b("RPUSH"), b("l:small")];
    small.extend(
        [
            "a",
            "b",
            "1",
            "-5",
            "300",
            "70000",
            "",
            "-4096",
            "9223372036854775807",
        ]
        .map(b),
    );
    c(small);
    let mut big = vec![b("RPUSH"), b("l:big")];
    big.extend((0..3000).map(|i| b(&format!("element-{i}"))));
    big.push(b(&"y".repeat(10_000)));
    c(big);
    c(vec![
        b("SADD"),
        b("set:int"),
        b("1"),
        b("2"),
        b("-100"),
        b("100000"),
        b("5000000000"),
    ]);
    c(vec![b("SADD"), b("set:small16"), b("1"), b("2"), b("3")]);
    c(vec![b("SADD"), b("set:ht"), b("a"), b("b"), b("c"), b("")]);
    let mut bigint = vec![b("SADD"), b("set:bigint")];
    bigint.extend((0..600).map(|i| b(&i.to_string())));
    c(bigint);
    c(vec![
        b("ZADD"),
        b("z:lp"),
        b("1"),
        b("a"),
        b("2.5"),
        b("b"),
        b("inf"),
        b("c"),
        b("-inf"),
        b("d"),
        b("0"),
        b("e"),
        b("1e100"),
        b("f"),
        b("0.1"),
        b("g"),
        b("-3"),
        b("h"),
        b("4611686018427387904"),
        b("i"),
    ]);
    let mut zsl = vec![b("ZADD"), b("z:sl")];
    for i in 0..200 {
        zsl.push(b(&format!("{}", f64::from(i) / 3.0)));
        zsl.push(b(&format!("m{i}")));
    }
    zsl.extend([b("inf"), b("top"), b("-inf"), b("bottom")]);
    c(zsl);
    c(vec![
        b("ZADD"),
        b("z:longmember"),
        b("1"),
        b(&"m".repeat(100)),
    ]);
    c(vec![
        b("HSET"),
        b("h:lp"),
        b("f"),
        b("v"),
        b("n"),
        b("123"),
        b(""),
        b(""),
        b("big"),
        b("-70000"),
    ]);
    let mut hht = vec![b("HSET"), b("h:ht")];
    for i in 0..600 {
        hht.push(b(&format!("f{i}")));
        hht.push(b(&format!("v{i}")));
    }
    c(hht);
    c(vec![b("HSET"), b("h:longval"), b("f"), b(&"v".repeat(100))]);
    cmds
}

fn keys() -> Vec<Vec<u8>> {
    let mut k: Vec<Vec<u8>> = [
        "s:empty",
        "s:int",
        "s:neg",
        "s:i64",
        "s:zero",
        "s:raw",
        "s:long",
        "s:21",
        "l:small",
        "l:big",
        "set:int",
        "set:small16",
        "set:ht",
        "set:bigint",
        "z:lp",
        "z:sl",
        "z:longmember",
        "h:lp",
        "h:ht",
        "h:longval",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    k.push(b"k\x00\xff".to_vec());
    k
}

/// Keys whose DUMP Redis computes deterministically (no hash-table order).
const DETERMINISTIC: &[&str] = &[
    "s:empty",
    "s:int",
    "s:neg",
    "s:i64",
    "s:zero",
    "s:raw",
    "s:long",
    "s:21",
    "l:small",
    "l:big",
    "set:int",
    "set:small16",
    "z:lp",
    "z:sl",
    "h:lp",
];

fn call(c: &mut Raw, args: &[&[u8]]) -> Vec<u8> {
    c.call(args)
}

/// The value of `key` in a comparable form: type, encoding and content (unordered
/// collections sorted).
fn describe(c: &mut Raw, key: &[u8]) -> String {
    let ty = call(c, &[b"TYPE", key]);
    let enc = call(c, &[b"OBJECT", b"ENCODING", key]);
    let content = match &ty[..] {
        b"+string\r\n" => format!("{:?}", call(c, &[b"GET", key])),
        b"+list\r\n" => format!("{:?}", call(c, &[b"LRANGE", key, b"0", b"-1"])),
        b"+set\r\n" => {
            let mut m = support::bulk_elements(&call(c, &[b"SMEMBERS", key]));
            m.sort();
            format!("{m:?}")
        }
        b"+zset\r\n" => format!(
            "{:?}",
            call(c, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])
        ),
        b"+hash\r\n" => {
            let flat = support::bulk_elements(&call(c, &[b"HGETALL", key]));
            let mut pairs: Vec<_> = flat.chunks(2).map(<[Vec<u8>]>::to_vec).collect();
            pairs.sort();
            format!("{pairs:?}")
        }
        _ => String::from("none"),
    };
    format!(
        "{} {} {}",
        String::from_utf8_lossy(&ty).trim(),
        String::from_utf8_lossy(&enc).trim(),
        content
    )
}

fn bulk_of(reply: &[u8]) -> Vec<u8> {
    assert_eq!(
        reply.first(),
        Some(&b'$'),
        "{:?}",
        String::from_utf8_lossy(reply)
    );
    let nl = reply.iter().position(|&b| b == b'\n').unwrap();
    reply[nl + 1..reply.len() - 2].to_vec()
}

fn build(c: &mut Raw) {
    assert_eq!(call(c, &[b"FLUSHALL"]), b"+OK\r\n");
    for cmd in dataset() {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        let r = call(c, &args);
        assert!(
            r[0] == b':' || r[0] == b'+',
            "{:?}",
            String::from_utf8_lossy(&r)
        );
    }
}

#[test]
fn dump_restore_across_servers() {
    let redis = support::server(Kind::Redis);
    let kv = support::server(Kind::Kv);
    let (mut r, mut k) = (redis.raw(), kv.raw());
    build(&mut r);
    build(&mut k);

    for key in keys() {
        let name = String::from_utf8_lossy(&key).into_owned();
        let want = describe(&mut r, &key);
        assert_eq!(describe(&mut k, &key), want, "built {name}");

        // Redis -> kv_server.
        let payload = bulk_of(&call(&mut r, &[b"DUMP", &key]));
        let mut copy = b"from-redis:".to_vec();
        copy.extend_from_slice(&key);
        assert_eq!(
            call(&mut k, &[b"RESTORE", &copy, b"0", &payload]),
            b"+OK\r\n",
            "{name}"
        );
        assert_eq!(describe(&mut k, &copy), want, "redis -> kv {name}");

        // kv_server -> Redis.
        let ours = bulk_of(&call(&mut k, &[b"DUMP", &key]));
        let mut copy = b"from-kv:".to_vec();
        copy.extend_from_slice(&key);
        assert_eq!(
            call(&mut r, &[b"RESTORE", &copy, b"0", &ours]),
            b"+OK\r\n",
            "{name}"
        );
        assert_eq!(describe(&mut r, &copy), want, "kv -> redis {name}");

        if DETERMINISTIC.contains(&name.as_str()) {
            assert_eq!(ours, payload, "DUMP bytes of {name}");
        }
    }
    assert_eq!(
        call(&mut k, &[b"DUMP", b"missing"]),
        call(&mut r, &[b"DUMP", b"missing"])
    );
}

/// Redis's CRC-64 (bitwise), to seal hand-made payloads.
fn crc64(bytes: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in bytes {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fn sealed(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&[10, 0]);
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn restore_errors_and_options_match_redis() {
    let redis = support::server(Kind::Redis);
    let kv = support::server(Kind::Kv);
    let (mut r, mut k) = (redis.raw(), kv.raw());
    call(&mut r, &[b"SET", b"src", b"payload value"]);
    let good = bulk_of(&call(&mut r, &[b"DUMP", b"src"]));
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    let mut newer = good.clone();
    let n = newer.len();
    newer[n - 10] = 11;
    let lzf_empty = sealed(b"\x00\xc3\x05\x40\x00");
    let garbage = sealed(b"\x00\xc3\x01\x05\x00");
    let truncated = sealed(b"\x00\x40\xff");
    let dup_set = sealed(b"\x02\x02\x01x\x01x");
    let empty_list = sealed(b"\x12\x00");
    let stream = sealed(b"\x0f\x00");
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"SET", b"busy", b"1"],
        vec![b"RESTORE", b"new", b"0", b"garbage"],
        vec![b"RESTORE", b"new", b"0", &bad_crc],
        vec![b"RESTORE", b"new", b"0", &newer],
        vec![b"RESTORE", b"new", b"0", &garbage],
        vec![b"RESTORE", b"new", b"0", &truncated],
        vec![b"RESTORE", b"lzf-empty", b"0", &lzf_empty],
        vec![b"STRLEN", b"lzf-empty"],
        vec![b"RESTORE", b"new", b"0", &dup_set],
        vec![b"RESTORE", b"new", b"0", &empty_list],
        vec![b"RESTORE", b"new", b"0", &stream],
        vec![b"RESTORE", b"busy", b"0", &good],
        vec![b"RESTORE", b"busy", b"abc", &good],
        vec![b"RESTORE", b"busy", b"0", &good, b"REPLACE"],
        vec![b"GET", b"busy"],
        vec![b"RESTORE", b"new", b"-1", &good],
        vec![b"RESTORE", b"new", b"abc", &good],
        vec![b"RESTORE", b"new", b"1000", &good, b"ABSTTL"],
        vec![b"EXISTS", b"new"],
        vec![b"RESTORE", b"busy", b"1000", &good, b"ABSTTL", b"REPLACE"],
        vec![b"EXISTS", b"busy"],
        vec![b"RESTORE", b"idle", b"0", &good, b"IDLETIME", b"1000"],
        vec![b"OBJECT", b"IDLETIME", b"idle"],
        vec![b"RESTORE", b"x", b"0", &good, b"IDLETIME", b"-1"],
        vec![b"RESTORE", b"x", b"0", &good, b"IDLETIME", b"abc"],
        vec![b"RESTORE", b"x", b"0", &good, b"FREQ", b"256"],
        vec![b"RESTORE", b"x", b"0", &good, b"FREQ", b"-1"],
        vec![
            b"RESTORE",
            b"x",
            b"0",
            &good,
            b"IDLETIME",
            b"5",
            b"FREQ",
            b"5",
        ],
        vec![
            b"RESTORE",
            b"x",
            b"0",
            &good,
            b"FREQ",
            b"5",
            b"IDLETIME",
            b"5",
        ],
        vec![b"RESTORE", b"x", b"0", &good, b"IDLETIME"],
        vec![b"RESTORE", b"x", b"0", &good, b"BOGUS"],
        vec![b"RESTORE", b"x", b"0", &good, b"FREQ", b"5"],
        vec![b"GET", b"x"],
        vec![b"RESTORE", b"ttl", b"100000", &good],
        vec![b"RESTORE", b"x", b"0"],
        vec![b"DUMP"],
        vec![b"DUMP", b"a", b"b"],
    ];
    for case in &cases {
        let want = call(&mut r, case);
        let got = call(&mut k, case);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{:?}",
            case.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    }
    let pttl = |c: &mut Raw| {
        let r = call(c, &[b"PTTL", b"ttl"]);
        String::from_utf8_lossy(&r[1..r.len() - 2])
            .parse::<i64>()
            .unwrap()
    };
    let (a, b) = (pttl(&mut r), pttl(&mut k));
    assert!((a - b).abs() < 2000 && b > 90_000, "{a} {b}");
}
