//! Every row of `protocol-checklist.md` (A1-A31 and the strict CRLF rule), sent as raw bytes
//! to `kv_server` and, for rows that are Redis behaviour, to `redis-server` too: both must
//! answer the expected bytes with the expected connection outcome.

use crate::support::{self, Kind, Rng, Server};
use std::time::Duration;

/// What happens to the connection after the reply.
#[derive(Clone, Copy, Debug, PartialEq)]
enum After {
    /// Still open: a PING answers PONG.
    Open,
    /// Closed by the server.
    Closed,
    /// No reply, still open, waiting for more data.
    Waits,
}

struct Row {
    name: &'static str,
    send: Vec<u8>,
    expect: Vec<u8>,
    after: After,
    /// Redis behaviour (checked against redis-server too), or our decision.
    redis_too: bool,
}

fn row(name: &'static str, send: &[u8], expect: &[u8], after: After) -> Row {
    Row {
        name,
        send: send.to_vec(),
        expect: expect.to_vec(),
        after,
        redis_too: true,
    }
}

fn ours(mut r: Row) -> Row {
    r.redis_too = false;
    r
}

fn rows() -> Vec<Row> {
    let invalid_mbulk: &[u8] = b"-ERR Protocol error: invalid multibulk length\r\n";
    let invalid_bulk: &[u8] = b"-ERR Protocol error: invalid bulk length\r\n";
    let too_big_inline: &[u8] = b"-ERR Protocol error: too big inline request\r\n";
    let a12 = vec![b'A'; 70_000];
    let mut a13 = b"ECHO ".to_vec();
    a13.extend(vec![b'A'; 100_000]);
    a13.extend(b"\r\n");
    let mut a14 = vec![0u8];
    a14.extend(vec![b'x'; 70_000]);
    let mut a14b = b"*\x00".to_vec();
    a14b.extend(vec![b'x'; 70_000]);
    let mut a14c = b"*1\r\n$\x00".to_vec();
    a14c.extend(vec![b'x'; 70_000]);
    let mut a15 = b"*".to_vec();
    a15.extend(vec![b'1'; 70_000]);
    let mut a16 = b"*1\r\n$".to_vec();
    a16.extend(vec![b'1'; 70_000]);
    // MSET with 20,002 arguments after the name: 10,001 key/value pairs.
    let mut a31 = format!("*{}\r\n$4\r\nMSET\r\n", 1 + 20_002).into_bytes();
    for i in 0..10_001 {
        for arg in [format!("k{i}"), format!("v{i}")] {
            a31.extend(format!("${}\r\n{}\r\n", arg.len(), arg).as_bytes());
        }
    }
    vec![
        row("A1 empty line", b"\r\nPING\r\n", b"+PONG\r\n", After::Open),
        row(
            "A2 negative count",
            b"*-10\r\nPING\r\n",
            b"+PONG\r\n",
            After::Open,
        ),
        row(
            "A3 zero count",
            b"*0\r\nPING\r\n",
            b"+PONG\r\n",
            After::Open,
        ),
        row(
            "A4 huge count",
            b"*3000000000\r\n",
            invalid_mbulk,
            After::Closed,
        ),
        row("A5 2^31", b"*2147483648\r\n", invalid_mbulk, After::Closed),
        row("A5 abc", b"*abc\r\n", invalid_mbulk, After::Closed),
        row("A5 leading zero", b"*01\r\n", invalid_mbulk, After::Closed),
        row("A5 plus", b"*+1\r\n", invalid_mbulk, After::Closed),
        row("A5 space", b"* 1\r\n", invalid_mbulk, After::Closed),
        row(
            "A6",
            b"*1\r\nfoo\r\n",
            b"-ERR Protocol error: expected '$', got 'f'\r\n",
            After::Closed,
        ),
        row(
            "A7",
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
            b"-ERR Protocol error: expected '$', got 'f'\r\n",
            After::Closed,
        ),
        row(
            "A8 plus",
            b"*1\r\n+PING\r\n",
            b"-ERR Protocol error: expected '$', got '+'\r\n",
            After::Closed,
        ),
        row(
            "A8 colon",
            b"*2\r\n$4\r\nECHO\r\n:1\r\n",
            b"-ERR Protocol error: expected '$', got ':'\r\n",
            After::Closed,
        ),
        row("A9 -1", b"*1\r\n$-1\r\n", invalid_bulk, After::Closed),
        row("A9 -10", b"*1\r\n$-10\r\n", invalid_bulk, After::Closed),
        row(
            "A9 blabla",
            b"*1\r\n$blabla\r\n",
            invalid_bulk,
            After::Closed,
        ),
        row(
            "A9 2000000000",
            b"*1\r\n$2000000000\r\n",
            invalid_bulk,
            After::Closed,
        ),
        row(
            "A9 536870913",
            b"*1\r\n$536870913\r\n",
            invalid_bulk,
            After::Closed,
        ),
        row("A10", b"*1\r\n$536870912\r\n", b"", After::Waits),
        row("A11", b"*2\r\n$4\r\nECHO\r\n", b"", After::Waits),
        row("A12", &a12, too_big_inline, After::Closed),
        ours(row("A13", &a13, too_big_inline, After::Closed)),
        row("A14 NUL inline", &a14, too_big_inline, After::Closed),
        row(
            "A14 NUL count",
            &a14b,
            b"-ERR Protocol error: too big mbulk count string\r\n",
            After::Closed,
        ),
        row(
            "A14 NUL bulk length",
            &a14c,
            b"-ERR Protocol error: too big bulk count string\r\n",
            After::Closed,
        ),
        // Redis waits here (it scans for CR with strchr, which stops at the NUL); we answer.
        ours(row(
            "A14 short NUL count",
            b"*\x00\r\n",
            invalid_mbulk,
            After::Closed,
        )),
        ours(row(
            "A14 short NUL bulk length",
            b"*1\r\n$\x00\r\n",
            invalid_bulk,
            After::Closed,
        )),
        row(
            "A15",
            &a15,
            b"-ERR Protocol error: too big mbulk count string\r\n",
            After::Closed,
        ),
        row(
            "A16",
            &a16,
            b"-ERR Protocol error: too big bulk count string\r\n",
            After::Closed,
        ),
        row(
            "A17",
            b"ECHO \"abc\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
            After::Closed,
        ),
        row(
            "A18",
            b"SET \"a\"b c\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
            After::Closed,
        ),
        row("A19", b"PING\n", b"+PONG\r\n", After::Open),
        row(
            "A20",
            b"  ECHO    hello   \r\n",
            b"$5\r\nhello\r\n",
            After::Open,
        ),
        row(
            "A21",
            b"ECHO \"a b\\x41\\n\"\r\n",
            b"$5\r\na bA\n\r\n",
            After::Open,
        ),
        row(
            "A22",
            b"PING\r\n*abc\r\nPING\r\n",
            &[b"+PONG\r\n", invalid_mbulk].concat(),
            After::Closed,
        ),
        row(
            "A23",
            b"*3\r\n$3\r\nFOO\r\n$1\r\na\r\n$1\r\nb\r\n",
            b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
            After::Open,
        ),
        row(
            "A24",
            b"*1\r\n$5\r\nF\r\nOO\r\n",
            b"-ERR unknown command 'F  OO', with args beginning with: \r\n",
            After::Open,
        ),
        row(
            "A25",
            b"*1\r\n$0\r\n\r\n",
            b"-ERR unknown command '', with args beginning with: \r\n",
            After::Open,
        ),
        row(
            "A26",
            b"GET\r\n",
            b"-ERR wrong number of arguments for 'get' command\r\n",
            After::Open,
        ),
        row("A27", b"ping\r\n", b"+PONG\r\n", After::Open),
        row(
            "A28 POST",
            b"POST / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"",
            After::Closed,
        ),
        row("A28 Host", b"Host: example.com\r\n", b"", After::Closed),
        ours(row(
            "A29 HELLO 3",
            b"HELLO 3\r\n",
            b"-NOPROTO unsupported protocol version\r\n",
            After::Open,
        )),
        row(
            "A29 HELLO 4",
            b"HELLO 4\r\n",
            b"-NOPROTO unsupported protocol version\r\n",
            After::Open,
        ),
        row("A30", b"QUIT\r\n", b"+OK\r\n", After::Closed),
        row("A31", &a31, b"+OK\r\n", After::Open),
        ours(row(
            "strict CRLF after bulk payload",
            b"*1\r\n$4\r\nPINGxx",
            b"-ERR Protocol error: expected '\\r\\n' after bulk payload\r\n",
            After::Closed,
        )),
        row(
            "unknown command args cut at 128 bytes",
            &support::encode_command(&[b"FOO".to_vec(), vec![b'x'; 200], b"y".to_vec()]),
            &[
                b"-ERR unknown command 'FOO', with args beginning with: '".as_slice(),
                &[b'x'; 128],
                b"' \r\n",
            ]
            .concat(),
            After::Open,
        ),
    ]
}

