//! TLS (cargo feature `tls`): the `tls-*` settings turned into rustls server configurations
//! (ring provider), and [`TlsSocket`], a TLS session over a mio TCP stream that the engine
//! sees as an ordinary [`Socket`]. Only this file names rustls.
//!
//! Readiness: the stream is registered edge-triggered for both directions, and every
//! readiness event makes the worker write (then [`Socket::flush`]) and read, so records
//! rustls still holds go out on the next writable event and handshake messages are
//! answered as they arrive. Buffers are bounded: rustls keeps at most
//! [`TLS_BUFFER_LIMIT`] bytes of unsent data and refuses to buffer received plaintext past
//! its own limit, and [`TlsSocket::write`] takes nothing while earlier records are unsent.

use kv_core::config::tls::{AuthClients, TlsConfig};
use kv_core::{IoError, Socket};
use log::warn;
use mio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};
use std::io::{self, ErrorKind, Read, Write};
use std::sync::Arc;

/// Most bytes of TLS output (plaintext waiting for the handshake plus encrypted records)
/// one session keeps before [`TlsSocket::write`] reports `WouldBlock`.
pub const TLS_BUFFER_LIMIT: usize = 64 * 1024;

/// Most received bytes one [`TlsSocket::read`] feeds rustls without getting any
/// plaintext out of them. The handshake and a record's overhead are far below it; a peer
/// that sends more than this of records carrying no data (empty records, endless
/// handshake noise) is closed rather than allowed to keep a worker busy.
const MAX_BYTES_WITHOUT_DATA: usize = 256 * 1024;

/// The server configurations for each `tls-auth-clients` value that the settings allow
/// (`yes` and `optional` need a CA).
pub struct Acceptor {
    no: Arc<ServerConfig>,
    yes: Option<Arc<ServerConfig>>,
    optional: Option<Arc<ServerConfig>>,
}

/// What went wrong setting TLS up, as one line for the log.
fn fail(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, format!("{what}"))
}

/// The protocol versions `tls-protocols` names (empty: TLSv1.2 and TLSv1.3, as Redis).
fn protocols(text: &str) -> io::Result<Vec<&'static rustls::SupportedProtocolVersion>> {
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if text.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS12, &rustls::version::TLS13]);
    }
    for word in text.split_ascii_whitespace() {
        let v: &'static rustls::SupportedProtocolVersion = match word.to_ascii_lowercase().as_str()
        {
            "tlsv1.2" => &rustls::version::TLS12,
            "tlsv1.3" => &rustls::version::TLS13,
            "tlsv1" | "tlsv1.1" => {
                return Err(fail(format!(
                    "{word} is specified in tls-protocols but not supported by this build \
                     (rustls supports TLSv1.2 and TLSv1.3)"
                )))
            }
            _ => {
                return Err(fail(
                    "Invalid tls-protocols specified. Use a combination of 'TLSv1', \
                     'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.",
                ))
            }
        };
        if !versions.iter().any(|x| x.version == v.version) {
            versions.push(v);
        }
    }
    Ok(versions)
}

/// The CA certificates of `tls-ca-cert-file` and every PEM file in `tls-ca-cert-dir`.
fn roots(tls: &TlsConfig) -> io::Result<Option<RootCertStore>> {
    let file = tls.string("tls-ca-cert-file");
    let dir = tls.string("tls-ca-cert-dir");
    if file.is_empty() && dir.is_empty() {
        return Ok(None);
    }
    let mut paths = Vec::new();
    if !file.is_empty() {
        paths.push(std::path::PathBuf::from(file));
    }
    if !dir.is_empty() {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            fail(format!(
                "Failed to configure CA certificate(s) file/directory: {dir}: {e}"
            ))
        })?;
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                paths.push(entry.path());
            }
        }
    }
    let mut store = RootCertStore::empty();
    for path in &paths {
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
            fail(format!(
                "Failed to configure CA certificate(s) file/directory: {}: {e}",
                path.display()
            ))
        })?;
        for cert in certs.flatten() {
            store.add(cert).map_err(|e| {
                fail(format!(
                    "Failed to configure CA certificate(s) file/directory: {}: {e}",
                    path.display()
                ))
            })?;
        }
    }
    if store.is_empty() {
        return Err(fail(
            "Failed to configure CA certificate(s) file/directory: no certificate found",
        ));
    }
    Ok(Some(store))
}

