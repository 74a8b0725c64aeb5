//! Redis 7.0.15's parameters for what mini-kv does not have (replication, cluster, defrag,
//! Lua, lazy freeing, daemonizing, syslog, ...): CONFIG GET
//! answers them with Redis's defaults and CONFIG SET and the config file accept exactly the
//! values Redis accepts, with its error texts, so that tools, client libraries and test
//! suites that set them (Redis's own apply their overrides with CONFIG SET) keep working.
//! None of them changes what the server does (README lists them as such), except
//! `latency-tracking` and `latency-tracking-info-percentiles`, which INFO latencystats reads,
//! and `latency-monitor-threshold`, the LATENCY monitor's (`Config::inert_value`). `activedefrag yes` is refused as a Redis built without jemalloc
//! refuses it.

use super::{parse_memory, SetError};
use alloc::string::String;
use alloc::vec::Vec;

/// What values a parameter takes (Redis's config types).
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `yes` or `no`.
    Bool,
    /// An integer in `min..=max`.
    Int(i64, i64),
    /// A memory amount (`100mb`) in `min..=max` bytes.
    Mem(i64, i64),
    /// A memory amount or a percent (`10%`, kept as -10), in `min..=max`.
    MemPct(i64, i64),
    /// An octal number in `min..=max`.
    Octal(i64, i64),
    /// One of these names (several, space-separated, for the `shutdown-on-sig*` flags).
    Enum(&'static [&'static str]),
    /// Any text.
    Str,
}

/// One parameter: its name, values, default (as CONFIG GET prints it), whether only the
/// command line and config file may set it, and the other name of the same setting.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// The name.
    pub name: &'static str,
    /// The values it takes.
    pub kind: Kind,
    /// Redis's default, as CONFIG GET prints it.
    pub default: &'static str,
    /// Settable only at startup.
    pub immutable: bool,
    /// The other name of the same setting (`slave-*` / `replica-*`), if any.
    pub alias: Option<&'static str>,
}

/// The position of parameter `name` (lowercase) in [`PARAMS`].
pub fn index(name: &str) -> Option<usize> {
    PARAMS.iter().position(|p| p.name == name)
}

/// The defaults, one a parameter of [`PARAMS`].
pub fn defaults() -> Vec<String> {
    PARAMS.iter().map(|p| String::from(p.default)).collect()
}

/// Checks `value` for parameter `p` and returns it as CONFIG GET will print it.
pub fn normalize(p: &Param, value: &str) -> Result<String, SetError> {
    let invalid = |m: &str| SetError::Invalid(String::from(m));
    let bounded = |n: i64, min: i64, max: i64| {
        if n < min || n > max {
            Err(SetError::Invalid(alloc::format!(
                "argument must be between {min} and {max} inclusive"
            )))
        } else {
            Ok(n)
        }
    };
    match p.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" if p.name == "activedefrag" => Err(invalid(
                "Active defragmentation cannot be enabled: it requires a Redis server compiled \
                 with a modified Jemalloc like the one shipped by default with the Redis source \
                 distribution",
            )),
            v @ ("yes" | "no") => Ok(String::from(v)),
            _ => Err(invalid("argument must be 'yes' or 'no'")),
        },
        Kind::Int(min, max) => {
            let n: i64 = value
                .parse()
                .map_err(|_| invalid("argument couldn't be parsed into an integer"))?;
            Ok(alloc::format!("{}", bounded(n, min, max)?))
        }
        Kind::Mem(min, max) => {
            let n = parse_memory(value)
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| invalid("argument must be a memory value"))?;
            Ok(alloc::format!("{}", bounded(n, min, max)?))
        }
        Kind::MemPct(min, max) => {
            let pct = value
                .strip_suffix('%')
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|n| *n >= 0);
            let n = match pct {
                Some(n) if n > 100 => {
                    return Err(invalid("percentage argument must be less or equal to 100"))
                }
                Some(n) => -n,
                None => parse_memory(value)
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(|| invalid("argument must be a memory or percent value"))?,
            };
            let n = bounded(n, min, max)?;
            Ok(if n < 0 {
                alloc::format!("{}%", -n)
            } else {
                alloc::format!("{n}")
            })
        }
        Kind::Octal(min, max) => {
            let n = i64::from_str_radix(value, 8)
                .map_err(|_| invalid("argument couldn't be parsed as an octal number"))?;
            Ok(alloc::format!("{:o}", bounded(n, min, max)?))
        }
        Kind::Enum(names) => {
            let lower = value.to_ascii_lowercase();
            let words: Vec<&str> = lower.split_ascii_whitespace().collect();
            let several = p.name.starts_with("shutdown-on-sig");
            let ok = !words.is_empty()
                && (words.len() == 1 || several)
                && words.iter().all(|w| names.contains(w));
            if !ok {
                return Err(SetError::Invalid(alloc::format!(
                    "argument(s) must be one of the following: {}",
                    names.join(", ")
                )));
            }
            Ok(words.join(" "))
        }
        Kind::Str => match p.name {
            "oom-score-adj-values" => oom_score_adj_values(value),
            "latency-tracking-info-percentiles" => percentiles(value),
            _ => Ok(String::from(value)),
        },
    }
}

