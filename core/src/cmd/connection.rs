//! Connection commands: PING, ECHO, QUIT, HELLO, SELECT.

use super::{arg_i64, CmdResult, Ctx, Error};
use crate::clients::ClientEntry;
use crate::resp::encode::FmtOut;
use crate::resp::{encode, Args};
use alloc::vec::Vec;
use core::fmt::Write;

/// `PING [message]`.
pub fn ping(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() <= 2 && ctx.session.subs.total() > 0 {
        // Subscriber mode: `["pong", message]`, as Redis answers a RESP2 subscriber.
        encode::array(out, 2);
        encode::bulk(out, b"pong");
        encode::bulk(out, if args.len() == 2 { args.get(1) } else { b"" });
        return Ok(());
    }
    match args.len() {
        1 => out.extend_from_slice(b"+PONG\r\n"),
        2 => encode::bulk(out, args.get(1)),
        _ => {
            return Err(Error::Msg(
                "ERR wrong number of arguments for 'ping' command",
            ))
        }
    }
    Ok(())
}

/// `ECHO message`.
pub fn echo(_: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    encode::bulk(out, args.get(1));
    Ok(())
}

/// `QUIT`: `+OK`, then the connection closes once replies are flushed.
pub fn quit(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    encode::ok(out);
    ctx.session.quit = true;
    Ok(())
}