impl Acceptor {
    /// Loads the certificate, key and CA the settings name; the error is Redis's log line
    /// where it has one.
    pub fn new(tls: &TlsConfig) -> io::Result<Acceptor> {
        let cert_file = tls.string("tls-cert-file");
        let key_file = tls.string("tls-key-file");
        if cert_file.is_empty() {
            return Err(fail("No tls-cert-file configured!"));
        }
        if key_file.is_empty() {
            return Err(fail("No tls-key-file configured!"));
        }
        for name in [
            "tls-key-file-pass",
            "tls-ciphers",
            "tls-ciphersuites",
            "tls-dh-params-file",
        ] {
            if !tls.string(name).is_empty() {
                warn!("{name} is ignored by this build (rustls chooses its own suites and needs unencrypted keys)");
            }
        }
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| fail(format!("Failed to load certificate: {cert_file}: {e}")))?;
        if certs.is_empty() {
            return Err(fail(format!(
                "Failed to load certificate: {cert_file}: no certificate found"
            )));
        }
        let key = PrivateKeyDer::from_pem_file(key_file)
            .map_err(|e| fail(format!("Failed to load private key: {key_file}: {e}")))?;
        let roots = roots(tls)?;
        if roots.is_none() && tls.auth_clients != AuthClients::No {
            return Err(fail(
                "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when \
                 tls-cluster, tls-replication or tls-auth-clients are enabled!",
            ));
        }
        let versions = protocols(tls.string("tls-protocols"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = || {
            ServerConfig::builder_with_provider(Arc::clone(&provider))
                .with_protocol_versions(&versions)
                .map_err(fail)
        };
        let no = builder()?
            .with_no_client_auth()
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| fail(format!("Failed to load private key: {key_file}: {e}")))?;
        let with_roots = |optional: bool| -> io::Result<Option<Arc<ServerConfig>>> {
            let Some(roots) = roots.clone() else {
                return Ok(None);
            };
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            }
            .build()
            .map_err(fail)?;
            let config = builder()?
                .with_client_cert_verifier(verifier)
                .with_single_cert(certs.clone(), key.clone_key())
                .map_err(|e| fail(format!("Failed to load private key: {key_file}: {e}")))?;
            Ok(Some(Arc::new(config)))
        };
        Ok(Acceptor {
            no: Arc::new(no),
            yes: with_roots(false)?,
            optional: with_roots(true)?,
        })
    }

    /// A server session for a client just accepted, under `tls-auth-clients` as it is now
    /// (CONFIG SET changes it for the next clients); `None` when that value needs a CA
    /// that was not configured at start.
    pub fn session(&self, auth: AuthClients) -> Option<ServerConnection> {
        let config = match auth {
            AuthClients::No => Some(&self.no),
            AuthClients::Yes => self.yes.as_ref(),
            AuthClients::Optional => self.optional.as_ref(),
        }?;
        let mut conn = ServerConnection::new(Arc::clone(config)).ok()?;
        conn.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
        Some(conn)
    }
}

/// A TLS session over a non-blocking TCP stream.
pub struct TlsSocket {
    tcp: TcpStream,
    tls: ServerConnection,
    /// Set for a client protected mode turns away: once the handshake is done it gets
    /// this text and a close_notify, and its reads report the end of the stream.
    deny: Option<&'static [u8]>,
    /// The session is over (peer's close_notify, end of stream, a TLS error, or a
    /// denied client's goodbye queued).
    done: bool,
}

impl TlsSocket {
    /// Wraps an accepted stream; `deny` is the text a client turned away gets.
    pub fn new(tcp: TcpStream, tls: ServerConnection, deny: Option<&'static [u8]>) -> Self {
        TlsSocket {
            tcp,
            tls,
            deny,
            done: false,
        }
    }

