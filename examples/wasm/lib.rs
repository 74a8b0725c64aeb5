//! kv-core as a WebAssembly module (`wasm32-unknown-unknown`) with a C ABI.
//!
//! The host gives time and request bytes; the module answers with reply bytes:
//!
//! - `kv_alloc(len) -> ptr` reserves `len` bytes of module memory for the host to write a
//!   request into (one buffer, reused: valid until the next `kv_alloc`);
//! - `kv_set_time(unix_ms)` sets the wall clock (and moves the monotonic clock by the same
//!   amount, never backwards): keys expire and blocked clients time out as time passes;
//! - `kv_open() -> client` opens a client (a Redis connection without a socket);
//! - `kv_exec(client, ptr, len) -> out_len` runs the RESP or inline requests in
//!   `ptr[..len]` for that client and returns the length of its replies, which stay at
//!   `kv_output()` until the next call; `kv_close(client)` disconnects it.
//!
//! One engine a module instance: 16 databases of 16 shards, a 4 KiB read buffer. Build:
//! `cargo build -p kv-wasm --release --target wasm32-unknown-unknown`
//! (`examples/wasm/smoke.mjs` drives it from Node.js).
#![allow(unsafe_code)] // the C ABI: raw pointers the host passes in (each block says why)

use kv_core::{Arc, Clock, Config, Engine, HostFacts, Instant, Sessions, Sizing, UnixMillis};
use std::cell::{Cell, RefCell};

/// The host's clock: time moves only by [`kv_set_time`].
struct HostClock {
    unix_ms: Cell<i64>,
    mono_ns: Cell<u64>,
}

impl Clock for HostClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.mono_ns.get())
    }
    fn unix_millis(&self) -> UnixMillis {
        UnixMillis(self.unix_ms.get())
    }
}

/// The module's one engine, its clients and the buffers shared with the host.
struct Module {
    clients: Sessions<std::rc::Rc<HostClock>>,
    clock: std::rc::Rc<HostClock>,
    input: Vec<u8>,
    output: Vec<u8>,
}

/// The most bytes one `kv_alloc` reserves (a request larger than this is refused: 0).
pub const MAX_REQUEST: usize = 64 << 20;

thread_local! {
    static MODULE: RefCell<Option<Module>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut Module) -> R) -> R {
    MODULE.with(|m| {
        let mut m = m.borrow_mut();
        let module = m.get_or_insert_with(|| {
            let clock = std::rc::Rc::new(HostClock {
                unix_ms: Cell::new(0),
                mono_ns: Cell::new(0),
            });
            let config = Config {
                workers: 1,
                ..Config::default()
            };
            let sizing = Sizing {
                shards_per_db: 16,
                read_buffer: 4096,
            };
            let engine = Engine::with_sizing(
                config,
                HostFacts::default(),
                0x3a5,
                clock.snapshot(),
                sizing,
            );
            Module {
                clients: Sessions::new(Arc::new(engine), std::rc::Rc::clone(&clock), 0),
                clock,
                input: Vec::new(),
                output: Vec::new(),
            }
        });
        f(module)
    })
}

/// Reserves `len` bytes for a request; returns where to write them (null if too large).
#[no_mangle]
pub extern "C" fn kv_alloc(len: usize) -> *mut u8 {
    if len > MAX_REQUEST {
        return std::ptr::null_mut();
    }
    with(|m| {
        m.input.clear();
        m.input.resize(len, 0);
        m.input.as_mut_ptr()
    })
}

/// Sets the wall-clock time (Unix milliseconds) and runs what became due.
#[no_mangle]
pub extern "C" fn kv_set_time(unix_ms: i64) {
    with(|m| {
        let step = unix_ms.saturating_sub(m.clock.unix_ms.get()).max(0) as u64;
        m.clock.unix_ms.set(unix_ms);
        m.clock.mono_ns.set(
            m.clock
                .mono_ns
                .get()
                .saturating_add(step.saturating_mul(1_000_000)),
        );
        m.clients.tick();
    })
}

/// Opens a client; returns its number.
#[no_mangle]
pub extern "C" fn kv_open() -> u32 {
    with(|m| m.clients.open() as u32)
}

/// Disconnects a client.
#[no_mangle]
pub extern "C" fn kv_close(client: u32) {
    with(|m| m.clients.close(client as usize))
}

/// Runs the first `len` bytes of the request buffer (from [`kv_alloc`]) for `client`;
/// returns the length of the replies now at [`kv_output`].
#[no_mangle]
pub extern "C" fn kv_exec(client: u32, len: usize) -> usize {
    with(|m| {
        let n = len.min(m.input.len());
        let req = std::mem::take(&mut m.input);
        m.output = m.clients.exec(client as usize, req.get(..n).unwrap_or(&[]));
        m.input = req;
        m.output.len()
    })
}

/// Where the replies of the last [`kv_exec`] are (valid until the next call).
#[no_mangle]
pub extern "C" fn kv_output() -> *const u8 {
    with(|m| m.output.as_ptr())
}

/// Runs `request` for `client` in-process (what a host does through memory).
pub fn exec(client: u32, request: &[u8]) -> Vec<u8> {
    let ptr = kv_alloc(request.len());
    if ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: `kv_alloc` just reserved `request.len()` bytes at `ptr` in the module's
    // input buffer, which nothing else touches until `kv_exec`.
    unsafe { std::ptr::copy_nonoverlapping(request.as_ptr(), ptr, request.len()) };
    let n = kv_exec(client, request.len());
    // SAFETY: `kv_output` points at the `n` reply bytes `kv_exec` just stored, valid until
    // the next call into the module.
    unsafe { std::slice::from_raw_parts(kv_output(), n) }.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_replies_and_time() {
        kv_set_time(1_700_000_000_000);
        let c = kv_open();
        assert_eq!(
            exec(c, b"SET k v PX 1000\r\nGET k\r\n"),
            b"+OK\r\n$1\r\nv\r\n"
        );
        kv_set_time(1_700_000_001_001);
        assert_eq!(exec(c, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), b"$-1\r\n");
        kv_close(c);
    }
}
