//! The ACL command family (`ACL SETUSER`, `GETUSER`, `DELUSER`, `LIST`, `USERS`, `WHOAMI`,
//! `CAT`, `GENPASS`, `DRYRUN`, `LOG`, `LOAD`, `SAVE`, `HELP`) and the permission check the
//! dispatcher runs before every command of a client that is not the unrestricted default
//! user (`check`). Users live in [`crate::acl`].

use super::{CmdResult, Ctx, Error, Flow};
use crate::acl::{Denied, LogEntry};
use crate::resp::{encode, Args};
use alloc::vec::Vec;

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

/// The subcommands with their Redis arity.
const SUBS: &[(&str, i32)] = &[
    ("cat", -2),
    ("deluser", -3),
    ("dryrun", -4),
    ("genpass", -2),
    ("getuser", 3),
    ("help", 2),
    ("list", 2),
    ("load", 2),
    ("log", -2),
    ("save", 2),
    ("setuser", -3),
    ("users", 2),
    ("whoami", 2),
];

/// Most bits ACL GENPASS makes (Redis's `GENPASS_MAX_BITS`).
const GENPASS_MAX_BITS: i64 = 4096;

/// Adds an ACL LOG entry for this client: `reason`, `object`, and the user (`username`, or
/// the client's).
pub(crate) fn log_denial(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    reason: Denied,
    object: &[u8],
    username: Option<&[u8]>,
) {
    let mut client_info = Vec::new();
    if let Some(e) = ctx
        .engine
        .clients
        .list()
        .into_iter()
        .find(|e| e.id == ctx.session.id)
    {
        super::connection::client_line(ctx, &e, args, &mut client_info);
        if client_info.last() == Some(&b'\n') {
            client_info.pop();
        }
    }
    let username = username
        .map(<[u8]>::to_vec)
        .or_else(|| ctx.session.user.clone())
        .unwrap_or_else(|| b"default".to_vec());
    ctx.engine.acl.log(LogEntry {
        count: 1,
        reason,
        multi: ctx.session.multi.is_some() || ctx.session.in_exec,
        object: object.to_vec(),
        username,
        ctime: ctx.now.unix.0,
        client_info,
    });
}

/// The ACL check of processCommand (after the authentication check), for a client that
/// is not the unrestricted default user: `Some` when the command is refused (the reply is
/// written) or the client's user is gone (the connection closes).
#[cold]
#[inline(never)]
pub(crate) fn check(
    ctx: &mut Ctx<'_>,
    (index, cmd): (usize, &super::Command),
    args: &Args<'_>,
    out: &mut Vec<u8>,
) -> Option<(Flow, Option<usize>)> {
    let id = crate::acl::command_id(index, args);
    let denied = match ctx
        .engine
        .acl
        .check(ctx.session.user.as_deref(), cmd, id, args)
    {
        Ok(()) => return None,
        // Deleted: Redis would have closed the connection already.
        Err(None) => return Some((Flow::CloseSilently, None)),
        Err(Some(d)) => d,
    };
    let name = crate::acl::command_name(id);
    let object = match denied.0 {
        Denied::Command => name.as_bytes(),
        _ => args.get(denied.1),
    };
    log_denial(ctx, args, denied.0, object, None);
    let msg: &[&[u8]] = match denied.0 {
        Denied::Command => &[
            b"this user has no permissions to run the '",
            name.as_bytes(),
            b"' command",
        ],
        Denied::Key => {
            &[b"this user has no permissions to access one of the keys used as arguments"]
        }
        Denied::Channel => {
            &[b"this user has no permissions to access one of the channels used as arguments"]
        }
        Denied::Auth => &[b"no permission"],
    };
    Some(super::reject_with(
        ctx,
        (index, cmd),
        args,
        out,
        b"NOPERM ",
        msg,
    ))
}