/// `oom-score-adj-values`: three integers in -2000..=2000 (Redis's texts).
fn oom_score_adj_values(value: &str) -> Result<String, SetError> {
    let words: Vec<&str> = value.split_ascii_whitespace().collect();
    if words.len() != 3 {
        return Err(SetError::Invalid(String::from("wrong number of arguments")));
    }
    let mut out = Vec::new();
    for w in words {
        match w.parse::<i64>() {
            Ok(n) if (-2000..=2000).contains(&n) => out.push(alloc::format!("{n}")),
            _ => {
                return Err(SetError::Invalid(String::from(
                    "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
                )))
            }
        }
    }
    Ok(out.join(" "))
}

/// `latency-tracking-info-percentiles`: numbers in 0.0..=100.0, printed as Redis prints
/// them (`%f` without trailing zeros).
fn percentiles(value: &str) -> Result<String, SetError> {
    let mut out = Vec::new();
    for w in value.split_ascii_whitespace() {
        let p: f64 = w
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite())
            .ok_or_else(|| {
                SetError::Invalid(String::from(
                    "Invalid latency-tracking-info-percentiles parameters",
                ))
            })?;
        if !(0.0..=100.0).contains(&p) {
            return Err(SetError::Invalid(String::from(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
            )));
        }
        let text = alloc::format!("{p:.6}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        out.push(String::from(text));
    }
    Ok(out.join(" "))
}

/// C's `INT_MAX`, a bound of many of Redis's integer parameters.
const INT_MAX: i64 = i32::MAX as i64;
/// C's `UINT_MAX`.
const UINT_MAX: i64 = u32::MAX as i64;