    /// The TCP stream, to register it and read its addresses.
    pub fn tcp(&mut self) -> &mut TcpStream {
        &mut self.tcp
    }

    /// Writes the records rustls holds until none is left (`Ok`) or the stream is full
    /// (`WouldBlock`).
    fn push(&mut self) -> Result<(), IoError> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(0) => return Err(IoError::Closed),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Err(IoError::WouldBlock),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(IoError::Closed),
            }
        }
        Ok(())
    }

    /// A fatal session error: rustls has queued an alert; send it if the stream takes it.
    fn fatal(&mut self) -> IoError {
        self.done = true;
        let _ = self.push();
        IoError::Closed
    }
}

impl Socket for TlsSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut fed = 0usize;
        loop {
            if self.done {
                return Err(IoError::Closed);
            }
            match self.tls.reader().read(buf) {
                Ok(0) => {
                    // The peer's close_notify: answer it.
                    self.done = true;
                    self.tls.send_close_notify();
                    let _ = self.push();
                    return Err(IoError::Closed);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return Err(self.fatal()),
            }
            // Handshake replies and session tickets go out before more is read.
            match self.push() {
                Ok(()) | Err(IoError::WouldBlock) => {}
                Err(IoError::Closed) => return Err(self.fatal()),
            }
            if !self.tls.wants_read() {
                return Err(IoError::WouldBlock);
            }
            if fed > MAX_BYTES_WITHOUT_DATA {
                return Err(self.fatal());
            }
            match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => {
                    self.done = true;
                    return Err(IoError::Closed);
                }
                Ok(n) => fed += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Err(IoError::WouldBlock),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Err(self.fatal()),
            }
            if let Err(e) = self.tls.process_new_packets() {
                if self.tls.is_handshaking() {
                    // Redis logs a failed accept the same way.
                    warn!("Error accepting a client connection: {e}");
                }
                return Err(self.fatal());
            }
            if !self.tls.is_handshaking() {
                if let Some(text) = self.deny.take() {
                    // Protected mode: the text, then the goodbye, then the end.
                    let _ = self.tls.writer().write_all(text);
                    self.tls.send_close_notify();
                    self.done = true;
                    let _ = self.push();
                    return Err(IoError::Closed);
                }
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.push()?;
        if self.tls.is_handshaking() || self.done {
            return Err(if self.done {
                IoError::Closed
            } else {
                IoError::WouldBlock
            });
        }
        match self.tls.writer().write(buf) {
            Ok(0) => Err(IoError::WouldBlock),
            Ok(n) => {
                match self.push() {
                    Ok(()) | Err(IoError::WouldBlock) => {}
                    Err(IoError::Closed) => return Err(IoError::Closed),
                }
                Ok(n)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Err(IoError::WouldBlock),
            Err(_) => Err(IoError::Closed),
        }
    }

    fn flush(&mut self) -> Result<(), IoError> {
        self.push()
    }
}

impl Drop for TlsSocket {
    /// Says goodbye (close_notify) if the stream takes it now; a closing connection never
    /// waits for a peer.
    fn drop(&mut self) {
        if !self.done {
            self.tls.send_close_notify();
        }
        let _ = self.push();
        let _ = self.tcp.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::ServerName;
    use std::time::Duration;

    /// A CA and a server certificate for `localhost` in a scratch folder; the acceptor
    /// (no client certificates) and a client configuration trusting the CA.
    fn setup(name: &str) -> (Acceptor, Arc<rustls::ClientConfig>) {
        let dir = std::env::temp_dir().join(format!("kv-tls-unit-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
        std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
        let mut tls = TlsConfig {
            auth_clients: AuthClients::No,
            ..TlsConfig::default()
        };
        let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
        assert!(tls
            .set("tls-cert-file", &path("server.crt"))
            .unwrap()
            .is_ok());
        assert!(tls
            .set("tls-key-file", &path("server.key"))
            .unwrap()
            .is_ok());
        let acceptor = Acceptor::new(&tls).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca_cert.der().clone()).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        (acceptor, Arc::new(client))
    }

    /// A connected pair: the server's end as a `TlsSocket` with a small send buffer, the
    /// client's a non-blocking std stream with a small receive buffer.
    fn pair(acceptor: &Acceptor) -> (TlsSocket, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        client.set_recv_buffer_size(4096).unwrap();
        client
            .connect(&listener.local_addr().unwrap().into())
            .unwrap();
        let client: std::net::TcpStream = client.into();
        client.set_nonblocking(true).unwrap();
        let (server, _) = listener.accept().unwrap();
        socket2::SockRef::from(&server)
            .set_send_buffer_size(4096)
            .unwrap();
        server.set_nonblocking(true).unwrap();
        let session = acceptor.session(AuthClients::No).unwrap();
        (
            TlsSocket::new(TcpStream::from_std(server), session, None),
            client,
        )
    }

    /// One round of the client's I/O: send what it has, take what arrived.
    fn client_io(c: &mut rustls::ClientConnection, tcp: &mut std::net::TcpStream) {
        while c.wants_write() {
            match c.write_tls(tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("client write: {e}"),
            }
        }
        match c.read_tls(tcp) {
            Ok(_) => {
                c.process_new_packets().unwrap();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("client read: {e}"),
        }
    }

    #[test]
    fn write_holds_records_until_flush_gets_them_out() {
        let (acceptor, config) = setup("flush");
        let (mut server, mut tcp) = pair(&acceptor);
        let name = ServerName::try_from("localhost").unwrap();
        let mut client = rustls::ClientConnection::new(config, name).unwrap();
        // Nothing is taken before the handshake is done.
        assert_eq!(server.write(b"+PONG\r\n"), Err(IoError::WouldBlock));
        let mut buf = [0u8; 1024];
        for _ in 0..2000 {
            client_io(&mut client, &mut tcp);
            assert_eq!(server.read(&mut buf), Err(IoError::WouldBlock));
            if !client.is_handshaking() && !server.tls.is_handshaking() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!server.tls.is_handshaking(), "handshake");
        // Write until the socket is full: some records stay in rustls, and flush says so.
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut taken = 0;
        loop {
            match server.write(&data[taken..]) {
                Ok(n) => taken += n,
                Err(IoError::WouldBlock) => break,
                Err(IoError::Closed) => panic!("closed"),
            }
        }
        assert!(taken > 0 && taken < data.len(), "{taken}");
        assert!(server.tls.wants_write(), "records held");
        assert_eq!(server.flush(), Err(IoError::WouldBlock));
        // The client reads; flush pushes the rest; every taken byte arrives.
        let mut got = Vec::new();
        let mut rounds = 0;
        while got.len() < taken {
            rounds += 1;
            assert!(rounds < 100_000, "stalled at {} of {taken}", got.len());
            client_io(&mut client, &mut tcp);
            let mut chunk = [0u8; 16384];
            while let Ok(n) = client.reader().read(&mut chunk) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..n]);
            }
            let _ = server.flush();
        }
        assert_eq!(server.flush(), Ok(()));
        assert!(got == data[..taken], "bytes differ");
        // Dropping the socket says goodbye: the client sees close_notify.
        drop(server);
        let mut end = None;
        for _ in 0..2000 {
            client_io(&mut client, &mut tcp);
            match client.reader().read(&mut buf) {
                Ok(0) => {
                    end = Some(());
                    break;
                }
                Ok(_) => panic!("no more data expected"),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        assert!(end.is_some(), "close_notify");
    }

    #[test]
    fn protocols_and_missing_files() {
        assert_eq!(protocols("").unwrap().len(), 2);
        assert_eq!(protocols("TLSv1.3").unwrap().len(), 1);
        assert_eq!(protocols("tlsv1.2 TLSv1.2").unwrap().len(), 1);
        assert!(protocols("TLSv1.1").is_err());
        assert!(protocols("SSLv3").is_err());
        let tls = TlsConfig::default();
        let e = Acceptor::new(&tls).err().unwrap().to_string();
        assert_eq!(e, "No tls-cert-file configured!");
    }
}
