//! Server commands: COMMAND, CONFIG, INFO.

use super::{CmdResult, Command, Ctx, Error, COMMANDS};
use crate::resp::{encode, Args};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One command's COMMAND INFO entry (Redis 7's ten fields).
fn command_info(c: &Command, out: &mut Vec<u8>) {
    encode::array(out, 10);
    encode::bulk(out, c.name.as_bytes());
    encode::int(out, i64::from(c.arity));
    encode::array(out, c.flags.count_ones() as usize);
    for f in c.flag_names() {
        encode::simple(out, f.as_bytes());
    }
    encode::int(out, i64::from(c.first_key));
    encode::int(out, i64::from(c.last_key));
    encode::int(out, i64::from(c.step));
    encode::array(out, c.categories.count_ones() as usize);
    for cat in c.category_names() {
        encode::simple(out, cat.as_bytes());
    }
    // Tips, key specifications and subcommands: Redis's own, where Redis has the command.
    match super::meta::meta(c.name) {
        Some(m) => out.extend_from_slice(m.info_tail()),
        None => (0..3).for_each(|_| encode::array(out, 0)),
    }
}

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// A container's subcommand arity checks, which Redis makes before anything else:
/// `(name, arity holds)` pairs; `sub` naming one whose arity fails is Redis's
/// `wrong number of arguments for 'container|name'`.
fn subcommand_arities(sub: &[u8], checks: &[(&'static str, bool)]) -> Result<(), Error> {
    match checks
        .iter()
        .find(|(name, ok)| !ok && sub.eq_ignore_ascii_case(name.as_bytes()))
    {
        Some((name, _)) => Err(Error::SubcommandArity(name)),
        None => Ok(()),
    }
}

fn help(lines: &[&str], out: &mut Vec<u8>) {
    encode::array(out, lines.len());
    for l in lines {
        encode::simple(out, l.as_bytes());
    }
}

/// `COMMAND [COUNT | LIST | INFO [name ...] | DOCS [name ...] | GETKEYS command ... |
/// HELP]`, from the one
/// command table the dispatcher uses.
pub fn command(_: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() == 1 {
        encode::array(out, COMMANDS.len());
        COMMANDS.iter().for_each(|c| command_info(c, out));
        return Ok(());
    }
    let sub = args.get(1);
    let is = |s: &[u8]| sub.eq_ignore_ascii_case(s);
    if is(b"COUNT") {
        if args.len() != 2 {
            return Err(Error::SubcommandArity("count"));
        }
        encode::int(out, int(COMMANDS.len()));
    } else if is(b"LIST") {
        if args.len() != 2 {
            return Err(Error::Syntax);
        }
        encode::array(out, COMMANDS.len());
        COMMANDS
            .iter()
            .for_each(|c| encode::bulk(out, c.name.as_bytes()));
    } else if is(b"INFO") {
        if args.len() == 2 {
            encode::array(out, COMMANDS.len());
            COMMANDS.iter().for_each(|c| command_info(c, out));
        } else {
            encode::array(out, args.len() - 2);
            for name in args.iter().skip(2) {
                match super::lookup(name) {
                    Some(c) => command_info(c, out),
                    None => encode::nil(out),
                }
            }
        }
    } else if is(b"DOCS") {
        command_docs(args, out)?;
    } else if is(b"GETKEYS") {
        // Redis's arity for COMMAND GETKEYS is -4: a command and at least one argument.
        if args.len() < 4 {
            return Err(Error::SubcommandArity("getkeys"));
        }
        let given = args.skip(2);
        let cmd = super::lookup(given.get(0)).ok_or(Error::Msg("ERR Invalid command specified"))?;
        if !cmd.has_keys() {
            return Err(Error::Msg("ERR The command has no key arguments"));
        }
        if !cmd.arity_ok(given.len()) {
            return Err(Error::Msg(
                "ERR Invalid number of arguments specified for command",
            ));
        }
        let keys = cmd
            .key_positions(&given)
            .map_err(|_| Error::Msg("ERR Invalid arguments specified for command"))?;
        encode::array(out, keys.len());
        for i in keys {
            encode::bulk(out, given.get(i));
        }
    } else if is(b"HELP") {
        if args.len() != 2 {
            return Err(Error::SubcommandArity("help"));
        }
        help(COMMAND_HELP, out);
    } else {
        return Err(Error::UnknownSubcommand);
    }
    Ok(())
}

/// `COMMAND DOCS [name ...]`: Redis's documentation of the commands (of all of them without
/// names; unknown names are left out).
#[cfg(feature = "command-docs")]
fn command_docs(args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    // RESP2 flattens the map: name, docs, name, docs... Unknown names are left out.
    let docs: Vec<(&str, &[u8])> = if args.len() == 2 {
        COMMANDS
            .iter()
            .filter_map(|c| Some((c.name, super::meta::meta(c.name)?.docs())))
            .collect()
    } else {
        args.iter()
            .skip(2)
            .filter_map(|n| {
                let c = super::lookup(n)?;
                Some((c.name, super::meta::meta(c.name)?.docs()))
            })
            .collect()
    };
    encode::array(out, docs.len() * 2);
    for (name, doc) in docs {
        encode::bulk(out, name.as_bytes());
        out.extend_from_slice(doc);
    }
    Ok(())
}

/// `COMMAND DOCS` in a build without the `command-docs` feature: an error, on which
/// redis-cli falls back to its built-in help (an empty map per command would leave its help
/// entries without a summary).
#[cfg(not(feature = "command-docs"))]
fn command_docs(_: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg(
        "ERR COMMAND DOCS is not available (kv-core built without the command-docs feature)",
    ))
}

const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "HELP",
    "    Prints this help.",
];

/// A CONFIG GET pattern as Redis matches it: Redis uses C strings there, so a pattern
/// with `*`, `?` or `[` before its first NUL is cut at that NUL (one without is looked up
/// by its whole name, and a name with a NUL matches nothing).
fn c_string_glob(pattern: &[u8]) -> &[u8] {
    let head = pattern.split(|&b| b == 0).next().unwrap_or(pattern);
    if head.len() < pattern.len() && head.iter().any(|b| b"*?[".contains(b)) {
        head
    } else {
        pattern
    }
}