/// EXEC's second look at a queued command (Redis's `execCommand`): the rules may have
/// changed since it was queued. `true` when it may run; otherwise the error is written.
pub(crate) fn exec_allows(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> bool {
    if ctx.session.user.is_none() && ctx.engine.acl.open() {
        return true;
    }
    let Some((index, cmd)) = super::lookup_index(args.get(0)) else {
        return true;
    };
    let id = crate::acl::command_id(index, args);
    let denied = match ctx
        .engine
        .acl
        .check(ctx.session.user.as_deref(), cmd, id, args)
    {
        Ok(()) => return true,
        Err(d) => d.unwrap_or((Denied::Command, 0)),
    };
    let name = crate::acl::command_name(id);
    let object = match denied.0 {
        Denied::Command => name.as_bytes(),
        _ => args.get(denied.1),
    };
    log_denial(ctx, args, denied.0, object, None);
    out.extend_from_slice(b"-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ");
    out.extend_from_slice(match denied.0 {
        Denied::Command => b"no permission to execute the command or subcommand",
        Denied::Key => b"no permission to touch the specified keys",
        Denied::Channel => b"no permission to access one of the channels used as arguments",
        Denied::Auth => b"no permission",
    });
    out.extend_from_slice(b"\r\n");
    false
}

/// `ACL <subcommand> ...`.
pub fn acl(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    let Some(&(name, arity)) = SUBS
        .iter()
        .find(|(n, _)| sub.eq_ignore_ascii_case(n.as_bytes()))
    else {
        return Err(Error::UnknownSubcommand);
    };
    let n = args.len();
    let arity_ok = if arity >= 0 {
        n == arity as usize
    } else {
        n >= arity.unsigned_abs() as usize
    };
    if !arity_ok {
        return Err(Error::SubcommandArity(name));
    }
    match name {
        "setuser" => setuser(ctx, args, out),
        "deluser" => deluser(ctx, args, out),
        "getuser" => {
            if !ctx.engine.acl.getuser(args.get(2), out) {
                encode::nil(out);
            }
            Ok(())
        }
        "list" | "users" => {
            let lines = if name == "list" {
                ctx.engine.acl.list()
            } else {
                ctx.engine.acl.names()
            };
            encode::array(out, lines.len());
            lines.iter().for_each(|l| encode::bulk(out, l));
            Ok(())
        }
        "whoami" => {
            encode::bulk(out, ctx.session.user.as_deref().unwrap_or(b"default"));
            Ok(())
        }
        "load" | "save" if ctx.engine.config().aclfile.is_empty() => Err(Error::Msg("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.")),
        "load" => load(ctx, out),
        "save" => save(ctx, out),
        "cat" => cat(args, out),
        "genpass" => genpass(ctx, args, out),
        "log" => log(ctx, args, out),
        "dryrun" => dryrun(ctx, args, out),
        _ => {
            encode::array(out, HELP.len());
            HELP.iter().for_each(|l| encode::simple(out, l.as_bytes()));
            Ok(())
        }
    }
    .or_else(|e| match e {
        Error::Syntax if name == "cat" || name == "genpass" || name == "log" => {
            super::connection::subcommand_syntax_error(args, out);
            Ok(())
        }
        e => Err(e),
    })
}

fn setuser(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let user = args.get(2);
    if user
        .iter()
        .any(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0))
    {
        return Err(Error::Msg(
            "ERR Usernames can't contain spaces or null characters",
        ));
    }
    let rules: Vec<&[u8]> = (3..args.len()).map(|i| args.get(i)).collect();
    let all = ctx.engine.config().acl_pubsub_default_all;
    let before = ctx.engine.acl.user(user);
    match ctx.engine.acl.set_user(user, &rules, all) {
        Ok(()) => {
            let after = ctx.engine.acl.user(user);
            if let (Some(old), Some(new)) = (before, after) {
                if let Some(allowed) = new.lost_channels(&old) {
                    kill_subscribers_outside(ctx, user, &allowed);
                }
            }
            encode::ok(out)
        }
        Err(m) => {
            out.extend_from_slice(b"-ERR ");
            encode::error_body(out, &m);
            out.extend_from_slice(b"\r\n");
        }
    }
    Ok(())
}

/// Closes the clients of `user` subscribed to a channel no pattern of `allowed` matches
/// (or to a pattern not in `allowed` as such), as Redis does when ACL SETUSER takes channel
/// permissions away.
#[inline(never)]
fn kill_subscribers_outside(ctx: &mut Ctx<'_>, user: &[u8], allowed: &[Vec<u8>]) {
    use crate::pubsub::Kind;
    for e in ctx.engine.clients.list() {
        if super::connection::client_user(ctx, &e) != user {
            continue;
        }
        let violates = ctx
            .engine
            .pubsub
            .client_subscriptions(e.id)
            .iter()
            .any(|(kind, name)| match kind {
                Kind::Pattern => !allowed.contains(name),
                Kind::Channel | Kind::Shard => {
                    !allowed.iter().any(|p| crate::glob::matches(p, name, false))
                }
            });
        if violates {
            super::connection::kill_one(ctx, &e);
        }
    }
}

