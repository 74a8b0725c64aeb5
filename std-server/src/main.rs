//! `kv_server`: mini-kv's std frontend. It plugs the `kv-core` engine into mio sockets: one
//! acceptor thread hands connections round-robin to N worker threads, each of which owns
//! its connections and its own `mio::Poll`. Options follow `redis-server`'s style.
//! No command semantics live here.
#![deny(unsafe_code)] // allowed in `malloc` only (two glibc calls)
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod acl;
mod aof;
mod cli;
mod host;
mod logger;
mod malloc;
mod net;
mod persist;
#[cfg(feature = "tls")]
mod tls;

use std::process::ExitCode;

fn main() -> ExitCode {
    malloc::init();
    let config = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Action::Run(config)) => config,
        Ok(cli::Action::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(cli::Action::Version) => {
            println!("{}", cli::version());
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("kv_server: {msg}");
            eprintln!("Try 'kv_server --help' for the options.");
            return ExitCode::FAILURE;
        }
    };
    logger::init(&config.loglevel);
    // Redis parameters mini-kv accepts but has no use for (`config::inert`, but for the
    // latency ones, which INFO and LATENCY read): a value other than the default is said once, so that `daemonize yes` or a `logfile` does not go
    // unnoticed.
    for (p, v) in kv_core::config::inert::PARAMS.iter().zip(&config.inert) {
        if v != p.default && !p.name.starts_with("latency-") {
            log::warn!(
                "'{} {v}' has no effect in mini-kv (accepted for Redis compatibility)",
                p.name
            );
        }
    }
    match net::run(*config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
