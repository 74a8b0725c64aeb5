//! The `tls-*` parameters: Redis 7.0.15's names and defaults, in every build. The engine
//! never uses them (the core sees a `Socket` as always); the frontend reads them to open
//! its TLS port when it is built with TLS (`kv-server`'s `tls` feature), and refuses a
//! non-zero `tls-port` otherwise.

use super::{parse_bool, parse_count, yes_no, SetError};
use alloc::string::String;
use core::fmt::Write;

/// The `tls-*` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// `tls-port`: the TLS listening port (0 = none).
    pub port: u16,
    /// `tls-auth-clients`: whether clients must present a certificate the CA signed
    /// ([`AuthClients::Yes`] by default).
    pub auth_clients: AuthClients,
    /// `tls-session-cache-size` (20480; kept for CONFIG).
    pub session_cache_size: u64,
    /// `tls-session-cache-timeout` in seconds (300; kept for CONFIG).
    pub session_cache_timeout: u64,
    /// `tls-cluster` (no; no cluster bus here).
    pub cluster: bool,
    /// `tls-replication` (no; no replication here).
    pub replication: bool,
    /// `tls-prefer-server-ciphers` (no; rustls always picks by the server's order).
    pub prefer_server_ciphers: bool,
    /// `tls-session-caching` (yes; kept for CONFIG).
    pub session_caching: bool,
    /// The string parameters, in the order of [`STRING_NAMES`] (empty = unset).
    pub strings: [String; STRING_NAMES.len()],
}

/// `tls-auth-clients`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthClients {
    /// Clients need no certificate (a certificate they send is not checked).
    No,
    /// Clients must present a certificate the CA signed.
    Yes,
    /// A certificate is not required, but one that is presented must be valid.
    Optional,
}

impl AuthClients {
    /// The value as CONFIG GET shows it.
    pub fn name(self) -> &'static str {
        match self {
            AuthClients::No => "no",
            AuthClients::Yes => "yes",
            AuthClients::Optional => "optional",
        }
    }
}

/// The string parameters, each stored in [`TlsConfig::strings`] at its index here.
pub const STRING_NAMES: [&str; 12] = [
    "tls-cert-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-dh-params-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
];

/// Every `tls-*` parameter, as `CONFIG GET *` lists them.
pub const NAMES: &[&str] = &[
    "tls-port",
    "tls-auth-clients",
    "tls-session-cache-size",
    "tls-session-cache-timeout",
    "tls-cluster",
    "tls-replication",
    "tls-prefer-server-ciphers",
    "tls-session-caching",
    "tls-cert-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-dh-params-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
];

/// The parameters CONFIG SET may change while the server runs (each new TLS client reads
/// it); the others only at start, as [`super::Config::IMMUTABLE`] ones.
pub const LIVE: &[&str] = &["tls-auth-clients"];

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            port: 0,
            auth_clients: AuthClients::Yes,
            session_cache_size: 20 * 1024,
            session_cache_timeout: 300,
            cluster: false,
            replication: false,
            prefer_server_ciphers: false,
            session_caching: true,
            strings: Default::default(),
        }
    }
}

impl TlsConfig {
    /// The value of string parameter `name` (one of [`STRING_NAMES`]); empty when unset or
    /// unknown.
    pub fn string(&self, name: &str) -> &str {
        STRING_NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.strings.get(i))
            .map_or("", String::as_str)
    }

    /// Sets `name` (lowercase) from its text; `None` when it is not a `tls-*` parameter.
    pub fn set(&mut self, name: &str, value: &str) -> Option<Result<(), SetError>> {
        let int = |v: &str| parse_count(v, 0, i32::MAX as u64).map_err(SetError::Invalid);
        let r = match name {
            "tls-port" => parse_count(value, 0, 65535)
                .map(|p| self.port = p as u16)
                .map_err(SetError::Invalid),
            "tls-auth-clients" => match value.to_ascii_lowercase().as_str() {
                "no" => Ok(AuthClients::No),
                "yes" => Ok(AuthClients::Yes),
                "optional" => Ok(AuthClients::Optional),
                _ => Err(SetError::Invalid(String::from(
                    "argument(s) must be one of the following: no, yes, optional",
                ))),
            }
            .map(|a| self.auth_clients = a),
            "tls-session-cache-size" => int(value).map(|n| self.session_cache_size = n),
            "tls-session-cache-timeout" => int(value).map(|n| self.session_cache_timeout = n),
            "tls-cluster" => parse_bool(value).map(|b| self.cluster = b),
            "tls-replication" => parse_bool(value).map(|b| self.replication = b),
            "tls-prefer-server-ciphers" => {
                parse_bool(value).map(|b| self.prefer_server_ciphers = b)
            }
            "tls-session-caching" => parse_bool(value).map(|b| self.session_caching = b),
            _ => {
                let i = STRING_NAMES.iter().position(|n| *n == name)?;
                let slot = self.strings.get_mut(i)?;
                *slot = String::from(value);
                Ok(())
            }
        };
        Some(r)
    }

    /// The text value of `name` (lowercase); `None` when it is not a `tls-*` parameter.
    pub fn get(&self, name: &str) -> Option<String> {
        let mut s = String::new();
        match name {
            "tls-port" => {
                let _ = write!(s, "{}", self.port);
            }
            "tls-auth-clients" => s.push_str(self.auth_clients.name()),
            "tls-session-cache-size" => {
                let _ = write!(s, "{}", self.session_cache_size);
            }
            "tls-session-cache-timeout" => {
                let _ = write!(s, "{}", self.session_cache_timeout);
            }
            "tls-cluster" => s.push_str(yes_no(self.cluster)),
            "tls-replication" => s.push_str(yes_no(self.replication)),
            "tls-prefer-server-ciphers" => s.push_str(yes_no(self.prefer_server_ciphers)),
            "tls-session-caching" => s.push_str(yes_no(self.session_caching)),
            _ if NAMES.contains(&name) => s.push_str(self.string(name)),
            _ => return None,
        }
        Some(s)
    }
}