fn deluser(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if (2..args.len()).any(|i| args.get(i) == b"default") {
        return Err(Error::Msg("ERR The 'default' user cannot be removed"));
    }
    let mut deleted = 0;
    for i in 2..args.len() {
        if ctx.engine.acl.delete(args.get(i)) {
            deleted += 1;
            super::connection::kill_user_clients(ctx, args.get(i));
        }
    }
    encode::int(out, deleted);
    Ok(())
}

fn cat(args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    match args.len() {
        2 => {
            encode::array(out, crate::cmd::CATEGORY_NAMES.len());
            (0..crate::cmd::CATEGORY_NAMES.len())
                .for_each(|j| encode::bulk(out, crate::acl::category_name(j)));
            Ok(())
        }
        3 => {
            let Some(names) = crate::acl::category_commands(args.get(2)) else {
                out.extend_from_slice(b"-ERR Unknown category '");
                encode::error_body(out, super::c_str_prefix(args.get(2), 128));
                out.extend_from_slice(b"'\r\n");
                return Ok(());
            };
            encode::array(out, names.len());
            names.iter().for_each(|n| encode::bulk(out, n.as_bytes()));
            Ok(())
        }
        _ => Err(Error::Syntax),
    }
}

fn genpass(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let bits = match args.len() {
        2 => 256,
        3 => super::arg_i64(args.get(2))?,
        _ => return Err(Error::Syntax),
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Err(Error::Msg("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"));
    }
    let chars = usize::try_from((bits + 3) / 4).unwrap_or(0);
    let mut hex = Vec::with_capacity(chars + 64);
    let mut block = 0u64;
    while hex.len() < chars {
        let mut seed = Vec::with_capacity(64);
        seed.extend_from_slice(ctx.engine.replid().as_bytes());
        seed.extend_from_slice(&ctx.session.next_random().to_le_bytes());
        seed.extend_from_slice(&ctx.now.unix_micros.to_le_bytes());
        seed.extend_from_slice(&block.to_le_bytes());
        hex.extend_from_slice(&crate::acl::hash_password(&seed));
        block += 1;
    }
    hex.truncate(chars);
    encode::bulk(out, &hex);
    Ok(())
}

fn log(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let mut count = 10i64;
    match args.len() {
        2 => {}
        3 => {
            if args.get(2).eq_ignore_ascii_case(b"reset") {
                ctx.engine.acl.log_reset();
                encode::ok(out);
                return Ok(());
            }
            count = super::arg_i64(args.get(2))?.max(0);
        }
        _ => return Err(Error::Syntax),
    }
    let entries = ctx
        .engine
        .acl
        .log_entries(usize::try_from(count).unwrap_or(usize::MAX));
    encode::array(out, entries.len());
    for e in entries {
        let reason: &[u8] = match e.reason {
            Denied::Command => b"command",
            Denied::Key => b"key",
            Denied::Channel => b"channel",
            Denied::Auth => b"auth",
        };
        let age = crate::num::fmt_double((ctx.now.unix.0 - e.ctime) as f64 / 1000.0);
        let count = i64::try_from(e.count).unwrap_or(i64::MAX);
        encode::array(out, 14);
        encode::bulk(out, b"count");
        encode::int(out, count);
        let context: &[u8] = if e.multi { b"multi" } else { b"toplevel" };
        crate::acl::bulks(
            out,
            &[
                b"reason",
                reason,
                b"context",
                context,
                b"object",
                &e.object,
                b"username",
                &e.username,
                b"age-seconds",
                age.as_bytes(),
                b"client-info",
                &e.client_info,
            ],
        );
    }
    Ok(())
}