/// Parses a database index as Redis's `getIntFromObjectOrReply` and checks it against the
/// number of databases.
pub fn db_index(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, Error> {
    let id = arg_i64(arg)?;
    if i32::try_from(id).is_err() {
        return Err(Error::Msg(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    usize::try_from(id)
        .ok()
        .filter(|&i| i < ctx.engine.databases())
        .ok_or(Error::Msg("ERR DB index is out of range"))
}

/// `SELECT index`.
pub fn select(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    ctx.session.db = db_index(ctx, args.get(1))?;
    encode::ok(out);
    Ok(())
}

/// `RESET`: back to a fresh connection's state (database 0, no name, replies on, no
/// longer a monitor).
pub fn reset(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    super::transactions::unwatch_all(ctx);
    if core::mem::take(&mut ctx.session.monitor) {
        // The lines already posted to it go out before `+RESET`, as they would sit in
        // Redis's output buffer already; none can come after.
        ctx.engine.monitors.remove(ctx.session.id);
        if ctx.session.subs.total() == 0 {
            super::pubsub::flush_mail(ctx, out);
        }
    }
    super::pubsub::unsubscribe_all(ctx, out);
    let s = &mut *ctx.session;
    s.multi = None;
    s.db = 0;
    s.name = None;
    s.reply_off = false;
    s.skip_next = false;
    s.skip_this = false;
    // Redis's clientSetDefaultAuth.
    s.user = None;
    s.authenticated = !ctx.engine.acl.auth_needed();
    out.extend_from_slice(b"+RESET\r\n");
    Ok(())
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are: ID, ADDR, LADDR, TYPE (normal|pubsub), SKIPME (yes|no).",
    "LIST [options ...]",
    "    Return information about client connections. Options: TYPE (normal|master|replica|pubsub), ID <id> [<id> ...].",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "NO-EVICT (ON|OFF)",
    "    Protect the current client connection from eviction in the case of OOM.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETINFO <LIB-NAME|LIB-VER> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "HELP",
    "    Prints this help.",
];

fn on_off(arg: &[u8]) -> Result<bool, Error> {
    if arg.eq_ignore_ascii_case(b"ON") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"OFF") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

/// `CLIENT ID | GETNAME | SETNAME | SETINFO | NO-EVICT | NO-TOUCH | REPLY | HELP`, about
/// the calling connection.
pub fn client(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    let is = |name: &[u8]| sub.eq_ignore_ascii_case(name);
    let arity = |n: usize, name: &'static str| {
        if args.len() == n {
            Ok(())
        } else {
            Err(Error::SubcommandArity(name))
        }
    };
    if is(b"ID") {
        arity(2, "id")?;
        encode::int(out, i64::try_from(ctx.session.id).unwrap_or(i64::MAX));
    } else if is(b"GETNAME") {
        arity(2, "getname")?;
        match &ctx.session.name {
            Some(n) => encode::bulk(out, n),
            None => encode::nil(out),
        }
    } else if is(b"SETNAME") {
        arity(3, "setname")?;
        let name = args.get(2);
        if !valid_client_name(name) {
            return Err(Error::Msg(
                "ERR Client names cannot contain spaces, newlines or special characters.",
            ));
        }
        ctx.session.name = (!name.is_empty()).then(|| name.to_vec());
        encode::ok(out);
    } else if is(b"SETINFO") {
        arity(4, "setinfo")?;
        let (attr, value) = (args.get(2), args.get(3));
        if !valid_client_name(value) {
            return Err(Error::Msg(
                "ERR lib-name and lib-ver cannot contain spaces, newlines or special characters.",
            ));
        }
        if attr.eq_ignore_ascii_case(b"LIB-NAME") {
            ctx.session.lib.0 = value.to_vec();
        } else if attr.eq_ignore_ascii_case(b"LIB-VER") {
            ctx.session.lib.1 = value.to_vec();
        } else {
            out.extend_from_slice(b"-ERR Unrecognized option '");
            encode::error_body(out, attr);
            out.extend_from_slice(b"'\r\n");
            return Ok(());
        }
        encode::ok(out);
    } else if is(b"NO-EVICT") || is(b"NO-TOUCH") {
        arity(
            3,
            if is(b"NO-EVICT") {
                "no-evict"
            } else {
                "no-touch"
            },
        )?;
        // Accepted: nothing is evicted, and access times are not tracked yet.
        on_off(args.get(2))?;
        encode::ok(out);
    } else if is(b"REPLY") {
        arity(3, "reply")?;
        let mode = args.get(2);
        if mode.eq_ignore_ascii_case(b"ON") {
            // Clears SKIP too, so ON always answers, even right after SKIP (as Redis).
            ctx.session.reply_off = false;
            ctx.session.skip_this = false;
            ctx.session.skip_next = false;
            encode::ok(out);
        } else if mode.eq_ignore_ascii_case(b"OFF") {
            ctx.session.reply_off = true;
        } else if mode.eq_ignore_ascii_case(b"SKIP") {
            if !ctx.session.reply_off {
                ctx.session.skip_next = true;
            }
        } else {
            return Err(Error::Syntax);
        }
    } else if is(b"LIST") {
        client_list(ctx, args, out)?;
    } else if is(b"INFO") {
        arity(2, "info")?;
        let mut line = Vec::new();
        if let Some(me) = ctx
            .engine
            .clients
            .list()
            .into_iter()
            .find(|e| e.id == ctx.session.id)
        {
            client_line(ctx, &me, args, &mut line);
        }
        encode::bulk(out, &line);
    } else if is(b"KILL") {
        client_kill(ctx, args, out)?;
    } else if is(b"UNBLOCK") {
        client_unblock(ctx, args, out)?;
    } else if is(b"PAUSE") {
        client_pause(ctx, args, out)?;
    } else if is(b"UNPAUSE") {
        arity(2, "unpause")?;
        ctx.engine.unpause_clients();
        encode::ok(out);
    } else if is(b"HELP") {
        arity(2, "help")?;
        encode::array(out, CLIENT_HELP.len());
        for l in CLIENT_HELP {
            encode::simple(out, l.as_bytes());
        }
    } else {
        return Err(Error::UnknownSubcommand);
    }
    Ok(())
}

/// Whether client `e` is of CLIENT LIST's `pubsub` type (subscribed to anything).
fn is_pubsub(ctx: &Ctx<'_>, e: &ClientEntry) -> bool {
    if e.id == ctx.session.id {
        ctx.session.subs.total() > 0
    } else {
        e.view().subs != (0, 0, 0)
    }
}

/// Decimal digits of `k`.
fn itoa_len(mut k: usize) -> usize {
    let mut n = 1;
    while k >= 10 {
        k /= 10;
        n += 1;
    }
    n
}

/// Appends one CLIENT LIST line (Redis 7's fields, plus 7.2's lib-name and lib-ver);
/// `current` is the command being run (the caller's own line shows it as Redis does: in
/// `qbuf` as its multibulk bytes, in `argv-mem` as its argument bytes, nothing in `omem`).
pub(crate) fn client_line(ctx: &Ctx<'_>, e: &ClientEntry, current: &Args<'_>, out: &mut Vec<u8>) {
    let mut v = e.view();
    let mut argv_mem = 0;
    if e.id == ctx.session.id {
        let n = current.len();
        argv_mem = (0..n).map(|i| current.get(i).len()).sum::<usize>();
        let header = |k: usize| 3 + itoa_len(k);
        v.qbuf = header(n)
            + (0..n)
                .map(|i| header(current.get(i).len()) + current.get(i).len() + 2)
                .sum::<usize>();
        // This connection has not published its current state yet.
        v.name.clone_from(&ctx.session.name);
        v.lib.clone_from(&ctx.session.lib);
        v.db = ctx.session.db;
        v.cmd = ctx.session.cmd;
        v.monitor = ctx.session.monitor;
        v.user.clone_from(&ctx.session.user);
        v.last_active = ctx.now.mono;
        let subs = &ctx.session.subs;
        v.subs = (subs.channels.len(), subs.patterns.len(), subs.shard.len());
        v.multi = ctx.session.multi.as_ref().map(|m| (m.queue.len(), m.mem));
    }
    // Redis's flag letters, in its order (getClientInfoString).
    let mut flags = alloc::string::String::new();
    if v.monitor {
        flags.push('O');
    }
    if v.subs != (0, 0, 0) {
        flags.push('P');
    }
    if v.multi.is_some() {
        flags.push('x');
    }
    if ctx.engine.blocking.is_blocked(e.id) || ctx.engine.pause.is_postponed(e.id) {
        flags.push('b');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let omem = if e.id == ctx.session.id { 0 } else { e.omem() };
    let (multi, multi_mem) = match v.multi {
        Some((n, mem)) => (i64::try_from(n).unwrap_or(i64::MAX), mem),
        None => (-1, 0),
    };
    let secs = |since| ctx.now.mono.saturating_duration_since(since).as_secs();
    let name = v.name.as_deref().unwrap_or(b"");
    let mut w = FmtOut(out);
    let _ = write!(
        w,
        "id={} addr={} laddr={} fd={} name=",
        e.id, e.addr.addr, e.addr.laddr, e.addr.fd
    );
    out.extend_from_slice(name);
    let mut w = FmtOut(out);
    let _ = write!(
        w,
        " age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free=0 argv-mem={} multi-mem={} rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd=",
        secs(e.created),
        secs(v.last_active),
        flags,
        v.db,
        v.subs.0,
        v.subs.1,
        v.subs.2,
        multi,
        v.qbuf,
        argv_mem,
        multi_mem,
        omem,
        v.tot_mem,
    );
    match v.cmd {
        ("", _) => out.extend_from_slice(b"NULL"),
        (c, "") => out.extend_from_slice(c.as_bytes()),
        (c, sub) => {
            out.extend_from_slice(c.as_bytes());
            out.push(b'|');
            out.extend_from_slice(sub.as_bytes());
        }
    }
    out.extend_from_slice(b" user=");
    out.extend_from_slice(v.user.as_deref().unwrap_or(b"default"));
    out.extend_from_slice(b" redir=-1 resp=2 lib-name=");
    out.extend_from_slice(&v.lib.0);
    out.extend_from_slice(b" lib-ver=");
    out.extend_from_slice(&v.lib.1);
    out.push(b'\n');
}

/// Redis's `addReplySubcommandSyntaxError`: the subcommand as given, the command in
/// capitals.
pub(crate) fn subcommand_syntax_error(args: &Args<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"-ERR unknown subcommand or wrong number of arguments for '");
    encode::error_body(out, super::c_str_prefix(args.get(1), 128));
    out.extend_from_slice(b"'. Try ");
    out.extend(args.get(0).iter().map(u8::to_ascii_uppercase));
    out.extend_from_slice(b" HELP.\r\n");
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`: pauses every client's commands (ALL, the default)
/// or their writes (WRITE) for `timeout` milliseconds; see [`crate::pause`]. The mode is
/// checked before the timeout, as in Redis.
fn client_pause(ctx: &Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    use crate::pause::Mode;
    if args.len() < 3 {
        return Err(Error::SubcommandArity("pause"));
    }
    if args.len() > 4 {
        subcommand_syntax_error(args, out);
        return Ok(());
    }
    let mode = match args.len() {
        4 if args.get(3).eq_ignore_ascii_case(b"WRITE") => Mode::Write,
        4 if args.get(3).eq_ignore_ascii_case(b"ALL") => Mode::All,
        4 => return Err(Error::Msg("ERR CLIENT PAUSE mode must be WRITE or ALL")),
        _ => Mode::All,
    };
    let ms = crate::resp::parse::parse_i64(args.get(2))
        .ok_or(Error::Msg("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(Error::Msg("ERR timeout is negative"));
    }
    // Redis adds the timeout to the time in signed 64 bits; a sum past the range wraps
    // into the past there, which ends the pause at once: the same here.
    let end = if ms > 0 {
        ms.wrapping_add(ctx.now.unix.0)
    } else {
        0
    };
    ctx.engine.pause_clients(mode, end, ctx.now);
    encode::ok(out);
    Ok(())
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]`.
/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: ends another client's block as a timeout (`*-1`)
/// or with `-UNBLOCKED client unblocked via CLIENT UNBLOCK`; `:1` if it was blocked.
fn client_unblock(ctx: &Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() < 3 {
        return Err(Error::SubcommandArity("unblock"));
    }
    if args.len() > 4 {
        subcommand_syntax_error(args, out);
        return Ok(());
    }
    let error = match args.len() {
        4 if args.get(3).eq_ignore_ascii_case(b"TIMEOUT") => false,
        4 if args.get(3).eq_ignore_ascii_case(b"ERROR") => true,
        4 => {
            return Err(Error::Msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => false,
    };
    let id = super::arg_i64(args.get(2))?;
    let blocking = &ctx.engine.blocking;
    let waiter = usize::try_from(id).ok().and_then(|id| blocking.cancel(id));
    let Some(w) = waiter else {
        encode::int(out, 0);
        return Ok(());
    };
    let reply: &[u8] = if error {
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    } else {
        b"*-1\r\n"
    };
    blocking.deliver(
        w.worker,
        crate::blocking::Delivery {
            token: w.token,
            client: w.client,
            reply: reply.to_vec(),
            undo: None,
        },
    );
    encode::int(out, 1);
    Ok(())
}

fn client_list(ctx: &Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let mut ids: Option<Vec<usize>> = None;
    let mut none = false;
    // TYPE normal / pubsub: whether the listed clients must be subscribers.
    let mut want: Option<bool> = None;
    if args.len() > 2 {
        let opt = args.get(2);
        if opt.eq_ignore_ascii_case(b"TYPE") && args.len() == 4 {
            let t = args.get(3);
            if t.eq_ignore_ascii_case(b"normal") {
                want = Some(false);
            } else if t.eq_ignore_ascii_case(b"pubsub") {
                want = Some(true);
            } else if [&b"master"[..], b"replica", b"slave"]
                .iter()
                .any(|k| t.eq_ignore_ascii_case(k))
            {
                none = true;
            } else {
                out.extend_from_slice(b"-ERR Unknown client type '");
                encode::error_body(out, t);
                out.extend_from_slice(b"'\r\n");
                return Ok(());
            }
        } else if opt.eq_ignore_ascii_case(b"ID") && args.len() > 3 {
            let mut v = Vec::new();
            for a in args.iter().skip(3) {
                match arg_i64(a)
                    .ok()
                    .and_then(|i| usize::try_from(i).ok())
                    .filter(|&i| i > 0)
                {
                    Some(i) => v.push(i),
                    None => return Err(Error::Msg("ERR Invalid client ID")),
                }
            }
            ids = Some(v);
        } else {
            return Err(Error::Syntax);
        }
    }
    let mut body = Vec::new();
    if !none {
        for e in ctx.engine.clients.list() {
            if ids.as_ref().is_none_or(|ids| ids.contains(&e.id))
                && want.is_none_or(|p| is_pubsub(ctx, &e) == p)
            {
                client_line(ctx, &e, args, &mut body);
            }
        }
    }
    encode::bulk(out, &body);
    Ok(())
}

/// `CLIENT KILL addr` or `CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [TYPE normal]
/// [SKIPME yes|no]`: the marked clients are closed by their workers at once (this one after
/// its reply).
fn client_kill(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() < 3 {
        return Err(Error::SubcommandArity("kill"));
    }
    let clients = ctx.engine.clients.list();
    if args.len() == 3 {
        let addr = args.get(2);
        let Some(e) = clients.iter().find(|e| e.addr.addr.as_bytes() == addr) else {
            return Err(Error::Msg("ERR No such client"));
        };
        kill_one(ctx, e);
        encode::ok(out);
        return Ok(());
    }
    if args.len() < 4 || args.len() % 2 == 1 {
        return Err(Error::Syntax);
    }
    let (mut id, mut addr, mut laddr, mut skipme, mut type_ok) = (None, None, None, true, true);
    let mut user: Option<&[u8]> = None;
    let mut want: Option<bool> = None;
    for i in (2..args.len()).step_by(2) {
        let (opt, val) = (args.get(i), args.get(i + 1));
        let is = |n: &[u8]| opt.eq_ignore_ascii_case(n);
        if is(b"ID") {
            let v = arg_i64(val)
                .ok()
                .and_then(|v| usize::try_from(v).ok())
                .filter(|&v| v > 0);
            id = Some(v.ok_or(Error::Msg("ERR client-id should be greater than 0"))?);
        } else if is(b"ADDR") {
            addr = Some(val);
        } else if is(b"LADDR") {
            laddr = Some(val);
        } else if is(b"TYPE") {
            if val.eq_ignore_ascii_case(b"normal") {
                want = Some(false);
            } else if val.eq_ignore_ascii_case(b"pubsub") {
                want = Some(true);
            } else if [&b"master"[..], b"replica", b"slave"]
                .iter()
                .any(|k| val.eq_ignore_ascii_case(k))
            {
                type_ok = false;
            } else {
                out.extend_from_slice(b"-ERR Unknown client type '");
                encode::error_body(out, val);
                out.extend_from_slice(b"'\r\n");
                return Ok(());
            }
        } else if is(b"USER") {
            if !ctx.engine.acl.exists(val) {
                out.extend_from_slice(b"-ERR No such user '");
                encode::error_body(out, val);
                out.extend_from_slice(b"'\r\n");
                return Ok(());
            }
            user = Some(val);
        } else if is(b"SKIPME") {
            skipme = if val.eq_ignore_ascii_case(b"yes") {
                true
            } else if val.eq_ignore_ascii_case(b"no") {
                false
            } else {
                return Err(Error::Syntax);
            };
        } else {
            return Err(Error::Syntax);
        }
    }
    let mut n = 0i64;
    for e in clients.iter().filter(|_| type_ok) {
        let matches = id.is_none_or(|i| e.id == i)
            && addr.is_none_or(|a| e.addr.addr.as_bytes() == a)
            && laddr.is_none_or(|a| e.addr.laddr.as_bytes() == a)
            && want.is_none_or(|p| is_pubsub(ctx, e) == p)
            && user.is_none_or(|u| client_user(ctx, e) == u)
            && !(skipme && e.id == ctx.session.id);
        if matches {
            kill_one(ctx, e);
            n += 1;
        }
    }
    encode::int(out, n);
    Ok(())
}

/// The ACL user client `e` is logged in as (this client's from its session).
pub(crate) fn client_user(ctx: &Ctx<'_>, e: &ClientEntry) -> Vec<u8> {
    let user = if e.id == ctx.session.id {
        ctx.session.user.clone()
    } else {
        e.view().user
    };
    user.unwrap_or_else(|| b"default".to_vec())
}

/// Closes every other client logged in as `user` (ACL DELUSER, ACL LOAD); this one after
/// its reply.
pub(crate) fn kill_user_clients(ctx: &mut Ctx<'_>, user: &[u8]) {
    for e in ctx.engine.clients.list() {
        if client_user(ctx, &e) == user {
            kill_one(ctx, &e);
        }
    }
    if ctx.session.user.as_deref().unwrap_or(b"default") == user {
        ctx.session.quit = true;
    }
}

pub(crate) fn kill_one(ctx: &mut Ctx<'_>, e: &ClientEntry) {
    if e.id == ctx.session.id {
        ctx.session.quit = true;
    } else if e.kill() {
        // Gone from connected_clients and from every channel at once, as Redis frees it
        // at once; its worker closes the connection at its next turn.
        ctx.engine.stats.client_disconnected();
        ctx.engine.pubsub.purge(e.id);
    }
}

/// Redis's answer to a wrong AUTH or HELLO AUTH.
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Logs the client in as `user` if `pass` is right (Redis's `ACLAuthenticateUser`);
/// otherwise logs the failure in the ACL LOG (object: the command's name as sent).
fn authenticate(ctx: &mut Ctx<'_>, args: &Args<'_>, user: &[u8], pass: &[u8]) -> bool {
    if ctx.engine.acl.credentials_ok(user, pass) {
        ctx.session.authenticated = true;
        ctx.session.user = (user != b"default").then(|| user.to_vec());
        true
    } else {
        super::acl::log_denial(ctx, args, crate::acl::Denied::Auth, args.get(0), Some(user));
        false
    }
}

/// `AUTH [username] password`.
pub fn auth(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let (user, pass) = if args.len() == 2 {
        if ctx.engine.acl.default_nopass() {
            return Err(Error::Msg("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
        }
        (&b"default"[..], args.get(1))
    } else {
        (args.get(1), args.get(2))
    };
    if !authenticate(ctx, args, user, pass) {
        return Err(Error::Msg(WRONGPASS));
    }
    encode::ok(out);
    Ok(())
}

/// Whether a client name is acceptable (Redis: no spaces, newlines or special characters).
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`. The server speaks
/// RESP2 only: protocol 3 answers `-NOPROTO`, as any version outside 2..=3 does in Redis.
pub fn hello(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() >= 2 {
        let ver = crate::resp::parse::parse_i64(args.get(1)).ok_or(Error::Msg(
            "ERR Protocol version is not an integer or out of range",
        ))?;
        if ver != 2 {
            return Err(Error::Msg("NOPROTO unsupported protocol version"));
        }
    }
    let mut j = 2;
    while j < args.len() {
        let opt = args.get(j);
        let more = args.len() - 1 - j;
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            if !authenticate(ctx, args, args.get(j + 1), args.get(j + 2)) {
                return Err(Error::Msg(WRONGPASS));
            }
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            let name = args.get(j + 1);
            if !valid_client_name(name) {
                return Err(Error::Msg(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            ctx.session.name = if name.is_empty() {
                None
            } else {
                Some(name.to_vec())
            };
            j += 2;
        } else {
            out.extend_from_slice(b"-ERR Syntax error in HELLO option '");
            encode::error_body(out, opt);
            out.extend_from_slice(b"'\r\n");
            return Ok(());
        }
    }
    if !ctx.session.authenticated {
        return Err(Error::Msg("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    encode::array(out, 14);
    encode::bulk(out, b"server");
    encode::bulk(out, b"redis");
    encode::bulk(out, b"version");
    encode::bulk(out, crate::REDIS_VERSION.as_bytes());
    encode::bulk(out, b"proto");
    encode::int(out, 2);
    encode::bulk(out, b"id");
    encode::int(out, i64::try_from(ctx.session.id).unwrap_or(i64::MAX));
    encode::bulk(out, b"mode");
    encode::bulk(out, b"standalone");
    encode::bulk(out, b"role");
    encode::bulk(out, b"master");
    encode::bulk(out, b"modules");
    encode::array(out, 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    #[test]
    fn connection_commands() {
        let mut h = Harness::new();
        assert_eq!(h.s("PING"), "+PONG\r\n");
        assert_eq!(h.s("PING hi"), "$2\r\nhi\r\n");
        assert_eq!(
            h.s("PING a b"),
            "-ERR wrong number of arguments for 'ping' command\r\n"
        );
        assert_eq!(h.s("ECHO \"\""), "$0\r\n\r\n");
        assert_eq!(h.s("SELECT 0"), "+OK\r\n");
        assert_eq!(h.s("SELECT 15"), "+OK\r\n");
        assert_eq!(h.s("SELECT 16"), "-ERR DB index is out of range\r\n");
        assert_eq!(h.s("SELECT -1"), "-ERR DB index is out of range\r\n");
        assert_eq!(
            h.s("SELECT x"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            h.s("SELECT 4294967296"),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(h.s("HELLO 3"), "-NOPROTO unsupported protocol version\r\n");
        assert_eq!(h.s("HELLO 1"), "-NOPROTO unsupported protocol version\r\n");
        assert_eq!(
            h.s("HELLO x"),
            "-ERR Protocol version is not an integer or out of range\r\n"
        );
        assert_eq!(
            h.s("HELLO 2 FOO"),
            "-ERR Syntax error in HELLO option 'FOO'\r\n"
        );
        let hello = h.s("HELLO 2 SETNAME me");
        assert!(hello.starts_with("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:1\r\n"), "{hello}");
        assert!(hello.ends_with("$7\r\nmodules\r\n*0\r\n"));
        assert_eq!(h.session.name.as_deref(), Some(&b"me"[..]));
        assert_eq!(h.s("QUIT"), "+OK\r\n");
        assert!(h.session.quit);
    }

    #[test]
    fn client_pause_arguments_and_monitor_refusals() {
        let mut h = Harness::new();
        let cases = [
            ("CLIENT PAUSE", "-ERR wrong number of arguments for 'client|pause' command\r\n"),
            ("CLIENT PAUSE 10 foo", "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"),
            ("CLIENT PAUSE x foo", "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"),
            ("CLIENT PAUSE x", "-ERR timeout is not an integer or out of range\r\n"),
            ("CLIENT PAUSE 1.5 all", "-ERR timeout is not an integer or out of range\r\n"),
            ("CLIENT PAUSE -1", "-ERR timeout is negative\r\n"),
            ("client pause 1 write x", "-ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.\r\n"),
            ("CLIENT UNPAUSE x", "-ERR wrong number of arguments for 'client|unpause' command\r\n"),
            ("CLIENT UNPAUSE", "+OK\r\n"),
            ("CLIENT PAUSE 0 WRITE", "+OK\r\n"),
            ("CLIENT PAUSE 9223372036854775807", "+OK\r\n"),
            ("EXEC x", "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"),
            ("MULTI", "+OK\r\n"),
            ("MONITOR", "+QUEUED\r\n"),
            ("EXEC", "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"),
        ];
        for (cmd, want) in cases {
            assert_eq!(h.s(cmd), want, "{cmd}");
        }
        // A zero timeout, or one that wraps past the range, pauses nothing.
        assert_eq!(h.engine.pause.mode(), crate::pause::Mode::Off);
        assert_eq!(h.s("CLIENT PAUSE 1000 WRITE"), "+OK\r\n");
        assert_eq!(h.engine.pause.mode(), crate::pause::Mode::Write);
        assert_eq!(h.s("CLIENT PAUSE 10 ALL"), "+OK\r\n");
        assert_eq!(h.engine.pause.mode(), crate::pause::Mode::All);
        assert_eq!(h.engine.pause.end(), Some(1_700_000_001_000));
        assert_eq!(h.s("CLIENT UNPAUSE"), "", "ALL holds back UNPAUSE too");
        h.engine.unpause_clients();
        assert_eq!(h.engine.pause.mode(), crate::pause::Mode::Off);
    }
}