fn check(server: &Server, kind: Kind, r: &Row) {
    eprintln!("{kind:?}: row {}", r.name);
    let mut c = server.raw();
    c.send(&r.send);
    let got = c.read_exact(r.expect.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&r.expect),
        "{kind:?}, row {}",
        r.name
    );
    match r.after {
        After::Open => {
            c.send(b"PING\r\n");
            assert_eq!(
                c.reply(),
                b"+PONG\r\n",
                "{kind:?}, row {}: still open",
                r.name
            );
        }
        After::Closed => assert!(
            c.closed_within(Duration::from_secs(2)),
            "{kind:?}, row {}: closed",
            r.name
        ),
        After::Waits => assert!(
            c.silent_for(Duration::from_millis(300)),
            "{kind:?}, row {}: waits without a reply",
            r.name
        ),
    }
}

#[test]
fn every_checklist_row_on_kv_server_and_redis() {
    let kv = support::server(Kind::Kv);
    let redis = support::server(Kind::Redis);
    for r in rows() {
        check(&kv, Kind::Kv, &r);
        if r.redis_too {
            check(&redis, Kind::Redis, &r);
        }
    }
}

#[test]
fn a31_mset_with_20002_arguments_stores_every_key() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.raw();
    let mut args = vec![b"MSET".to_vec()];
    for i in 0..10_001 {
        args.push(format!("k{i}").into_bytes());
        args.push(format!("v{i}").into_bytes());
    }
    assert_eq!(args.len() - 1, 20_002);
    assert_eq!(c.call(&args), b"+OK\r\n");
    assert_eq!(c.call(&["GET", "k10000"]), b"$6\r\nv10000\r\n");
    assert_eq!(c.call(&["DBSIZE"]), b":10001\r\n");
}

