//! Clients that write their whole pipeline before they read (issue 10): the server keeps
//! reading while replies wait to be sent, so neither side blocks the other.

use crate::support::{self, Kind};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// The server's peak resident memory (`VmHWM`) in KiB, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_raw_client_that_writes_a_million_gets_before_reading_gets_every_reply() {
    const N: usize = 1_000_000;
    let server = support::start(Kind::Kv, &["--workers", "4"]);
    let value = vec![b'v'; 100];
    server.raw().call(&[&b"SET"[..], b"k", &value]);
    let stream = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    // A server that stops reading makes write_all time out here instead of hanging.
    stream
        .set_write_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let request = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".repeat(N);
    (&stream)
        .write_all(&request)
        .expect("the server takes the whole pipeline before any reply is read");
    let one = [&b"$100\r\n"[..], &value, b"\r\n"].concat();
    let mut reader = BufReader::with_capacity(1 << 20, &stream);
    let mut buf = vec![0u8; one.len() * 10_000];
    let mut got = 0;
    while got < N {
        let n = (N - got).min(10_000);
        let chunk = &mut buf[..one.len() * n];
        reader.read_exact(chunk).expect("replies");
        assert!(
            chunk.chunks(one.len()).all(|c| c == one.as_slice()),
            "reply {got}.. differs"
        );
        got += n;
    }
    let peak = peak_rss_kib(server.pid());
    eprintln!(
        "1,000,000 pipelined GETs: server peak RSS {} MiB",
        peak / 1024
    );
    // Bounded: the unexecuted requests (22 MB) and 1 MiB of replies, not 108 MB of replies.
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
}

#[test]
fn redis_py_pipeline_of_300k_gets() {
    let server = support::start(Kind::Kv, &["--workers", "4"]);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/pipeline.py");
    let out = Command::new(crate::tools::python())
        .arg(script)
        .arg(server.port().to_string())
        .output()
        .expect("run python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("python pipeline: ok"), "{text}");
    eprintln!(
        "{} server peak RSS {} MiB",
        text.lines().next().unwrap_or(""),
        peak_rss_kib(server.pid()) / 1024
    );
}
