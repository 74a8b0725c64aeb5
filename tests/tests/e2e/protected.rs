//! Protected mode against redis-server: a client whose address is not 127.0.0.1 or ::1
//! (here one bound to 127.0.0.2) gets Redis's exact `-DENIED ...` text and the close while
//! `protected-mode` is on and the default user has no password; loopback clients are
//! served; `CONFIG SET protected-mode no` and `--protected-mode no` let it in.

use crate::support::{encode_command, start, Kind, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A TCP connection from `from` (a loopback address) to the server's port on 127.0.0.1.
pub fn connect_from(from: &str, port: u16) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: SocketAddr = format!("{from}:0").parse().expect("address");
    socket
        .bind(&local.into())
        .expect("bind the client to its address");
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    socket.connect(&server.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
}

/// Everything the server sends until it closes the connection (EOF or reset), with a
/// deadline; `None` if it is still open then.
pub fn read_to_close(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return Some(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Some(out),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                return None
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    None
}

/// What a client from `from` gets for PING: the whole stream up to the close when the
/// server closes it, else the first reply.
fn ping_from(server: &Server, from: &str) -> (Vec<u8>, bool) {
    let mut s = connect_from(from, server.port());
    // The server may close before it reads: a failed send is part of the answer.
    let _ = s.write_all(&encode_command(&["PING"]));
    let mut reader = std::io::BufReader::new(s.try_clone().expect("clone"));
    let first = crate::support::read_reply(&mut reader).unwrap_or_default();
    if first == b"+PONG\r\n" {
        return (first, false);
    }
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    let mut all = first;
    all.extend_from_slice(&rest);
    (all, true)
}

#[test]
fn remote_clients_get_redis_denied_text_and_the_close() {
    let kv = start(Kind::Kv, &[]);
    let redis = start(Kind::Redis, &[]);
    for server in [&kv, &redis] {
        let mut c = server.raw();
        assert_eq!(
            c.call(&["CONFIG", "GET", "protected-mode"]),
            b"*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n"
        );
    }
    let mut kv_remote = connect_from("127.0.0.2", kv.port());
    let mut redis_remote = connect_from("127.0.0.2", redis.port());
    let kv_bytes = read_to_close(&mut kv_remote).expect("kv_server closes a remote client");
    let redis_bytes = read_to_close(&mut redis_remote).expect("redis closes a remote client");
    assert!(
        redis_bytes.starts_with(b"-DENIED Redis is running in protected mode because"),
        "{}",
        String::from_utf8_lossy(&redis_bytes)
    );
    assert_eq!(
        String::from_utf8_lossy(&kv_bytes),
        String::from_utf8_lossy(&redis_bytes)
    );
    assert!(kv_bytes.ends_with(b"from the outside.\r\n"));
    // The same client from 127.0.0.1 is served.
    for server in [&kv, &redis] {
        assert_eq!(
            ping_from(server, "127.0.0.1"),
            (b"+PONG\r\n".to_vec(), false)
        );
        assert!(ping_from(server, "127.0.0.2").1, "still denied");
    }
    // INFO counts the refusals as rejected connections, as Redis.
    let info = kv.raw().call(&["INFO", "stats"]);
    assert!(
        String::from_utf8_lossy(&info).contains("rejected_connections:2\r\n"),
        "{}",
        String::from_utf8_lossy(&info)
    );
    // CONFIG SET protected-mode no lets 127.0.0.2 in, at once, on both.
    for server in [&kv, &redis] {
        let mut c = server.raw();
        assert_eq!(
            c.call(&["CONFIG", "SET", "protected-mode", "no"]),
            b"+OK\r\n"
        );
        assert_eq!(
            ping_from(server, "127.0.0.2"),
            (b"+PONG\r\n".to_vec(), false)
        );
        assert_eq!(
            c.call(&["CONFIG", "SET", "protected-mode", "yes"]),
            b"+OK\r\n"
        );
        assert!(ping_from(server, "127.0.0.2").1, "denied again");
    }
}

#[test]
fn protected_mode_no_at_start_serves_remote_clients() {
    for kind in [Kind::Kv, Kind::Redis] {
        let server = start(kind, &["--protected-mode", "no"]);
        assert_eq!(
            ping_from(&server, "127.0.0.2"),
            (b"+PONG\r\n".to_vec(), false)
        );
        assert_eq!(
            server.raw().call(&["CONFIG", "GET", "protected-mode"]),
            b"*2\r\n$14\r\nprotected-mode\r\n$2\r\nno\r\n"
        );
    }
}
