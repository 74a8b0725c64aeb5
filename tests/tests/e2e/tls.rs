//! TLS against a real `kv_server` built with `--features tls` (ci/test builds it into
//! `target/tls`; these tests build it there when it is missing and fail if they cannot):
//! certificates made at test time with rcgen, `redis-cli --tls`, client certificates under
//! `tls-auth-clients`, a plaintext client on the TLS port, a rustls client pipelining
//! large values (partial reads and writes on both sides), protected mode over TLS, and the
//! `tls-*` parameters against redis-server in both builds.

use crate::protected::{connect_from, read_to_close};
use crate::support::{encode_command, free_port, kv_bin, require_tool, start, Kind};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The TLS build of `kv_server`: `$KV_TLS_SERVER_BIN`, or `target/tls/debug/kv_server`
/// (built with cargo when missing; a failed build fails the test, never skips it).
fn tls_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("KV_TLS_SERVER_BIN") {
            return PathBuf::from(p);
        }
        // target/debug/kv_server -> target/tls
        let plain = kv_bin();
        let target = plain
            .parent()
            .and_then(|d| d.parent())
            .expect("target dir")
            .to_path_buf();
        let dir = target.join("tls");
        let bin = dir.join("debug").join("kv_server");
        if !bin.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let ok = Command::new(cargo)
                .args([
                    "build",
                    "-p",
                    "kv-server",
                    "--features",
                    "tls",
                    "--target-dir",
                ])
                .arg(&dir)
                .status()
                .expect("run cargo build")
                .success();
            assert!(ok, "cargo build -p kv-server --features tls failed");
        }
        assert!(bin.exists(), "no TLS kv_server at {}", bin.display());
        bin
    })
    .clone()
}

/// A CA, a server certificate for localhost / 127.0.0.1 and two client certificates (one
/// the CA signed, one from another CA), as PEM files in a scratch folder.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn new(name: &str) -> Certs {
        let dir = std::env::temp_dir().join(format!("kv-e2e-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cert dir");
        let make_ca = |cn: &str| {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, cn);
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let cert = params.self_signed(&key).expect("CA cert");
            (cert.pem(), Issuer::new(params, key))
        };
        let leaf = |issuer: &Issuer<'_, KeyPair>, sans: &[&str], usage| {
            let key = KeyPair::generate().expect("key");
            let mut params =
                CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    .expect("params");
            params
                .distinguished_name
                .push(DnType::CommonName, "kv test");
            params.extended_key_usages = vec![usage];
            let cert = params.signed_by(&key, issuer).expect("leaf cert");
            (cert.pem(), key.serialize_pem())
        };
        let (ca_pem, ca) = make_ca("kv test CA");
        let (_, other_ca) = make_ca("another CA");
        let (server, server_key) = leaf(
            &ca,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client, client_key) = leaf(&ca, &["client"], ExtendedKeyUsagePurpose::ClientAuth);
        let (rogue, rogue_key) = leaf(&other_ca, &["client"], ExtendedKeyUsagePurpose::ClientAuth);
        for (file, text) in [
            ("ca.crt", ca_pem),
            ("server.crt", server),
            ("server.key", server_key),
            ("client.crt", client),
            ("client.key", client_key),
            ("rogue.crt", rogue),
            ("rogue.key", rogue_key),
        ] {
            std::fs::write(dir.join(file), text).expect("write PEM");
        }
        Certs { dir }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TLS `kv_server` (killed when dropped).
