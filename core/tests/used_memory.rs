//! `used_memory` (INFO, and what eviction decides on) against what the allocator really
//! holds: a counting global allocator measures the bytes the keyspace allocates for loads of
//! every type, and the engine's figure must be within 5% of it. (The allocator's bytes are
//! the sizes asked for; the C allocator's own headers and rounding are not counted, as
//! Redis's `used_memory` counts them with `malloc_usable_size`.)
use kv_core::{Arc, Clock, Config, Engine, HostFacts, ManualClock, Sessions, Sizing, UnixMillis};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is
// updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            LIVE.fetch_add(l.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: as above.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
            LIVE.fetch_add(new, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Loads `n` requests made by `make` and returns (allocator bytes, used_memory bytes)
/// added by them, on a fresh engine.
fn measure(n: usize, make: impl Fn(usize) -> String) -> (usize, usize) {
    let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
    let engine = Arc::new(Engine::new(
        Config::default(),
        HostFacts::default(),
        1,
        clock.snapshot(),
    ));
    let mut s = Sessions::new(Arc::clone(&engine), &clock, 0);
    let c = s.open();
    assert_eq!(s.exec(c, b"PING\r\n"), b"+PONG\r\n");
    let used0 = engine.used_memory();
    let live0 = LIVE.load(Ordering::Relaxed);
    let mut batch = String::new();
    for i in 0..n {
        batch.push_str(&make(i));
        batch.push_str("\r\n");
        if batch.len() > 32 * 1024 || i + 1 == n {
            let out = s.exec(c, batch.as_bytes());
            assert!(!out.starts_with(b"-"), "{}", String::from_utf8_lossy(&out));
            batch.clear();
        }
    }
    let _ = s.take_output(c);
    let live = LIVE.load(Ordering::Relaxed) - live0;
    let used = engine.used_memory() - used0;
    drop(s);
    drop(engine);
    (live, used)
}

fn check(name: &str, n: usize, make: impl Fn(usize) -> String) {
    let (live, used) = measure(n, make);
    let ratio = used as f64 / live as f64;
    println!("{name}: allocator {live} bytes, used_memory {used} bytes, ratio {ratio:.3}");
    assert!(
        (0.95..=1.05).contains(&ratio),
        "{name}: used_memory {used} vs allocator {live} (ratio {ratio:.3})"
    );
}

/// One test (the counter is global: tests running side by side would count each other).
#[test]
fn used_memory_is_within_five_percent_of_the_allocators_bytes() {
    check("16-byte values", 100_000, |i| {
        format!("SET key:{i:012} {:016}", i)
    });
    check("100-byte values", 50_000, |i| {
        format!("SET key:{i:012} {:0100}", i)
    });
    check("integers", 100_000, |i| format!("SET key:{i:012} {i}"));
    // Keys and values past the inline limit (22 bytes), and strings APPEND made growable.
    check("long keys and values", 50_000, |i| {
        format!("SET long-key-name:{i:012} {:030}", i)
    });
    check("appended strings", 100_000, |i| {
        format!("APPEND a:{} {:020}", i % 25_000, i)
    });
    check("with TTL", 100_000, |i| {
        format!("SET key:{i:012} {:016} EX 1000", i)
    });
    // What an empty engine takes: the default sizes and the small ones.
    let empty = |config: Config, sizing: Sizing| {
        let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
        let live0 = LIVE.load(Ordering::Relaxed);
        let e = Engine::with_sizing(config, HostFacts::default(), 1, clock.snapshot(), sizing);
        let bytes = LIVE.load(Ordering::Relaxed) - live0;
        drop(e);
        bytes
    };
    let default = empty(Config::default(), Sizing::default());
    let small = empty(
        Config {
            databases: 1,
            workers: 1,
            ..Config::default()
        },
        Sizing::small(),
    );
    println!(
        "empty engine: {default} bytes by default, {small} bytes small (1 database, 4 shards)"
    );
    assert!(
        small * 4 < default,
        "Sizing::small saves little: {small} vs {default}"
    );
    check("small hashes", 20_000, |i| {
        format!("HSET h:{i} a 1 b 2 c 3")
    });
    check("large hash", 100_000, |i| format!("HSET big f:{i} {i:020}"));
    check("small sets", 20_000, |i| format!("SADD s:{i} 1 2 3 4"));
    check("large set", 100_000, |i| format!("SADD big m:{i:016}"));
    check("small zsets", 20_000, |i| format!("ZADD z:{i} 1 a 2 b"));
    check("large zset", 100_000, |i| format!("ZADD big {i} m:{i:016}"));
    check("lists", 100_000, |i| format!("RPUSH l:{} {i:020}", i % 100));
}