/// Every such parameter, in the order CONFIG GET * lists them after mini-kv's own.
pub const PARAMS: &[Param] = &[
    Param {
        name: "active-defrag-cycle-max",
        kind: Kind::Int(1, 99),
        default: "25",
        immutable: false,
        alias: None,
    },
    Param {
        name: "active-defrag-cycle-min",
        kind: Kind::Int(1, 99),
        default: "1",
        immutable: false,
        alias: None,
    },
    Param {
        name: "active-defrag-ignore-bytes",
        kind: Kind::Mem(1, i64::MAX),
        default: "104857600",
        immutable: false,
        alias: None,
    },
    Param {
        name: "active-defrag-max-scan-fields",
        kind: Kind::Int(1, i64::MAX),
        default: "1000",
        immutable: false,
        alias: None,
    },
    Param {
        name: "active-defrag-threshold-lower",
        kind: Kind::Int(0, 1000),
        default: "10",
        immutable: false,
        alias: None,
    },
    Param {
        name: "active-defrag-threshold-upper",
        kind: Kind::Int(0, 1000),
        default: "100",
        immutable: false,
        alias: None,
    },
    Param {
        name: "active-expire-effort",
        kind: Kind::Int(1, 10),
        default: "1",
        immutable: false,
        alias: None,
    },
    Param {
        name: "activedefrag",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "activerehashing",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "always-show-logo",
        kind: Kind::Bool,
        default: "no",
        immutable: true,
        alias: None,
    },
    Param {
        name: "aof-disable-auto-gc",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "aof_rewrite_cpulist",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: None,
    },
    Param {
        name: "bgsave_cpulist",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: None,
    },
    Param {
        name: "bind-source-addr",
        kind: Kind::Str,
        default: "",
        immutable: false,
        alias: None,
    },
    Param {
        name: "bio_cpulist",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: None,
    },
    Param {
        name: "busy-reply-threshold",
        kind: Kind::Int(0, i64::MAX),
        default: "5000",
        immutable: false,
        alias: Some("lua-time-limit"),
    },
    Param {
        name: "cluster-allow-pubsubshard-when-down",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-allow-reads-when-down",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-allow-replica-migration",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-announce-bus-port",
        kind: Kind::Int(0, 65535),
        default: "0",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-announce-hostname",
        kind: Kind::Str,
        default: "",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-announce-ip",
        kind: Kind::Str,
        default: "",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-announce-port",
        kind: Kind::Int(0, 65535),
        default: "0",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-announce-tls-port",
        kind: Kind::Int(0, 65535),
        default: "0",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-config-file",
        kind: Kind::Str,
        default: "nodes.conf",
        immutable: true,
        alias: None,
    },
    Param {
        name: "cluster-enabled",
        kind: Kind::Bool,
        default: "no",
        immutable: true,
        alias: None,
    },
    Param {
        name: "cluster-link-sendbuf-limit",
        kind: Kind::Mem(0, i64::MAX),
        default: "0",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-migration-barrier",
        kind: Kind::Int(0, INT_MAX),
        default: "1",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-node-timeout",
        kind: Kind::Int(0, i64::MAX),
        default: "15000",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-port",
        kind: Kind::Int(0, 65535),
        default: "0",
        immutable: true,
        alias: None,
    },
    Param {
        name: "cluster-preferred-endpoint-type",
        kind: Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        default: "ip",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-replica-no-failover",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: Some("cluster-slave-no-failover"),
    },
    Param {
        name: "cluster-replica-validity-factor",
        kind: Kind::Int(0, INT_MAX),
        default: "10",
        immutable: false,
        alias: Some("cluster-slave-validity-factor"),
    },
    Param {
        name: "cluster-require-full-coverage",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "cluster-slave-no-failover",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: Some("cluster-replica-no-failover"),
    },
    Param {
        name: "cluster-slave-validity-factor",
        kind: Kind::Int(0, INT_MAX),
        default: "10",
        immutable: false,
        alias: Some("cluster-replica-validity-factor"),
    },
    Param {
        name: "crash-log-enabled",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "crash-memcheck-enabled",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "daemonize",
        kind: Kind::Bool,
        default: "no",
        immutable: true,
        alias: None,
    },
    Param {
        name: "disable-thp",
        kind: Kind::Bool,
        default: "yes",
        immutable: true,
        alias: None,
    },
    Param {
        name: "dynamic-hz",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "enable-debug-command",
        kind: Kind::Enum(&["no", "yes", "local"]),
        default: "no",
        immutable: true,
        alias: None,
    },
    Param {
        name: "enable-module-command",
        kind: Kind::Enum(&["no", "yes", "local"]),
        default: "no",
        immutable: true,
        alias: None,
    },
    Param {
        name: "hll-sparse-max-bytes",
        kind: Kind::Mem(0, i64::MAX),
        default: "3000",
        immutable: false,
        alias: None,
    },
    Param {
        name: "ignore-warnings",
        kind: Kind::Str,
        default: "",
        immutable: false,
        alias: None,
    },
    Param {
        name: "io-threads",
        kind: Kind::Int(1, 128),
        default: "1",
        immutable: true,
        alias: None,
    },
    Param {
        name: "io-threads-do-reads",
        kind: Kind::Bool,
        default: "no",
        immutable: true,
        alias: None,
    },
    Param {
        name: "jemalloc-bg-thread",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "latency-monitor-threshold",
        kind: Kind::Int(0, i64::MAX),
        default: "0",
        immutable: false,
        alias: None,
    },
    Param {
        name: "latency-tracking",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "latency-tracking-info-percentiles",
        kind: Kind::Str,
        default: "50 99 99.9",
        immutable: false,
        alias: None,
    },
    Param {
        name: "lazyfree-lazy-eviction",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "lazyfree-lazy-expire",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "lazyfree-lazy-server-del",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "lazyfree-lazy-user-del",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "lazyfree-lazy-user-flush",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "logfile",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: None,
    },
    Param {
        name: "lua-time-limit",
        kind: Kind::Int(0, i64::MAX),
        default: "5000",
        immutable: false,
        alias: Some("busy-reply-threshold"),
    },
    Param {
        name: "masterauth",
        kind: Kind::Str,
        default: "",
        immutable: false,
        alias: None,
    },
    Param {
        name: "masteruser",
        kind: Kind::Str,
        default: "",
        immutable: false,
        alias: None,
    },
    Param {
        name: "maxmemory-clients",
        kind: Kind::MemPct(-100, i64::MAX),
        default: "0",
        immutable: false,
        alias: None,
    },
    Param {
        name: "min-replicas-max-lag",
        kind: Kind::Int(0, INT_MAX),
        default: "10",
        immutable: false,
        alias: Some("min-slaves-max-lag"),
    },
    Param {
        name: "min-replicas-to-write",
        kind: Kind::Int(0, INT_MAX),
        default: "0",
        immutable: false,
        alias: Some("min-slaves-to-write"),
    },
    Param {
        name: "min-slaves-max-lag",
        kind: Kind::Int(0, INT_MAX),
        default: "10",
        immutable: false,
        alias: Some("min-replicas-max-lag"),
    },
    Param {
        name: "min-slaves-to-write",
        kind: Kind::Int(0, INT_MAX),
        default: "0",
        immutable: false,
        alias: Some("min-replicas-to-write"),
    },
    Param {
        name: "oom-score-adj",
        kind: Kind::Enum(&["no", "yes", "relative", "absolute"]),
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "oom-score-adj-values",
        kind: Kind::Str,
        default: "0 200 800",
        immutable: false,
        alias: None,
    },
    Param {
        name: "pidfile",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: None,
    },
    Param {
        name: "proc-title-template",
        kind: Kind::Str,
        default: "{title} {listen-addr} {server-mode}",
        immutable: false,
        alias: None,
    },
    Param {
        name: "propagation-error-behavior",
        kind: Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        default: "ignore",
        immutable: false,
        alias: None,
    },
    Param {
        name: "repl-backlog-size",
        kind: Kind::Mem(1, i64::MAX),
        default: "1048576",
        immutable: false,
        alias: None,
    },
    Param {
        name: "repl-backlog-ttl",
        kind: Kind::Int(0, i64::MAX),
        default: "3600",
        immutable: false,
        alias: None,
    },
    Param {
        name: "repl-disable-tcp-nodelay",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "repl-diskless-load",
        kind: Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        default: "disabled",
        immutable: false,
        alias: None,
    },
    Param {
        name: "repl-diskless-sync",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "repl-diskless-sync-delay",
        kind: Kind::Int(0, INT_MAX),
        default: "5",
        immutable: false,
        alias: None,
    },
    Param {
        name: "repl-diskless-sync-max-replicas",
        kind: Kind::Int(0, INT_MAX),
        default: "0",
        immutable: false,
        alias: None,
    },
    Param {
        name: "repl-ping-replica-period",
        kind: Kind::Int(1, INT_MAX),
        default: "10",
        immutable: false,
        alias: Some("repl-ping-slave-period"),
    },
    Param {
        name: "repl-ping-slave-period",
        kind: Kind::Int(1, INT_MAX),
        default: "10",
        immutable: false,
        alias: Some("repl-ping-replica-period"),
    },
    Param {
        name: "repl-timeout",
        kind: Kind::Int(1, INT_MAX),
        default: "60",
        immutable: false,
        alias: None,
    },
    Param {
        name: "replica-announce-ip",
        kind: Kind::Str,
        default: "",
        immutable: false,
        alias: Some("slave-announce-ip"),
    },
    Param {
        name: "replica-announce-port",
        kind: Kind::Int(0, 65535),
        default: "0",
        immutable: false,
        alias: Some("slave-announce-port"),
    },
    Param {
        name: "replica-announced",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: None,
    },
    Param {
        name: "replica-ignore-disk-write-errors",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: None,
    },
    Param {
        name: "replica-ignore-maxmemory",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: Some("slave-ignore-maxmemory"),
    },
    Param {
        name: "replica-lazy-flush",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: Some("slave-lazy-flush"),
    },
    Param {
        name: "replica-priority",
        kind: Kind::Int(0, INT_MAX),
        default: "100",
        immutable: false,
        alias: Some("slave-priority"),
    },
    Param {
        name: "replica-read-only",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: Some("slave-read-only"),
    },
    Param {
        name: "replica-serve-stale-data",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: Some("slave-serve-stale-data"),
    },
    Param {
        name: "replicaof",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: Some("slaveof"),
    },
    Param {
        name: "server_cpulist",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: None,
    },
    Param {
        name: "set-proc-title",
        kind: Kind::Bool,
        default: "yes",
        immutable: true,
        alias: None,
    },
    Param {
        name: "shutdown-on-sigint",
        kind: Kind::Enum(&["default", "save", "nosave", "now", "force"]),
        default: "default",
        immutable: false,
        alias: None,
    },
    Param {
        name: "shutdown-on-sigterm",
        kind: Kind::Enum(&["default", "save", "nosave", "now", "force"]),
        default: "default",
        immutable: false,
        alias: None,
    },
    Param {
        name: "shutdown-timeout",
        kind: Kind::Int(0, INT_MAX),
        default: "10",
        immutable: false,
        alias: None,
    },
    Param {
        name: "slave-announce-ip",
        kind: Kind::Str,
        default: "",
        immutable: false,
        alias: Some("replica-announce-ip"),
    },
    Param {
        name: "slave-announce-port",
        kind: Kind::Int(0, 65535),
        default: "0",
        immutable: false,
        alias: Some("replica-announce-port"),
    },
    Param {
        name: "slave-ignore-maxmemory",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: Some("replica-ignore-maxmemory"),
    },
    Param {
        name: "slave-lazy-flush",
        kind: Kind::Bool,
        default: "no",
        immutable: false,
        alias: Some("replica-lazy-flush"),
    },
    Param {
        name: "slave-priority",
        kind: Kind::Int(0, INT_MAX),
        default: "100",
        immutable: false,
        alias: Some("replica-priority"),
    },
    Param {
        name: "slave-read-only",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: Some("replica-read-only"),
    },
    Param {
        name: "slave-serve-stale-data",
        kind: Kind::Bool,
        default: "yes",
        immutable: false,
        alias: Some("replica-serve-stale-data"),
    },
    Param {
        name: "slaveof",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: Some("replicaof"),
    },
    Param {
        name: "socket-mark-id",
        kind: Kind::Int(0, UINT_MAX),
        default: "0",
        immutable: true,
        alias: None,
    },
    Param {
        name: "stream-node-max-bytes",
        kind: Kind::Mem(0, i64::MAX),
        default: "4096",
        immutable: false,
        alias: None,
    },
    Param {
        name: "stream-node-max-entries",
        kind: Kind::Int(0, i64::MAX),
        default: "100",
        immutable: false,
        alias: None,
    },
    Param {
        name: "supervised",
        kind: Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        default: "no",
        immutable: true,
        alias: None,
    },
    Param {
        name: "syslog-enabled",
        kind: Kind::Bool,
        default: "no",
        immutable: true,
        alias: None,
    },
    Param {
        name: "syslog-facility",
        kind: Kind::Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
        default: "local0",
        immutable: true,
        alias: None,
    },
    Param {
        name: "syslog-ident",
        kind: Kind::Str,
        default: "redis",
        immutable: true,
        alias: None,
    },
    Param {
        name: "tcp-keepalive",
        kind: Kind::Int(0, INT_MAX),
        default: "300",
        immutable: false,
        alias: None,
    },
    Param {
        name: "tracking-table-max-keys",
        kind: Kind::Int(0, i64::MAX),
        default: "1000000",
        immutable: false,
        alias: None,
    },
    Param {
        name: "unixsocket",
        kind: Kind::Str,
        default: "",
        immutable: true,
        alias: None,
    },
    Param {
        name: "unixsocketperm",
        kind: Kind::Octal(0, 0o777),
        default: "0",
        immutable: true,
        alias: None,
    },
];