/// `CONFIG GET pattern [pattern ...] | SET name value [name value ...] | RESETSTAT | HELP`.
pub fn config(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    if sub.eq_ignore_ascii_case(b"GET") {
        if args.len() < 3 {
            return Err(Error::SubcommandArity("get"));
        }
        let patterns: Vec<&[u8]> = args.iter().skip(2).map(c_string_glob).collect();
        let found = ctx.engine.config().get_matching(&patterns);
        encode::array(out, found.len() * 2);
        for (name, value) in found {
            encode::bulk(out, &name);
            encode::bulk(out, value.as_bytes());
        }
        Ok(())
    } else if sub.eq_ignore_ascii_case(b"SET") {
        if args.len() < 4 {
            return Err(Error::SubcommandArity("set"));
        }
        if args.len() % 2 == 1 {
            return Err(Error::Syntax);
        }
        let pairs: Vec<(&[u8], &[u8])> = (2..args.len())
            .step_by(2)
            .map(|i| (args.get(i), args.get(i + 1)))
            .collect();
        match ctx.engine.set_configs(&pairs) {
            Ok(()) => {
                if pairs
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(b"maxmemory"))
                {
                    lowered_maxmemory(ctx);
                }
                encode::ok(out)
            }
            Err((name, crate::config::SetError::Unknown)) => {
                out.extend_from_slice(
                    b"-ERR Unknown option or number of arguments for CONFIG SET - '",
                );
                encode::error_body(out, name);
                out.extend_from_slice(b"'\r\n");
            }
            Err((name, e)) => {
                out.extend_from_slice(b"-ERR CONFIG SET failed (possibly related to argument '");
                encode::error_body(out, name);
                out.extend_from_slice(b"') - ");
                encode::error_body(out, e.message("").as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        Ok(())
    } else if sub.eq_ignore_ascii_case(b"RESETSTAT") {
        if args.len() != 2 {
            return Err(Error::SubcommandArity("resetstat"));
        }
        ctx.engine.reset_stats();
        encode::ok(out);
        Ok(())
    } else if sub.eq_ignore_ascii_case(b"HELP") {
        help(CONFIG_HELP, out);
        Ok(())
    } else {
        Err(Error::UnknownSubcommand)
    }
}

/// `TIME`: Unix seconds and microseconds, as two bulk strings.
pub fn time(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let us = ctx.now.unix_micros;
    encode::array(out, 2);
    encode::bulk_i64(out, us.div_euclid(1_000_000));
    encode::bulk_i64(out, us.rem_euclid(1_000_000));
    Ok(())
}

/// `FUNCTION FLUSH | LIST | HELP`: there is no scripting, so there are no functions:
/// FLUSH succeeds, LIST is empty, and the rest say so.
pub fn function(_: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    let is = |name: &[u8]| sub.eq_ignore_ascii_case(name);
    if is(b"FLUSH") {
        match args.len() {
            2 => {}
            3 if args.get(2).eq_ignore_ascii_case(b"ASYNC")
                || args.get(2).eq_ignore_ascii_case(b"SYNC") => {}
            3 => {
                return Err(Error::Msg(
                    "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
                ))
            }
            _ => return Err(Error::SubcommandArity("flush")),
        }
        encode::ok(out);
    } else if is(b"LIST") {
        encode::array(out, 0);
    } else if ["LOAD", "DELETE", "DUMP", "RESTORE", "STATS", "KILL", "HELP"]
        .iter()
        .any(|n| is(n.as_bytes()))
    {
        return Err(Error::Msg(SCRIPTING_UNSUPPORTED));
    } else {
        return Err(Error::UnknownSubcommand);
    }
    Ok(())
}

/// The Redis encoding name closest to how a string is held: `int` for a value Redis would
/// store as a number (up to 20 characters, strict decimal), `embstr` up to 44 bytes, `raw`
/// above. (Redis also answers `raw` for short strings changed by APPEND or SETRANGE.)
fn string_encoding(v: &[u8]) -> &'static str {
    if v.len() <= 20 && crate::resp::parse::parse_i64(v).is_some() {
        "int"
    } else if v.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

/// Redis shares the integers 0..10000 (unless `maxmemory` is set with an LRU or LFU policy):
/// OBJECT REFCOUNT shows them as `INT_MAX`.
const SHARED_INTEGERS: i64 = 10_000;

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// Redis's `updateMaxmemory`: a warning when the new limit is under the memory in use,
/// and eviction at once (as much as one call does; the tick goes on).
fn lowered_maxmemory(ctx: &mut Ctx<'_>) {
    let e = ctx.engine;
    let limit = e.evictor.limit.load(crate::sync::Ordering::Relaxed);
    if limit == 0 {
        return;
    }
    let used = e.used_memory();
    if limit < used {
        e.warn(&alloc::format!("WARNING: the new maxmemory value set via CONFIG SET ({limit}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."));
    }
    e.perform_evictions(ctx.now.unix);
}

/// `OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ key`, `OBJECT HELP`. Looking does not
/// count as an access.
pub fn object(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    let is = |n: &[u8]| sub.eq_ignore_ascii_case(n);
    if is(b"HELP") {
        if args.len() != 2 {
            return Err(Error::SubcommandArity("help"));
        }
        help(OBJECT_HELP, out);
        return Ok(());
    }
    let name = if is(b"ENCODING") {
        "encoding"
    } else if is(b"REFCOUNT") {
        "refcount"
    } else if is(b"IDLETIME") {
        "idletime"
    } else if is(b"FREQ") {
        "freq"
    } else {
        return Err(Error::UnknownSubcommand);
    };
    if args.len() != 3 {
        return Err(Error::SubcommandArity(name));
    }
    let found = ctx.db().peek(args.get(2), ctx.now.unix, |item, stats| {
        let str_value = item.value.as_str();
        match name {
            "encoding" => {
                let enc = match &item.value {
                    crate::db::Value::Str(v) => string_encoding(v),
                    crate::db::Value::ZSet(z) if z.is_small() => "listpack",
                    crate::db::Value::ZSet(_) => "skiplist",
                    crate::db::Value::Hash(h) => h.encoding(),
                    crate::db::Value::Set(s) => s.encoding(),
                    crate::db::Value::List(l) => l.encoding(),
                };
                encode::bulk(out, enc.as_bytes());
                Ok(())
            }
            "refcount" => {
                // Redis shares no integers while `maxmemory` is set with an LRU or LFU
                // policy (each key keeps its own access time; as of now, not as of the
                // write, here).
                use crate::evict::Policy;
                let ev = &ctx.engine.evictor;
                let unshared = ev.limit.load(crate::sync::Ordering::Relaxed) != 0
                    && matches!(
                        ev.policy(),
                        Policy::AllkeysLru
                            | Policy::AllkeysLfu
                            | Policy::VolatileLru
                            | Policy::VolatileLfu
                    );
                let shared = !unshared
                    && str_value.is_some_and(|v| {
                    string_encoding(v) == "int"
                        && crate::resp::parse::parse_i64(v)
                            .is_some_and(|n| (0..SHARED_INTEGERS).contains(&n))
                });
                encode::int(out, if shared { i64::from(i32::MAX) } else { 1 });
                Ok(())
            }
            "idletime" if stats.lfu => Err(Error::Msg(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            )),
            "idletime" => {
                encode::int(out, i64::try_from(stats.idle_secs).unwrap_or(i64::MAX));
                Ok(())
            }
            _ if stats.lfu => {
                encode::int(out, i64::from(stats.freq));
                Ok(())
            }
            _ => Err(Error::Msg(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            )),
        }
    });
    match found {
        Some(r) => r,
        None => {
            encode::nil(out);
            Ok(())
        }
    }
}

/// `MEMORY USAGE key [SAMPLES count]...`: the bytes the key holds (table slot, key, value),
/// or nil; `MEMORY STATS`, `DOCTOR`, `MALLOC-STATS`, `PURGE` and `HELP`, as Redis 7.0.15
/// answers them when built with libc's malloc (what kv_server uses).
pub fn memory(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    // Redis checks each subcommand's arity first (`memory|usage` -3, the others 2).
    subcommand_arities(
        sub,
        &[
            ("usage", args.len() >= 3),
            ("stats", args.len() == 2),
            ("doctor", args.len() == 2),
            ("malloc-stats", args.len() == 2),
            ("purge", args.len() == 2),
            ("help", args.len() == 2),
        ],
    )?;
    let is = |name: &str| sub.eq_ignore_ascii_case(name.as_bytes());
    if is("USAGE") {
        // Redis's loop: any number of `SAMPLES n` pairs, n >= 0 (the figure is exact here).
        let mut j = 3;
        while j < args.len() {
            if !args.get(j).eq_ignore_ascii_case(b"SAMPLES") || j + 1 >= args.len() {
                return Err(Error::Syntax);
            }
            if super::arg_i64(args.get(j + 1))? < 0 {
                return Err(Error::Syntax);
            }
            j += 2;
        }
        match ctx
            .db()
            .peek(args.get(2), ctx.now.unix, |_, stats| stats.bytes)
        {
            Some(n) => encode::int(out, int(n)),
            None => encode::nil(out),
        }
        Ok(())
    } else if is("STATS") {
        memory_stats(ctx.engine, out);
        Ok(())
    } else if is("DOCTOR") {
        encode::bulk(out, memory_doctor(ctx.engine).as_bytes());
        Ok(())
    } else if is("MALLOC-STATS") {
        encode::bulk(out, b"Stats not supported for the current allocator");
        Ok(())
    } else if is("PURGE") {
        // Redis purges only with jemalloc and answers OK otherwise; kv_server gives freed
        // memory back to the kernel by itself (its `malloc_trim` after large frees).
        encode::ok(out);
        Ok(())
    } else if is("HELP") {
        help(
            &[
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Prints this help.",
            ],
            out,
        );
        Ok(())
    } else {
        Err(Error::UnknownSubcommand)
    }
}

/// The figures of MEMORY STATS and MEMORY DOCTOR (Redis's `getMemoryOverheadData`, with
/// libc malloc: the allocator's figures are used memory and RSS).
struct MemOverhead {
    total: usize,
    peak: usize,
    startup: usize,
    clients: usize,
    clients_n: usize,
    rss: usize,
    /// Per database with keys: (index, table bytes, deadline heap bytes).
    dbs: Vec<(usize, usize, usize)>,
    keys: usize,
    overhead: usize,
}

impl MemOverhead {
    #[cold]
    #[inline(never)]
    fn of(e: &crate::engine::Engine) -> Self {
        use crate::sync::Ordering::Relaxed;
        let total = e.used_memory();
        let keyspaces: usize = e.dbs().iter().map(|d| d.used().0).sum();
        let startup = e.stats.startup_memory.load(Relaxed);
        let clients = total.saturating_sub(keyspaces);
        let mut dbs = Vec::new();
        let mut keys = 0;
        let mut overhead = startup + clients;
        for (i, d) in e.dbs().iter().enumerate() {
            let n = d.len();
            if n == 0 {
                continue;
            }
            let (main, expires) = d.overheads();
            keys += n;
            overhead += main + expires;
            dbs.push((i, main, expires));
        }
        MemOverhead {
            total,
            peak: e.stats.peak_memory.load(Relaxed).max(total),
            startup,
            clients,
            clients_n: e.stats.connected_clients.load(Relaxed).max(1),
            rss: e.stats.rss_bytes.load(Relaxed),
            dbs,
            keys,
            overhead,
        }
    }

    /// Redis's `(float)a / b` ratios.
    fn ratio(a: usize, b: usize) -> f32 {
        if b == 0 {
            0.0
        } else {
            a as f32 / b as f32
        }
    }
}

/// INFO's `memory` section: Redis 7.0.15's fields in its order, from the figures MEMORY
/// STATS reports (no scripts, functions, replicas, cluster links or lazy freeing here:
/// those are 0, as in a Redis that has none).
#[cold]
#[inline(never)]
fn memory_section(e: &crate::engine::Engine, s: &mut String) {
    let m = MemOverhead::of(e);
    let limit = e.evictor.limit.load(crate::sync::Ordering::Relaxed);
    let net = if m.total > m.startup {
        m.total - m.startup
    } else {
        1
    };
    let dataset = m.total.saturating_sub(m.overhead);
    let frag_bytes = m.rss as i64 - m.total as i64;
    let system = usize::try_from(e.host.total_system_memory).unwrap_or(usize::MAX);
    let pct = |a: usize, b: usize| a as f32 * 100.0 / b.max(1) as f32;
    let _ = write!(
        s,
        "# Memory\r\nused_memory:{}\r\nused_memory_human:",
        m.total
    );
    human(s, m.total);
    let _ = write!(s, "\r\nused_memory_rss:{}\r\nused_memory_rss_human:", m.rss);
    human(s, m.rss);
    let _ = write!(
        s,
        "\r\nused_memory_peak:{}\r\nused_memory_peak_human:",
        m.peak
    );
    human(s, m.peak);
    let _ = write!(
        s,
        "\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{}\r\nallocator_active:{}\r\nallocator_resident:{}\r\ntotal_system_memory:{system}\r\ntotal_system_memory_human:",
        pct(m.total, m.peak),
        m.overhead,
        m.startup,
        pct(dataset, net),
        m.total,
        m.rss,
        m.rss,
    );
    human(s, system);
    s.push_str("\r\nused_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\n");
    let _ = write!(s, "maxmemory:{limit}\r\nmaxmemory_human:");
    human(s, limit);
    let frag = MemOverhead::ratio(m.rss, m.total);
    let one = MemOverhead::ratio(m.rss, m.rss);
    let _ = write!(
        s,
        "\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:{frag:.2}\r\nallocator_frag_bytes:{}\r\nallocator_rss_ratio:{one:.2}\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:{one:.2}\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{frag:.2}\r\nmem_fragmentation_bytes:{frag_bytes}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:{}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
        e.evictor.policy().name(),
        // Redis prints this `size_t` difference with %zu: negative wraps.
        (m.rss as u64).wrapping_sub(m.total as u64),
        m.clients,
    );
}

/// `MEMORY STATS`: Redis's 27 fields and a `db.N` map per database with keys.
#[cold]
#[inline(never)]
fn memory_stats(e: &crate::engine::Engine, out: &mut Vec<u8>) {
    let m = MemOverhead::of(e);
    let net = if m.total > m.startup {
        m.total - m.startup
    } else {
        1
    };
    let dataset = m.total.saturating_sub(m.overhead);
    let frag_bytes = m.rss as i64 - m.total as i64;
    let ints: [(&str, i64); 10] = [
        ("peak.allocated", int(m.peak)),
        ("total.allocated", int(m.total)),
        ("startup.allocated", int(m.startup)),
        ("replication.backlog", 0),
        ("clients.slaves", 0),
        ("clients.normal", int(m.clients)),
        ("cluster.links", 0),
        ("aof.buffer", 0),
        ("lua.caches", 0),
        ("functions.caches", 0),
    ];
    encode::array(out, 2 * (27 + m.dbs.len()));
    for (name, v) in ints {
        encode::bulk(out, name.as_bytes());
        encode::int(out, v);
    }
    for &(i, main, expires) in &m.dbs {
        encode::bulk(out, alloc::format!("db.{i}").as_bytes());
        encode::array(out, 6);
        encode::bulk(out, b"overhead.hashtable.main");
        encode::int(out, int(main));
        encode::bulk(out, b"overhead.hashtable.expires");
        encode::int(out, int(expires));
        encode::bulk(out, b"overhead.hashtable.slot-to-keys");
        encode::int(out, 0);
    }
    let per_key = net.checked_div(m.keys).unwrap_or(0);
    let ratio = MemOverhead::ratio;
    let fields: [(&str, Figure); 17] = [
        ("overhead.total", Figure::Int(int(m.overhead))),
        ("keys.count", Figure::Int(int(m.keys))),
        ("keys.bytes-per-key", Figure::Int(int(per_key))),
        ("dataset.bytes", Figure::Int(int(dataset))),
        (
            "dataset.percentage",
            Figure::Double(dataset as f32 * 100.0 / net as f32),
        ),
        (
            "peak.percentage",
            Figure::Double(m.total as f32 * 100.0 / m.peak.max(1) as f32),
        ),
        ("allocator.allocated", Figure::Int(int(m.total))),
        ("allocator.active", Figure::Int(int(m.rss))),
        ("allocator.resident", Figure::Int(int(m.rss))),
        (
            "allocator-fragmentation.ratio",
            Figure::Double(ratio(m.rss, m.total)),
        ),
        ("allocator-fragmentation.bytes", Figure::Int(frag_bytes)),
        ("allocator-rss.ratio", Figure::Double(ratio(m.rss, m.rss))),
        ("allocator-rss.bytes", Figure::Int(0)),
        ("rss-overhead.ratio", Figure::Double(ratio(m.rss, m.rss))),
        ("rss-overhead.bytes", Figure::Int(0)),
        ("fragmentation", Figure::Double(ratio(m.rss, m.total))),
        ("fragmentation.bytes", Figure::Int(frag_bytes)),
    ];
    for (name, v) in fields {
        encode::bulk(out, name.as_bytes());
        match v {
            Figure::Int(n) => encode::int(out, n),
            // Redis's `addReplyDouble` of a `float` figure.
            Figure::Double(d) => encode::bulk(out, crate::num::fmt_double(f64::from(d)).as_bytes()),
        }
    }
}

/// A MEMORY STATS figure: an integer, or a ratio Redis computes as a `float`.
enum Figure {
    Int(i64),
    Double(f32),
}

/// `MEMORY DOCTOR`: Redis's `getMemoryDoctorReport`, with the checks that apply here.
#[cold]
#[inline(never)]
fn memory_doctor(e: &crate::engine::Engine) -> String {
    let m = MemOverhead::of(e);
    if m.total < 5 << 20 {
        return String::from(
            "Hi Sam, this instance is empty or is using very little memory, my issues \
             detector can't be used in these conditions. Please, leave for your mission on \
             Earth and fill it with some data. The new Sam and I will be back to our \
             programming as soon as I finished rebooting.\n",
        );
    }
    let frag = MemOverhead::ratio(m.rss, m.total);
    let frag_bytes = m.rss.saturating_sub(m.total);
    let mut s = String::new();
    if MemOverhead::ratio(m.peak, m.total) > 1.5 {
        s.push_str(DOCTOR_PEAK);
    }
    if frag > 1.4 && frag_bytes > 10 << 20 {
        s.push_str(DOCTOR_FRAG);
    }
    // With libc malloc the allocator's active and resident figures are the RSS: the
    // allocator-fragmentation check is the same test as the one above, with 1.1.
    if frag > 1.1 && frag_bytes > 10 << 20 {
        s.push_str(DOCTOR_ALLOC_FRAG);
    }
    if m.clients / m.clients_n > 200 * 1024 {
        s.push_str(DOCTOR_CLIENTS);
    }
    if s.is_empty() {
        return String::from(
            "Hi Sam, I can't find any memory issue in your instance. I can only account for \
             what occurs on this base.\n",
        );
    }
    alloc::format!(
        "Sam, I detected a few issues in this Redis instance memory implants:\n\n{s}I'm here \
         to keep you safe, Sam. I want to help you.\n"
    )
}

const DOCTOR_PEAK: &str = " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n";
const DOCTOR_FRAG: &str = " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n";
const DOCTOR_ALLOC_FRAG: &str = " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n";
const DOCTOR_CLIENTS: &str = " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n";

/// `SLOWLOG GET [count] | LEN | RESET | HELP` (see [`crate::slowlog`]).
pub fn slowlog(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    let log = &ctx.engine.slowlog;
    // Redis checks each subcommand's arity first (the others' is 2).
    if sub.eq_ignore_ascii_case(b"GET") && args.len() > 3 {
        // Redis's arity for `slowlog|get` is -2: more arguments reach its syntax error.
        super::connection::subcommand_syntax_error(args, out);
        return Ok(());
    }
    subcommand_arities(
        sub,
        &[
            ("len", args.len() == 2),
            ("reset", args.len() == 2),
            ("help", args.len() == 2),
        ],
    )?;
    if sub.eq_ignore_ascii_case(b"GET") {
        let count = if args.len() == 3 {
            match crate::resp::parse::parse_i64(args.get(2)) {
                Some(-1) => None,
                Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => {
                    return Err(Error::Msg(
                        "ERR count should be greater than or equal to -1",
                    ))
                }
            }
        } else {
            Some(10)
        };
        let entries = log.newest(count);
        encode::array(out, entries.len());
        for e in entries {
            encode::array(out, 6);
            encode::int(out, i64::try_from(e.id).unwrap_or(i64::MAX));
            encode::int(out, e.time);
            encode::int(out, i64::try_from(e.duration).unwrap_or(i64::MAX));
            encode::array(out, e.args.len());
            for a in &e.args {
                encode::bulk(out, a);
            }
            encode::bulk(out, e.peer.as_bytes());
            encode::bulk(out, &e.name);
        }
        Ok(())
    } else if sub.eq_ignore_ascii_case(b"LEN") {
        encode::int(out, int(log.len()));
        Ok(())
    } else if sub.eq_ignore_ascii_case(b"RESET") {
        log.reset();
        encode::ok(out);
        Ok(())
    } else if sub.eq_ignore_ascii_case(b"HELP") {
        help(
            &[
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ],
            out,
        );
        Ok(())
    } else {
        Err(Error::UnknownSubcommand)
    }
}

/// EVAL, EVALSHA, FCALL and SCRIPT (and their read-only forms): there is no scripting yet.
pub fn no_scripting(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg(SCRIPTING_UNSUPPORTED))
}

/// The error every scripting command answers.
const SCRIPTING_UNSUPPORTED: &str =
    "ERR scripting is not supported by this server (mini-kv has no Lua scripts or functions)";

/// Redis's `bytesToHuman`.
fn human(s: &mut String, n: usize) {
    let units = [
        (1u64 << 50, 'P'),
        (1 << 40, 'T'),
        (1 << 30, 'G'),
        (1 << 20, 'M'),
        (1 << 10, 'K'),
    ];
    let n = n as u64;
    for (size, unit) in units {
        if n >= size {
            let _ = write!(s, "{:.2}{}", n as f64 / size as f64, unit);
            return;
        }
    }
    let _ = write!(s, "{n}B");
}

/// The sections INFO knows, in the order it prints them.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

fn section(ctx: &Ctx<'_>, name: &str, s: &mut String) {
    let e = ctx.engine;
    let now = ctx.now;
    match name {
        "server" => {
            let up = now.mono.saturating_duration_since(e.started.mono).as_secs();
            let _ = write!(
                s,
                "# Server\r\nredis_version:{}\r\nmini_kv_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:6d696e692d6b76\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:{}\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\nworker_threads:{}\r\n",
                crate::REDIS_VERSION,
                crate::VERSION,
                e.host.os,
                e.host.arch_bits,
                e.host.multiplexing_api,
                e.host.process_id,
                e.host.run_id,
                e.config().port,
                now.unix.0.saturating_mul(1000),
                up,
                up / 86400,
                // Redis's LRU_CLOCK: seconds, in 24 bits.
                now.unix.0.div_euclid(1000) & ((1 << 24) - 1),
                e.host.executable,
                e.host.config_file,
                e.config().workers,
            );
        }
        "clients" => {
            let _ = write!(
                s,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nblocked_clients:{}\r\ntracking_clients:0\r\n",
                e.stats.connected_clients.load(crate::sync::Ordering::Relaxed),
                e.config().maxclients,
                e.blocking.blocked() + e.pause.postponed(),
            );
        }
        "memory" => memory_section(e, s),
        "stats" => {
            let t = e.totals();
            let pubsub = e.pubsub.sizes();
            let _ = write!(
                s,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nevicted_keys:{}\r\nevicted_clients:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\n",
                t.connections,
                t.commands,
                e.ops_per_sec(),
                t.net_input,
                t.net_output,
                t.rejected,
                t.expired,
                t.evicted,
                t.hits,
                t.misses,
                pubsub.0,
                pubsub.1,
                pubsub.2,
                e.stats.errors.lock().total,
            );
        }
        "persistence" => persistence_section(e, ctx.now, s),
        "cpu" => {
            let secs = |us: usize| alloc::format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
            let load = |a: &crate::sync::AtomicUsize| a.load(crate::sync::Ordering::Relaxed);
            let _ = write!(
                s,
                "# CPU\r\nused_cpu_sys:{}\r\nused_cpu_user:{}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n",
                secs(load(&e.stats.cpu_sys_us)),
                secs(load(&e.stats.cpu_user_us)),
            );
        }
        "modules" => s.push_str("# Modules\r\n"),
        "errorstats" => {
            s.push_str("# Errorstats\r\n");
            for (code, n) in &e.stats.errors.lock().codes {
                let _ = write!(s, "errorstat_{}:count={n}\r\n", safe_info_string(code));
            }
        }
        "commandstats" => {
            s.push_str("# Commandstats\r\n");
            let t = e.totals();
            for slot in crate::cmd::stat_order() {
                let Some(&[calls, usec, failed, rejected]) = t.per_command.get(slot) else {
                    continue;
                };
                if calls == 0 && rejected == 0 {
                    continue;
                }
                let per_call = if calls == 0 {
                    0.0
                } else {
                    usec as f64 / calls as f64
                };
                let _ = write!(
                    s,
                    "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                    crate::cmd::stat_name(slot)
                );
            }
        }
        "latencystats" => {
            s.push_str("# Latencystats\r\n");
            let percentiles =
                String::from(e.config().inert_value("latency-tracking-info-percentiles"));
            // While tracking is off the section is empty, as Redis's.
            let on = e.latency_generation().is_some();
            for slot in crate::cmd::stat_order().filter(|_| on) {
                let Some(counts) = e.latency_counts(slot) else {
                    continue;
                };
                let _ = write!(
                    s,
                    "latency_percentiles_usec_{}:",
                    crate::cmd::stat_name(slot)
                );
                for (k, p) in percentiles.split_ascii_whitespace().enumerate() {
                    let v = p
                        .parse::<f64>()
                        .map_or(0, |p| crate::latency::value_at_percentile(&counts, p));
                    let sep = if k == 0 { "" } else { "," };
                    let _ = write!(s, "{sep}p{p}={:.3}", v as f64 / 1000.0);
                }
                s.push_str("\r\n");
            }
        }
        "replication" => {
            let _ = write!(
                s,
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                e.replid()
            );
        }
        "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            s.push_str("# Keyspace\r\n");
            for (i, db) in e.dbs().iter().enumerate() {
                let keys = db.len();
                if keys > 0 {
                    let expires = db.expires_len();
                    let avg = db.avg_ttl(now.unix);
                    let _ = write!(s, "db{i}:keys={keys},expires={expires},avg_ttl={avg}\r\n");
                }
            }
        }
        _ => {}
    }
}