fn dryrun(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let user = args.get(2);
    if !ctx.engine.acl.exists(user) {
        out.extend_from_slice(b"-ERR User '");
        encode::error_body(out, super::c_str_prefix(user, usize::MAX));
        out.extend_from_slice(b"' not found\r\n");
        return Ok(());
    }
    let sub = args.skip(3);
    let found = super::lookup_index(sub.get(0));
    let id = found.map(|(i, _)| crate::acl::command_id(i, &sub));
    let known = match (found, id) {
        (Some((i, c)), Some(id)) => {
            // A container whose subcommand is unknown is no command (lookupCommand).
            let container = crate::acl::has_subcommands(i);
            (!container || sub.len() < 2 || id != i).then_some((c, id))
        }
        _ => None,
    };
    let Some((cmd, id)) = known else {
        out.extend_from_slice(b"-ERR Command '");
        encode::error_body(out, super::c_str_prefix(sub.get(0), usize::MAX));
        out.extend_from_slice(b"' not found\r\n");
        return Ok(());
    };
    let name = crate::acl::command_name(id);
    let arity = crate::acl::arity(id).unwrap_or(cmd.arity);
    let n = i64::try_from(sub.len()).unwrap_or(i64::MAX);
    if (arity > 0 && i64::from(arity) != n) || n < -i64::from(arity) {
        out.extend_from_slice(b"-ERR wrong number of arguments for '");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"' command\r\n");
        return Ok(());
    }
    match ctx.engine.acl.dry_run(user, cmd, id, &sub) {
        None | Some(Ok(())) => encode::ok(out),
        Some(Err((why, pos))) => {
            let mut m = Vec::new();
            match why {
                Denied::Command => {
                    m.extend_from_slice(b"This user has no permissions to run the '");
                    m.extend_from_slice(name.as_bytes());
                    m.extend_from_slice(b"' command");
                }
                Denied::Key | Denied::Auth => {
                    m.extend_from_slice(b"This user has no permissions to access the '");
                    m.extend_from_slice(sub.get(pos));
                    m.extend_from_slice(b"' key");
                }
                Denied::Channel => {
                    m.extend_from_slice(b"This user has no permissions to access the '");
                    m.extend_from_slice(sub.get(pos));
                    m.extend_from_slice(b"' channel");
                }
            }
            encode::bulk(out, &m);
        }
    }
    Ok(())
}

fn load(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> CmdResult {
    let Some(storage) = ctx.engine.storage() else {
        return Err(Error::Msg("ERR ACL file unavailable"));
    };
    let text = match storage.acl_read() {
        Ok(t) => t,
        Err(e) => {
            out.extend_from_slice(b"-ERR ");
            encode::error_body(out, e.as_bytes());
            out.extend_from_slice(b"\r\n");
            return Ok(());
        }
    };
    match ctx.engine.acl_load_text(&text) {
        Ok(gone) => {
            for u in gone {
                super::connection::kill_user_clients(ctx, &u);
            }
            encode::ok(out);
        }
        Err(m) => {
            out.extend_from_slice(b"-ERR ");
            encode::error_body(out, &m);
            out.extend_from_slice(b"\r\n");
        }
    }
    Ok(())
}

fn save(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> CmdResult {
    let mut text = Vec::new();
    for l in ctx.engine.acl.list() {
        text.extend_from_slice(&l);
        text.push(b'\n');
    }
    let ok = ctx
        .engine
        .storage()
        .is_some_and(|s| s.acl_write(&text).is_ok());
    if !ok {
        return Err(Error::Msg("ERR There was an error trying to save the ACLs. Please check the server logs for more information"));
    }
    encode::ok(out);
    Ok(())
}

/// A command's arguments rebuilt: the bytes and each argument's range in them.
pub(crate) type OwnedArgs = (Vec<u8>, Vec<(usize, usize)>);

/// AUTH's and HELLO AUTH's arguments as monitors see them: the passwords (and HELLO's user
/// name) replaced by `(redacted)`, as Redis's `redactClientCommandArgument`. `None` for
/// every other command.
pub(crate) fn redacted(cmd: &super::Command, args: &Args<'_>) -> Option<OwnedArgs> {
    let hide: Vec<usize> = match cmd.name {
        "auth" => (1..args.len()).collect(),
        "hello" => {
            let mut h = Vec::new();
            let mut j = 2;
            while j < args.len() {
                let more = args.len() - 1 - j;
                if args.get(j).eq_ignore_ascii_case(b"AUTH") && more >= 2 {
                    h.extend([j + 1, j + 2]);
                    j += 3;
                } else if args.get(j).eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
            if h.is_empty() {
                return None;
            }
            h
        }
        _ => return None,
    };
    let (mut src, mut ranges) = (Vec::new(), Vec::new());
    for (i, a) in args.iter().enumerate() {
        let a: &[u8] = if hide.contains(&i) { b"(redacted)" } else { a };
        ranges.push((src.len(), src.len() + a.len()));
        src.extend_from_slice(a);
    }
    Some((src, ranges))
}
