//! A minimal no_std program around kv-core: one engine, one worker, one in-memory connection
//! fed RESP from an opaque buffer (`black_box`, so that no command's code can be optimised
//! away), with a bump allocator over a static heap. It is only linked and measured, never
//! run: the text and data it links are what kv-core costs an embedder (the allocator,
//! panic handler and loop here are a few hundred bytes).

#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::hint::black_box;
use kv_core::config::Config;
use kv_core::engine::{Engine, HostFacts};
use kv_core::io::MemSocket;
use kv_core::sync::Arc;
use kv_core::time::{Clock, ManualClock, UnixMillis};
use kv_core::worker::Worker;

/// Heap size of the bump allocator.
const HEAP: usize = 256 * 1024;

/// A bump allocator over a static array; never frees.
struct Bump {
    heap: UnsafeCell<[u8; HEAP]>,
    next: UnsafeCell<usize>,
}

// SAFETY: the program is single-threaded and nothing allocates in interrupts.
unsafe impl Sync for Bump {}

// SAFETY: returned blocks are in bounds of `heap`, aligned as asked, and never handed out
// twice (`next` only grows); null when the heap is spent.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see `Sync` above), so no other reference to `next` exists.
        let next = unsafe { &mut *self.next.get() };
        let start = (*next + l.align() - 1) & !(l.align() - 1);
        match start.checked_add(l.size()) {
            Some(end) if end <= HEAP => {
                *next = end;
                // SAFETY: `start..end` lies within `heap`.
                unsafe { self.heap.get().cast::<u8>().add(start) }
            }
            _ => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOC: Bump = Bump {
    heap: UnsafeCell::new([0; HEAP]),
    next: UnsafeCell::new(0),
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// The entry point: serve one connection forever.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let clock = ManualClock::new(UnixMillis(0));
    let now = clock.snapshot();
    let engine = Arc::new(Engine::new(Config::default(), HostFacts::default(), 1, now));
    let mut worker: Worker<MemSocket, ManualClock> = Worker::new(engine, clock, 0);
    let token = worker.add(MemSocket::default());
    loop {
        if let Some(s) = worker.socket_mut(token) {
            s.input
                .extend(black_box(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n").iter());
        }
        worker.ready(token);
        worker.handle_timeout();
        if let Some(s) = worker.socket_mut(token) {
            black_box(&s.output);
            s.output.clear();
        }
    }
}
