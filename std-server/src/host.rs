//! Facts about the host for INFO, and the clock: what the core cannot ask an OS for.

use kv_core::HostFacts;
use kv_core::{Clock, Instant, UnixMillis};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{SystemTime, UNIX_EPOCH};

/// The system clock: `Instant` from std's monotonic clock, `UnixMillis` from the wall clock.
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: std::time::Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is `origin` (share one origin between threads).
    pub fn new(origin: std::time::Instant) -> Self {
        SystemClock { origin }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    fn unix_millis(&self) -> UnixMillis {
        UnixMillis(self.unix_micros().div_euclid(1000))
    }

    fn unix_micros(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A random 64-bit number from std's per-process random keys (no extra dependency).
pub fn random_u64(salt: u64) -> u64 {
    RandomState::new().hash_one((salt, std::process::id(), SystemTime::now()))
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// `MemTotal` of `/proc/meminfo` in bytes (Redis's `getPhysicalMemory`), 0 if unknown.
fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kb.checked_mul(1024)
        })
        .unwrap_or(0)
}

/// Gathers the facts INFO reports.
pub fn facts() -> HostFacts {
    let os = match (
        read_trimmed("/proc/sys/kernel/ostype"),
        read_trimmed("/proc/sys/kernel/osrelease"),
    ) {
        (Some(t), Some(r)) => format!("{t} {r} {}", std::env::consts::ARCH),
        _ => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    };
    let run_id = (0..3)
        .map(|i| format!("{:016x}", random_u64(i)))
        .collect::<String>()
        .chars()
        .take(40)
        .collect();
    HostFacts {
        os,
        process_id: std::process::id(),
        arch_bits: usize::BITS,
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        multiplexing_api: if cfg!(any(target_os = "linux", target_os = "android")) {
            "epoll"
        } else {
            "kqueue"
        }
        .to_string(),
        run_id,
        config_file: String::new(),
        total_system_memory: total_system_memory(),
    }
}

/// Page size assumed when turning `/proc/self/statm` pages into bytes.
const PAGE_SIZE: usize = 4096;

/// Resident set size in bytes, from `/proc/self/statm` (0 where there is no procfs).
pub fn rss_bytes() -> usize {
    read_trimmed("/proc/self/statm")
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * PAGE_SIZE)
}

/// Clock ticks per second in `/proc/self/stat` (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
const CLOCK_TICKS: usize = 100;

/// CPU time used by this process, (user, system) in microseconds, from `/proc/self/stat`.
pub fn cpu_micros() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
    let ticks = |i: usize| fields.get(i)?.parse::<usize>().ok();
    let us = 1_000_000 / CLOCK_TICKS;
    Some((ticks(11)? * us, ticks(12)? * us))
}