struct TlsServer {
    child: Child,
    /// The plaintext port (0 = none).
    port: u16,
    /// The TLS port.
    tls_port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the TLS build with the certificates and `extra` options; `plain` keeps a
/// plaintext port too.
fn start_tls(certs: &Certs, plain: bool, extra: &[&str]) -> TlsServer {
    for _ in 0..5 {
        let port = if plain { free_port() } else { 0 };
        let mut tls_port = free_port();
        while tls_port == port {
            tls_port = free_port();
        }
        let dir = std::env::temp_dir().join(format!("kv-e2e-kv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let mut child = Command::new(tls_bin())
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--tls-port", &tls_port.to_string()])
            .args(["--tls-cert-file", &certs.path("server.crt")])
            .args(["--tls-key-file", &certs.path("server.key")])
            .args(["--tls-ca-cert-file", &certs.path("ca.crt")])
            .args(["--workers", "2", "--loglevel", "warning", "--save", ""])
            .arg("--dir")
            .arg(&dir)
            .current_dir(&dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the TLS kv_server");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break; // a port was taken: try others
            }
            if TcpStream::connect(("127.0.0.1", tls_port)).is_ok() {
                std::thread::sleep(Duration::from_millis(50));
                if let Ok(None) = child.try_wait() {
                    return TlsServer {
                        child,
                        port,
                        tls_port,
                    };
                }
                break;
            }
            assert!(Instant::now() < deadline, "TLS kv_server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("could not start the TLS kv_server");
}

/// `redis-cli --tls --cacert ca.crt [--cert --key] -p PORT args...`: (success, stdout +
/// stderr).
fn cli(certs: &Certs, port: u16, client: Option<&str>, args: &[&str]) -> (bool, String) {
    let mut c = Command::new(require_tool("redis-cli"));
    c.args(["--tls", "--cacert", &certs.path("ca.crt")]);
    if let Some(name) = client {
        c.args(["--cert", &certs.path(&format!("{name}.crt"))]);
        c.args(["--key", &certs.path(&format!("{name}.key"))]);
    }
    let out = c
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A rustls client configuration trusting the test CA, with the client certificate
/// `client` (`client` or `rogue`) if given.
fn client_config(certs: &Certs, client: Option<&str>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(certs.path("ca.crt")).expect("CA") {
        roots.add(cert.expect("CA cert")).expect("add CA");
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let config = match client {
        Some(name) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_file_iter(certs.path(&format!("{name}.crt")))
                    .expect("client cert")
                    .collect::<Result<_, _>>()
                    .expect("client cert");
            let key = PrivateKeyDer::from_pem_file(certs.path(&format!("{name}.key")))
                .expect("client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// A TLS client over a non-blocking TCP stream that writes and reads at the same time, so
/// a long pipeline never deadlocks on full socket buffers.
struct TlsClient {
    tcp: TcpStream,
    tls: rustls::ClientConnection,
}

impl TlsClient {
    fn connect(config: Arc<rustls::ClientConfig>, port: u16) -> TlsClient {
        let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        tcp.set_nonblocking(true).expect("nonblocking");
        let name = ServerName::try_from("localhost").expect("name");
        let tls = rustls::ClientConnection::new(config, name).expect("client session");
        TlsClient { tcp, tls }
    }

    /// Sends `request` while reading replies until `want` bytes of plaintext arrived, the
    /// server closed, a TLS error came, or 60 s passed. Returns the plaintext and the error.
    fn exchange(&mut self, request: &[u8], want: usize) -> (Vec<u8>, Option<String>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut sent = 0;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < want {
            if Instant::now() > deadline {
                return (got, Some("timed out".into()));
            }
            let mut progress = false;
            // Hand rustls at most 16 KiB at a time: small records, many partial writes.
            if sent < request.len() && !self.tls.is_handshaking() && !self.tls.wants_write() {
                let end = (sent + 16 * 1024).min(request.len());
                match self.tls.writer().write(&request[sent..end]) {
                    Ok(n) => {
                        sent += n;
                        progress |= n > 0;
                    }
                    Err(e) => return (got, Some(e.to_string())),
                }
            }
            while self.tls.wants_write() {
                match self.tls.write_tls(&mut self.tcp) {
                    Ok(_) => progress = true,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return (got, Some(e.to_string())),
                }
            }
            match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => {
                    let _ = self.tls.process_new_packets();
                    let _ = self.drain(&mut got, &mut buf);
                    return (got, Some("closed".into()));
                }
                Ok(_) => {
                    progress = true;
                    if let Err(e) = self.tls.process_new_packets() {
                        return (got, Some(e.to_string()));
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return (got, Some(e.to_string())),
            }
            if let Err(e) = self.drain(&mut got, &mut buf) {
                return (got, Some(e));
            }
            if !progress {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        (got, None)
    }

    fn drain(&mut self, got: &mut Vec<u8>, buf: &mut [u8]) -> Result<(), String> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(0) => return Err("close_notify".into()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// PING over a fresh rustls session: the reply, or why there was none.
fn tls_ping(config: Arc<rustls::ClientConfig>, port: u16) -> Result<Vec<u8>, String> {
    let mut c = TlsClient::connect(config, port);
    match c.exchange(&encode_command(&["PING"]), 7) {
        (got, None) => Ok(got),
        (got, Some(e)) if got.is_empty() => Err(e),
        (got, Some(e)) => Err(format!("{e} after {:?}", String::from_utf8_lossy(&got))),
    }
}

#[test]
fn redis_cli_over_tls_without_a_plaintext_port() {
    let certs = Certs::new("cli");
    let server = start_tls(&certs, false, &["--tls-auth-clients", "no"]);
    assert_eq!(server.port, 0);
    let p = server.tls_port;
    assert_eq!(cli(&certs, p, None, &["ping"]), (true, "PONG\n".into()));
    assert_eq!(
        cli(&certs, p, None, &["set", "k", "v"]),
        (true, "OK\n".into())
    );
    assert_eq!(cli(&certs, p, None, &["get", "k"]), (true, "v\n".into()));
    assert_eq!(
        cli(&certs, p, None, &["config", "get", "port"]),
        (true, "port\n0\n".into())
    );
    // A certificate sent when none is asked for is fine too.
    assert_eq!(
        cli(&certs, p, Some("client"), &["get", "k"]),
        (true, "v\n".into())
    );
}

#[test]
fn auth_clients_yes_needs_a_certificate_the_ca_signed() {
    let certs = Certs::new("auth");
    let server = start_tls(&certs, true, &[]);
    let p = server.tls_port;
    // Default tls-auth-clients yes: a client certificate from the CA is served...
    assert_eq!(
        cli(&certs, p, Some("client"), &["ping"]),
        (true, "PONG\n".into())
    );
    assert_eq!(
        cli(&certs, p, Some("client"), &["set", "a", "1"]),
        (true, "OK\n".into())
    );
    assert_eq!(
        tls_ping(client_config(&certs, Some("client")), p),
        Ok(b"+PONG\r\n".to_vec())
    );
    // ... a client without one, or with one from another CA, is not.
    let (_, text) = cli(&certs, p, None, &["ping"]);
    assert!(!text.contains("PONG"), "{text}");
    for client in [None, Some("rogue")] {
        let r = tls_ping(client_config(&certs, client), p);
        assert!(r.is_err(), "{client:?}: {r:?}");
    }
    // tls-auth-clients is live: optional serves clients without a certificate but still
    // refuses a bad one; no serves both.
    let mut plain = crate::support::Raw::connect(server.port);
    assert_eq!(
        plain.call(&["CONFIG", "SET", "tls-auth-clients", "optional"]),
        b"+OK\r\n"
    );
    assert_eq!(
        tls_ping(client_config(&certs, None), p),
        Ok(b"+PONG\r\n".to_vec())
    );
    assert!(tls_ping(client_config(&certs, Some("rogue")), p).is_err());
    assert_eq!(
        plain.call(&["CONFIG", "SET", "tls-auth-clients", "no"]),
        b"+OK\r\n"
    );
    assert_eq!(
        tls_ping(client_config(&certs, Some("rogue")), p),
        Ok(b"+PONG\r\n".to_vec())
    );
    assert_eq!(
        plain.call(&["CONFIG", "SET", "tls-auth-clients", "maybe"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) must be one of the following: no, yes, optional\r\n"
    );
    // The other tls-* parameters are fixed at start, but setting one to its value works.
    assert_eq!(
        plain.call(&["CONFIG", "SET", "tls-port", &p.to_string()]),
        b"+OK\r\n"
    );
    // Data written over TLS is the same data.
    assert_eq!(plain.call(&["GET", "a"]), b"$1\r\n1\r\n");
}

#[test]
fn plaintext_client_on_the_tls_port_gets_no_reply() {
    let certs = Certs::new("plain");
    let server = start_tls(&certs, true, &[]);
    let mut s = TcpStream::connect(("127.0.0.1", server.tls_port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"PING\r\n*1\r\n$4\r\nPING\r\n").expect("send");
    let bytes = read_to_close(&mut s).expect("the server closes the connection");
    // At most a TLS alert record (content type 21), never a RESP reply.
    assert!(
        bytes.is_empty() || bytes[0] == 0x15,
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(!bytes.windows(4).any(|w| w == b"PONG"));
    // The server is fine afterwards.
    assert_eq!(
        tls_ping(client_config(&certs, Some("client")), server.tls_port),
        Ok(b"+PONG\r\n".to_vec())
    );
}

#[test]
fn rustls_client_pipelines_large_values() {
    let certs = Certs::new("pipe");
    let server = start_tls(&certs, false, &[]);
    let mut c = TlsClient::connect(client_config(&certs, Some("client")), server.tls_port);
    let mut rng = crate::support::Rng(0x7d5);
    let mut values = Vec::new();
    for i in 0..48 {
        // 1 byte .. 300 KB values: many TLS records per value, partial writes on both ends.
        let len = if i % 4 == 0 {
            1 + rng.below(64) as usize
        } else {
            1 + rng.below(300_000) as usize
        };
        let value: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        values.push((format!("key:{i}"), value));
    }
    let mut request = Vec::new();
    let mut want = Vec::new();
    for (key, value) in &values {
        request.extend_from_slice(&encode_command(&[b"SET" as &[u8], key.as_bytes(), value]));
        want.extend_from_slice(b"+OK\r\n");
    }
    let mut n = 0;
    for (i, (key, value)) in values.iter().enumerate() {
        request.extend_from_slice(&encode_command(&[b"GET" as &[u8], key.as_bytes()]));
        want.extend_from_slice(format!("${}\r\n", value.len()).as_bytes());
        want.extend_from_slice(value);
        want.extend_from_slice(b"\r\n");
        if i % 8 == 0 {
            // Runs of tiny commands between the big ones.
            for _ in 0..200 {
                n += 1;
                request.extend_from_slice(&encode_command(&["INCR", "n"]));
                want.extend_from_slice(format!(":{n}\r\n").as_bytes());
            }
        }
    }
    let (got, err) = c.exchange(&request, want.len());
    assert_eq!(err, None, "after {} of {} bytes", got.len(), want.len());
    assert_eq!(got.len(), want.len());
    assert!(got == want, "replies differ");
    // A second round on the same session: MGET of everything in one reply.
    let mut mget: Vec<&[u8]> = vec![b"MGET"];
    mget.extend(values.iter().map(|(k, _)| k.as_bytes()));
    let mut want = format!("*{}\r\n", values.len()).into_bytes();
    for (_, v) in &values {
        want.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
        want.extend_from_slice(v);
        want.extend_from_slice(b"\r\n");
    }
    let (got, err) = c.exchange(&encode_command(&mget), want.len());
    assert_eq!(err, None);
    assert!(got == want, "MGET reply differs");
    // A large reply and QUIT's +OK to a client that reads late: the socket buffers fill,
    // rustls holds the last records, and the connection closes only once they are out.
    let big: Vec<u8> = (0..6_000_000u32).map(|i| (i % 251) as u8).collect();
    let (got, err) = c.exchange(&encode_command(&[b"SET" as &[u8], b"big", &big[..]]), 5);
    assert_eq!((got, err), (b"+OK\r\n".to_vec(), None));
    // A new session whose receive window is small, so the server's writes block.
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.tls_port)
        .parse()
        .expect("address");
    socket.connect(&addr.into()).expect("connect");
    let tcp: TcpStream = socket.into();
    tcp.set_nonblocking(true).expect("nonblocking");
    let name = ServerName::try_from("localhost").expect("name");
    let tls = rustls::ClientConnection::new(client_config(&certs, Some("client")), name)
        .expect("client session");
    let mut c = TlsClient { tcp, tls };
    assert_eq!(
        c.exchange(&encode_command(&["PING"]), 7),
        (b"+PONG\r\n".to_vec(), None)
    );
    let mut request = encode_command(&["GET", "big"]);
    request.extend_from_slice(&encode_command(&["QUIT"]));
    while c.tls.wants_write() || !request.is_empty() {
        let n = c.tls.writer().write(&request).expect("buffer the request");
        request.drain(..n);
        match c.tls.write_tls(&mut c.tcp) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("send: {e}"),
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut want = format!("${}\r\n", big.len()).into_bytes();
    want.extend_from_slice(&big);
    want.extend_from_slice(b"\r\n+OK\r\n");
    let (got, err) = c.exchange(&[], usize::MAX);
    assert_eq!(err.as_deref(), Some("close_notify"));
    assert_eq!(got.len(), want.len());
    assert!(got == want, "GET big differs");
}

#[test]
fn protected_mode_over_tls_denies_after_the_handshake() {
    let certs = Certs::new("denied");
    let server = start_tls(&certs, true, &["--tls-auth-clients", "no"]);
    // A TLS session from 127.0.0.2: the handshake completes, then the DENIED text.
    let tcp = connect_from("127.0.0.2", server.tls_port);
    tcp.set_nonblocking(true).expect("nonblocking");
    let name = ServerName::try_from("localhost").expect("name");
    let tls =
        rustls::ClientConnection::new(client_config(&certs, None), name).expect("client session");
    let mut c = TlsClient { tcp, tls };
    let (got, err) = c.exchange(&encode_command(&["PING"]), usize::MAX);
    assert!(
        got.starts_with(
            b"-DENIED Redis is running in protected mode because protected mode is enabled"
        ),
        "{:?} {err:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(got.ends_with(b"from the outside.\r\n"));
    assert_eq!(err.as_deref(), Some("close_notify"));
    // From 127.0.0.1 it is served.
    assert_eq!(
        tls_ping(client_config(&certs, None), server.tls_port),
        Ok(b"+PONG\r\n".to_vec())
    );
}

/// `CONFIG GET tls-*` as sorted (name, value) pairs.
fn tls_params(port: u16) -> Vec<(String, String)> {
    let reply = crate::support::Raw::connect(port).call(&["CONFIG", "GET", "tls-*"]);
    let items = crate::support::bulk_elements(&reply);
    let mut pairs: Vec<(String, String)> = items
        .chunks(2)
        .map(|p| {
            (
                String::from_utf8_lossy(&p[0]).into_owned(),
                String::from_utf8_lossy(p.get(1).map_or(&[][..], |v| &v[..])).into_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn tls_parameters_match_redis_in_both_builds() {
    let redis = start(Kind::Redis, &[]);
    let want = tls_params(redis.port());
    assert_eq!(want.len(), 20, "{want:?}");
    let kv = start(Kind::Kv, &[]);
    assert_eq!(tls_params(kv.port()), want, "default build");
    // The TLS build, TLS off.
    let port = free_port();
    let mut child = Command::new(tls_bin())
        .current_dir(std::env::temp_dir())
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "TLS build did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = tls_params(port);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got, want, "TLS build");
}

#[test]
fn default_build_refuses_a_tls_port_at_start() {
    let port = free_port();
    let out = Command::new(kv_bin())
        .current_dir(std::env::temp_dir())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--tls-port", &free_port().to_string(), "--save", ""])
        .stdin(Stdio::null())
        .output()
        .expect("run kv_server");
    assert!(!out.status.success());
    // The log (standard output, as Redis) and anything on standard error.
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(err.contains("built without TLS"), "{err}");
    assert!(err.contains("--features tls"), "{err}");
    // And a server with no port at all says so, as Redis.
    let out = Command::new(kv_bin())
        .current_dir(std::env::temp_dir())
        .args(["--port", "0", "--save", ""])
        .stdin(Stdio::null())
        .output()
        .expect("run kv_server");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Configured to not listen anywhere"));
}

#[test]
fn bad_tls_files_fail_at_start() {
    let certs = Certs::new("bad");
    let missing = certs.path("missing.crt");
    let out = Command::new(tls_bin())
        .current_dir(std::env::temp_dir())
        .args(["--port", "0", "--tls-port", &free_port().to_string()])
        .args(["--tls-cert-file", &missing])
        .args(["--tls-key-file", &certs.path("server.key")])
        .args(["--tls-ca-cert-file", &certs.path("ca.crt"), "--save", ""])
        .stdin(Stdio::null())
        .output()
        .expect("run kv_server");
    assert!(!out.status.success());
    // The log (standard output, as Redis) and anything on standard error.
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(err.contains("Failed to load certificate"), "{err}");
    // tls-auth-clients yes (the default) without a CA: Redis's message.
    let out = Command::new(tls_bin())
        .current_dir(std::env::temp_dir())
        .args(["--port", "0", "--tls-port", &free_port().to_string()])
        .args(["--tls-cert-file", &certs.path("server.crt")])
        .args(["--tls-key-file", &certs.path("server.key"), "--save", ""])
        .stdin(Stdio::null())
        .output()
        .expect("run kv_server");
    assert!(!out.status.success());
    // The log (standard output, as Redis) and anything on standard error.
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        err.contains("Either tls-ca-cert-file or tls-ca-cert-dir must be specified"),
        "{err}"
    );
}