#[test]
fn requests_split_anywhere_give_the_same_replies() {
    let kv = support::server(Kind::Kv);
    let mut pipeline = Vec::new();
    let mut big = vec![0u8; 3000];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    pipeline.extend(support::encode_command(&[
        b"SET".as_slice(),
        b"bin\0\r\n",
        b"v\r\n\0x",
    ]));
    pipeline.extend(support::encode_command(&[b"GET".as_slice(), b"bin\0\r\n"]));
    pipeline.extend(b"ECHO \"in\\x00line\"\r\n");
    pipeline.extend(support::encode_command(&[b"SET".as_slice(), b"big", &big]));
    pipeline.extend(support::encode_command(&[b"GET".as_slice(), b"big"]));
    pipeline.extend(b"PING\n\r\n*0\r\nINCR n\r\n");
    pipeline.extend(support::encode_command(&[
        "MGET",
        "n",
        "missing",
        "bin\0\r\n",
    ]));
    let replies_per_round = 8;

    let run = |chunks: &mut dyn FnMut() -> usize| -> Vec<u8> {
        let mut c = kv.raw();
        assert_eq!(c.call(&["DEL", "n"]).len(), 4);
        let mut sent = 0;
        while sent < pipeline.len() {
            let n = chunks().clamp(1, pipeline.len() - sent);
            c.send(&pipeline[sent..sent + n]);
            sent += n;
            if n < 4 {
                // Let tiny pieces reach the server as separate reads now and then.
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let mut out = Vec::new();
        for _ in 0..replies_per_round {
            out.extend(c.reply());
        }
        out
    };
    let whole = run(&mut || usize::MAX);
    assert!(
        whole.starts_with(b"+OK\r\n$5\r\nv\r\n\0x\r\n$7\r\nin\0line\r\n"),
        "{:?}",
        String::from_utf8_lossy(&whole)
    );
    let bytewise = run(&mut || 1);
    assert_eq!(bytewise, whole, "one byte at a time");
    let mut rng = Rng(0x5EED);
    for _ in 0..20 {
        let random = run(&mut || (rng.next() % 97 + 1) as usize);
        assert_eq!(random, whole, "random chunks");
    }
}