/// Redis's `getSafeInfoString`: `#`, `:`, `\r` and `\n` become `_` (they would break the
/// INFO format).
fn safe_info_string(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .map(|c| {
            if matches!(c, '#' | ':' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// `INFO [section ...]`: `default` (or nothing) names every section but commandstats and
/// latencystats; `all` and `everything` name them all. Unknown sections add nothing.
pub fn info(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let mut wanted = [false; SECTIONS.len()];
    let defaults = |w: &mut [bool; SECTIONS.len()]| {
        for (flag, name) in w.iter_mut().zip(SECTIONS) {
            // A plain INFO (or `default`) prints all but these two, as Redis.
            *flag |= *name != "commandstats" && *name != "latencystats";
        }
    };
    if args.len() == 1 {
        defaults(&mut wanted);
    }
    for arg in args.iter().skip(1) {
        if arg.eq_ignore_ascii_case(b"default") {
            defaults(&mut wanted);
        }
        if arg.eq_ignore_ascii_case(b"all") || arg.eq_ignore_ascii_case(b"everything") {
            wanted = [true; SECTIONS.len()];
        }
        for (w, name) in wanted.iter_mut().zip(SECTIONS) {
            if arg.eq_ignore_ascii_case(name.as_bytes()) {
                *w = true;
            }
        }
    }
    let mut s = String::new();
    for (name, _) in SECTIONS.iter().zip(wanted).filter(|(_, w)| *w) {
        if !s.is_empty() {
            s.push_str("\r\n");
        }
        section(ctx, name, &mut s);
    }
    encode::bulk(out, s.as_bytes());
    Ok(())
}

/// `MONITOR`: `+OK`, then a line for every command any client runs (see
/// [`crate::monitor`]). Inside EXEC it is refused, as Redis refuses it to a client that
/// must get one reply per command; a monitor's second MONITOR is ignored, without a reply.
pub fn monitor(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if ctx.session.deny_blocking {
        return Err(super::Error::Msg(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    if ctx.session.monitor {
        return Ok(());
    }
    ctx.session.monitor = true;
    ctx.engine.monitors.add(crate::pubsub::Sub {
        client: ctx.session.id,
        worker: ctx.session.worker,
        token: ctx.session.token,
    });
    crate::resp::encode::ok(out);
    Ok(())
}

/// INFO persistence, with Redis 7.0.15's fields in its order. There is no fork: the
/// copy-on-write figures are 0 (the snapshot's copies are counted in `used_memory`), and
/// there is no AOF yet.
fn persistence_section(e: &crate::engine::Engine, now: crate::time::Now, s: &mut String) {
    let p = &e.persist;
    let load = |a: &crate::sync::AtomicUsize| a.load(crate::sync::Ordering::Relaxed);
    let flag = |a: &crate::sync::AtomicBool| usize::from(a.load(crate::sync::Ordering::Relaxed));
    let bg = p.bgsave_in_progress.load(crate::sync::Ordering::Relaxed);
    let secs_now = now.unix.0.div_euclid(1000);
    let current = if bg {
        secs_now - i64::try_from(load(&p.bgsave_started)).unwrap_or(0)
    } else {
        -1
    };
    let last = i64::try_from(load(&p.last_bgsave_secs)).unwrap_or(0) - 1;
    let status = if p.last_bgsave_ok.load(crate::sync::Ordering::Relaxed) {
        "ok"
    } else {
        "err"
    };
    let (processed, total) = if p.saving.load(crate::sync::Ordering::Relaxed) {
        (load(&p.keys_processed), load(&p.keys_total))
    } else {
        (0, 0)
    };
    let _ = write!(
        s,
        "# Persistence\r\nloading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:{processed}\r\ncurrent_save_keys_total:{total}\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{status}\r\nrdb_last_bgsave_time_sec:{last}\r\nrdb_current_bgsave_time_sec:{current}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n",
        usize::from(p.flag(crate::persist::LOADING)),
        e.changes_since_save(),
        flag(&p.bgsave_in_progress),
        load(&p.last_save),
        load(&p.saves),
        load(&p.loaded_expired),
        load(&p.loaded_keys),
    );
    let rewriting = p.aof_rewriting.load(crate::sync::Ordering::Relaxed);
    let current = if rewriting {
        secs_now - i64::try_from(load(&p.aof_rewrite_started)).unwrap_or(0)
    } else {
        -1
    };
    let last = i64::try_from(load(&p.aof_last_rewrite_secs)).unwrap_or(0) - 1;
    let ok = |failed: bool| if failed { "err" } else { "ok" };
    let feed = &e.feed;
    let _ = write!(
        s,
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{last}\r\naof_current_rewrite_time_sec:{current}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        usize::from(feed.is_on()),
        usize::from(rewriting),
        flag(&p.aof_rewrite_scheduled),
        ok(p.aof_rewrite_failed.load(crate::sync::Ordering::Relaxed)),
        load(&p.aof_rewrites),
        load(&p.aof_rewrite_failures),
        ok(feed.write_failed.load(crate::sync::Ordering::Relaxed)),
    );
    if feed.is_on() {
        let _ = write!(
            s,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            load(&p.aof_current_size),
            load(&p.aof_base_size),
            feed.pending_len(),
        );
    }
}

/// `LATENCY DOCTOR | GRAPH event | HISTORY event | LATEST | RESET [event ...] | HISTOGRAM
/// [command ...] | HELP`: the latency monitor ([`crate::latency::Monitor`]) and the
/// per-command latency histograms, with Redis's replies.
pub fn latency(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    let monitor = &ctx.engine.latency_monitor;
    let now = ctx.now.unix.0.div_euclid(1000);
    subcommand_arities(
        sub,
        &[
            ("help", args.len() == 2),
            ("latest", args.len() == 2),
            ("doctor", args.len() == 2),
            ("history", args.len() == 3),
            ("graph", args.len() == 3),
        ],
    )?;
    if sub.eq_ignore_ascii_case(b"HISTORY") {
        let samples = monitor.history(args.get(2)).unwrap_or_default();
        encode::array(out, samples.len());
        for (time, ms) in samples {
            encode::array(out, 2);
            encode::int(out, time);
            encode::int(out, i64::try_from(ms).unwrap_or(i64::MAX));
        }
    } else if sub.eq_ignore_ascii_case(b"GRAPH") {
        let Some(graph) = monitor.graph(args.get(2), now) else {
            let mut e = b"-ERR No samples available for event '".to_vec();
            encode::error_body(&mut e, args.get(2));
            e.extend_from_slice(b"'\r\n");
            out.extend_from_slice(&e);
            return Ok(());
        };
        encode::bulk(out, graph.as_bytes());
    } else if sub.eq_ignore_ascii_case(b"LATEST") {
        let latest = monitor.latest();
        encode::array(out, latest.len());
        for (event, time, ms, max) in latest {
            encode::array(out, 4);
            encode::bulk(out, event.as_bytes());
            encode::int(out, time);
            encode::int(out, i64::try_from(ms).unwrap_or(i64::MAX));
            encode::int(out, i64::try_from(max).unwrap_or(i64::MAX));
        }
    } else if sub.eq_ignore_ascii_case(b"DOCTOR") {
        let report = latency_report(ctx, now);
        encode::bulk(out, report.as_bytes());
    } else if sub.eq_ignore_ascii_case(b"RESET") {
        let n = if args.len() == 2 {
            monitor.reset(None)
        } else {
            args.iter().skip(2).map(|e| monitor.reset(Some(e))).sum()
        };
        encode::int(out, int(n));
    } else if sub.eq_ignore_ascii_case(b"HISTOGRAM") {
        latency_histogram(ctx, args, out);
    } else if sub.eq_ignore_ascii_case(b"HELP") {
        help(
            &[
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
                "HELP",
                "    Prints this help.",
            ],
            out,
        );
    } else {
        return Err(Error::UnknownSubcommand);
    }
    Ok(())
}

/// LATENCY HISTOGRAM: `name, [calls, n, histogram_usec, [usec, calls so far, ...]]` for
/// every command (and counted subcommand) with calls since the last CONFIG RESETSTAT, or for
/// those named (a container names its subcommands; unknown names are skipped).
fn latency_histogram(ctx: &Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) {
    let e = ctx.engine;
    let mut slots: Vec<usize> = Vec::new();
    if args.len() == 2 {
        slots.extend(crate::cmd::stat_order());
    } else {
        for name in args.iter().skip(2) {
            for slot in crate::cmd::stat_order() {
                let full = crate::cmd::stat_name(slot);
                let parent = full.split_once('|').map(|(c, _)| c);
                let named = full.as_bytes().eq_ignore_ascii_case(name)
                    || parent.is_some_and(|c| c.as_bytes().eq_ignore_ascii_case(name));
                if named && !slots.contains(&slot) {
                    slots.push(slot);
                }
            }
        }
    }
    let found: Vec<(usize, Vec<u64>)> = slots
        .into_iter()
        .filter_map(|slot| e.latency_counts(slot).map(|c| (slot, c)))
        .collect();
    encode::array(out, found.len() * 2);
    for (slot, counts) in found {
        encode::bulk(out, crate::cmd::stat_name(slot).as_bytes());
        let calls: u64 = counts.iter().sum();
        let cdf = crate::latency::cdf(&counts);
        encode::array(out, 4);
        encode::bulk(out, b"calls");
        encode::int(out, i64::try_from(calls).unwrap_or(i64::MAX));
        encode::bulk(out, b"histogram_usec");
        encode::array(out, cdf.len() * 2);
        for (usec, n) in cdf {
            encode::int(out, i64::try_from(usec).unwrap_or(i64::MAX));
            encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}

/// LATENCY DOCTOR: Redis's report for the events mini-kv records (`command`,
/// `fast-command`) and the advice Redis gives for them.
fn latency_report(ctx: &Ctx<'_>, now: i64) -> String {
    let monitor = &ctx.engine.latency_monitor;
    let events = monitor.events();
    let threshold = monitor.threshold();
    if events.is_empty() && threshold == 0 {
        return String::from("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
    }
    let slower_than = ctx.engine.config().slowlog_log_slower_than;
    let mut r = String::new();
    let (mut enable, mut tune, mut inspect, mut scheduler) = (false, false, false, false);
    for (n, event) in events.iter().enumerate() {
        if n == 0 {
            r.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let st = monitor.stats(event, now);
        let _ = write!(
            r,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            event,
            st.samples,
            st.avg,
            st.mad,
            st.period as f64 / st.samples.max(1) as f64,
            st.all_time_high
        );
        if *event == "command" {
            if slower_than < 0 {
                enable = true;
            } else if u64::try_from(slower_than / 1000).unwrap_or(0) > threshold {
                tune = true;
            }
            inspect = true;
        }
        if *event == "fast-command" {
            scheduler = true;
        }
        r.push('\n');
    }
    let advices = enable || tune || inspect || scheduler;
    if events.is_empty() {
        r.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else if !advices {
        r.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        r.push_str("\nI have a few advices for you:\n\n");
        let us = threshold.saturating_mul(1000);
        if enable {
            let _ = writeln!(r, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.");
        }
        if tune {
            let _ = writeln!(r, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {us}'.");
        }
        if inspect {
            r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if scheduler {
            r.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if inspect {
            r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    #[test]
    fn command_subcommands() {
        let mut h = Harness::new();
        let n = crate::cmd::COMMANDS.len();
        assert_eq!(h.s("COMMAND COUNT"), std::format!(":{n}\r\n"));
        assert_eq!(
            h.s("COMMAND COUNT x"),
            "-ERR wrong number of arguments for 'command|count' command\r\n"
        );
        #[cfg(feature = "command-docs")]
        {
            assert_eq!(h.s("COMMAND DOCS nosuch"), "*0\r\n");
            assert!(h.s("COMMAND DOCS get").starts_with("*2\r\n$3\r\nget\r\n"));
        }
        #[cfg(not(feature = "command-docs"))]
        for docs in ["COMMAND DOCS", "COMMAND DOCS get", "command docs nosuch"] {
            assert_eq!(
                h.s(docs),
                "-ERR COMMAND DOCS is not available (kv-core built without the command-docs \
                 feature)\r\n"
            );
        }
        assert_eq!(
            h.s("COMMAND FOO"),
            "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"
        );
        let info = h.s("COMMAND INFO get nosuch");
        assert!(
            info.starts_with(
                "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
            ),
            "{info}"
        );
        assert!(info.ends_with("$-1\r\n"));
        assert!(h.s("COMMAND").starts_with(&std::format!("*{n}\r\n*10\r\n")));
    }

    #[test]
    fn config_get() {
        let mut h = Harness::new();
        assert_eq!(
            h.s("CONFIG GET save"),
            "*2\r\n$4\r\nsave\r\n$23\r\n3600 1 300 100 60 10000\r\n"
        );
        assert_eq!(
            h.s("CONFIG GET appendonly"),
            "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        );
        assert_eq!(h.s("CONFIG GET nosuch"), "*0\r\n");
        assert_eq!(
            h.s("CONFIG GET"),
            "-ERR wrong number of arguments for 'config|get' command\r\n"
        );
        assert_eq!(
            h.s("CONFIG"),
            "-ERR wrong number of arguments for 'config' command\r\n"
        );
        assert_eq!(
            h.s("CONFIG x"),
            "-ERR unknown subcommand 'x'. Try CONFIG HELP.\r\n"
        );
        // 48 parameters, protected-mode, the 20 tls-* ones, the 4 of the ACL and 4 of
        // eviction, the 2 of the slow log, and the 114 of `config::inert`: Redis 7.0.15's 192 and `workers`.
        assert_eq!(crate::config::inert::PARAMS.len(), 114);
        assert!(h.s("CONFIG GET *").starts_with("*386\r\n"));
        // notify-keyspace-events as Redis shows it, and its error.
        assert_eq!(
            h.s("CONFIG GET notify-keyspace-events"),
            "*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n"
        );
        assert_eq!(h.s("CONFIG SET notify-keyspace-events KEAmn"), "+OK\r\n");
        assert_eq!(
            h.s("CONFIG GET notify-keyspace-events"),
            "*2\r\n$22\r\nnotify-keyspace-events\r\n$4\r\nAKEm\r\n"
        );
        assert_eq!(
            h.s("CONFIG SET notify-keyspace-events xyz"),
            "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
        );
    }

    #[test]
    fn info_sections() {
        let mut h = Harness::new();
        h.run("SET a 1");
        h.run("SET b 2 EX 100");
        let all = h.s("INFO");
        for field in [
            "# Server\r\nredis_version:7.0.15\r\n",
            "redis_mode:standalone",
            "# Clients\r\n",
            "# Memory\r\nused_memory:",
            "# Stats\r\n",
            "total_commands_processed:",
            "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=100000\r\n",
        ] {
            assert!(all.contains(field), "{field} in {all}");
        }
        let ks = h.s("INFO keyspace");
        assert!(ks.starts_with("$"));
        assert!(ks.contains("\r\n# Keyspace\r\ndb0:keys=2"));
        assert!(!ks.contains("# Server"));
        let two = h.s("INFO server KEYSPACE");
        assert!(two.contains("# Server") && two.contains("\r\n\r\n# Keyspace"));
        assert_eq!(h.s("INFO nosuch"), "$0\r\n\r\n");
    }

    #[test]
    fn human_sizes() {
        let mut s = std::string::String::new();
        super::human(&mut s, 1023);
        s.push(' ');
        super::human(&mut s, 1536);
        s.push(' ');
        super::human(&mut s, 3 * 1024 * 1024);
        assert_eq!(s, "1023B 1.50K 3.00M");
    }
}
