//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE,
//! SUNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB. The registry and delivery are in
//! [`crate::pubsub`]; a client's own subscriptions are in its session.

use super::{CmdResult, Ctx, Error};
use crate::pubsub::{Kind, Sub, MAX_SUBSCRIPTIONS};
use crate::resp::encode;
use crate::resp::Args;
use alloc::vec::Vec;

/// The reply to one (un)subscription: `*3 <kind> <name or nil> <count>`.
fn ack(out: &mut Vec<u8>, what: &[u8], name: Option<&[u8]>, count: usize) {
    encode::array(out, 3);
    encode::bulk(out, what);
    match name {
        Some(n) => encode::bulk(out, n),
        None => encode::nil(out),
    }
    encode::int(out, i64::try_from(count).unwrap_or(i64::MAX));
}

fn me(ctx: &Ctx<'_>) -> Sub {
    Sub {
        client: ctx.session.id,
        worker: ctx.session.worker,
        token: ctx.session.token,
    }
}

/// The count a reply of this kind carries: channels plus patterns, or shard channels.
fn count(ctx: &Ctx<'_>, kind: Kind) -> usize {
    match kind {
        Kind::Shard => ctx.session.subs.shard.len(),
        _ => ctx.session.subs.count(),
    }
}

/// Adds `name` to the client's subscriptions of `kind`; false if it was there already.
fn add(ctx: &mut Ctx<'_>, kind: Kind, name: &[u8]) -> bool {
    let s = &mut ctx.session.subs;
    match kind {
        Kind::Channel => s.channels.insert(name.to_vec()),
        Kind::Shard => s.shard.insert(name.to_vec()),
        Kind::Pattern => {
            if s.patterns.iter().any(|p| p == name) {
                false
            } else {
                s.patterns.push(name.to_vec());
                true
            }
        }
    }
}

/// Removes `name` from the client's subscriptions of `kind`; false if it was not there.
fn remove(ctx: &mut Ctx<'_>, kind: Kind, name: &[u8]) -> bool {
    let s = &mut ctx.session.subs;
    match kind {
        Kind::Channel => s.channels.remove(name),
        Kind::Shard => s.shard.remove(name),
        Kind::Pattern => match s.patterns.iter().position(|p| p == name) {
            Some(i) => {
                s.patterns.remove(i);
                true
            }
            None => false,
        },
    }
}

fn held(ctx: &Ctx<'_>, kind: Kind) -> usize {
    let s = &ctx.session.subs;
    match kind {
        Kind::Channel => s.channels.len(),
        Kind::Pattern => s.patterns.len(),
        Kind::Shard => s.shard.len(),
    }
}

fn do_subscribe(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    kind: Kind,
    what: &'static [u8],
) -> CmdResult {
    // Redis: a client that expects one reply per command cannot subscribe (inside EXEC
    // SUBSCRIBE and PSUBSCRIBE are allowed for backward compatibility, SSUBSCRIBE not).
    if ctx.session.deny_blocking && (kind == Kind::Shard || !ctx.session.in_exec) {
        return Err(Error::Msg(match kind {
            Kind::Channel => "ERR SUBSCRIBE isn't allowed for a DENY BLOCKING client",
            Kind::Pattern => "ERR PSUBSCRIBE isn't allowed for a DENY BLOCKING client",
            Kind::Shard => "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        }));
    }
    let who = me(ctx);
    for name in args.iter().skip(1) {
        if held(ctx, kind) < MAX_SUBSCRIPTIONS && add(ctx, kind, name) {
            ctx.engine.pubsub.subscribe(kind, name, who);
        }
        ack(out, what, Some(name), count(ctx, kind));
    }
    Ok(())
}

fn do_unsubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>, kind: Kind) {
    let what: &[u8] = match kind {
        Kind::Channel => b"unsubscribe",
        Kind::Pattern => b"punsubscribe",
        Kind::Shard => b"sunsubscribe",
    };
    let all: Vec<Vec<u8>>;
    let names: Vec<&[u8]> = if args.len() == 1 {
        let s = &ctx.session.subs;
        all = match kind {
            Kind::Channel => s.channels.iter().cloned().collect(),
            Kind::Pattern => s.patterns.clone(),
            Kind::Shard => s.shard.iter().cloned().collect(),
        };
        if all.is_empty() {
            ack(out, what, None, count(ctx, kind));
            return;
        }
        all.iter().map(Vec::as_slice).collect()
    } else {
        args.iter().skip(1).collect()
    };
    let id = ctx.session.id;
    // Leave the registry first: once out, no PUBLISH can post to this client any more,
    // and whatever was posted before is in this worker's mailbox; it goes out before the
    // acknowledgements (Redis would have it in the output buffer already), so no message
    // ever follows the reply that says the client is no longer subscribed.
    let mut removed = Vec::with_capacity(names.len());
    for name in &names {
        let gone = remove(ctx, kind, name);
        if gone {
            ctx.engine.pubsub.unsubscribe(kind, name, id);
        }
        removed.push(gone);
    }
    flush_mail(ctx, out);
    let mut left = count(ctx, kind) + removed.iter().filter(|&&g| g).count();
    for (name, gone) in names.iter().zip(removed) {
        if gone {
            left -= 1;
        }
        ack(out, what, Some(name), left);
    }
}

/// Appends the messages already posted to this client (see [`do_unsubscribe`]).
pub(crate) fn flush_mail(ctx: &Ctx<'_>, out: &mut Vec<u8>) {
    for m in ctx
        .engine
        .blocking
        .take_messages_for(ctx.session.worker, ctx.session.id)
    {
        // Under CLIENT REPLY OFF only pushes (pub/sub messages) go out, as in
        // `Conn::push_message`.
        if ctx.session.reply_off && !crate::pubsub::is_push(&m) {
            continue;
        }
        out.extend_from_slice(&m);
    }
}

/// `SUBSCRIBE channel [channel ...]`.
pub fn subscribe(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    do_subscribe(ctx, args, out, Kind::Channel, b"subscribe")
}

/// `PSUBSCRIBE pattern [pattern ...]`.
pub fn psubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    do_subscribe(ctx, args, out, Kind::Pattern, b"psubscribe")
}

/// `SSUBSCRIBE shardchannel [shardchannel ...]`.
pub fn ssubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    do_subscribe(ctx, args, out, Kind::Shard, b"ssubscribe")
}

/// `UNSUBSCRIBE [channel ...]`: all channels without arguments.
pub fn unsubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    do_unsubscribe(ctx, args, out, Kind::Channel);
    Ok(())
}

/// `PUNSUBSCRIBE [pattern ...]`.
pub fn punsubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    do_unsubscribe(ctx, args, out, Kind::Pattern);
    Ok(())
}

/// `SUNSUBSCRIBE [shardchannel ...]`.
pub fn sunsubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    do_unsubscribe(ctx, args, out, Kind::Shard);
    Ok(())
}

/// Drops every subscription of the session without replies (RESET).
pub fn unsubscribe_all(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) {
    if ctx.session.subs.total() == 0 {
        return;
    }
    let subs = core::mem::take(&mut ctx.session.subs);
    ctx.engine.pubsub.forget(&subs, ctx.session.id);
    flush_mail(ctx, out);
}

/// `PUBLISH channel message`: the number of receivers on all workers.
pub fn publish(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let n = ctx.engine.publish(false, args.get(1), args.get(2));
    encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
    Ok(())
}

/// `SPUBLISH shardchannel message`.
pub fn spublish(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let n = ctx.engine.publish(true, args.get(1), args.get(2));
    encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
    Ok(())
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// `PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB|HELP`.
pub fn pubsub(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let sub = args.get(1);
    let is = |s: &str| sub.eq_ignore_ascii_case(s.as_bytes());
    let n = args.len();
    let ps = &ctx.engine.pubsub;
    if is("help") {
        if n != 2 {
            return Err(Error::SubcommandArity("help"));
        }
        encode::array(out, PUBSUB_HELP.len());
        for line in PUBSUB_HELP {
            encode::simple(out, line.as_bytes());
        }
    } else if is("channels") || is("shardchannels") {
        if n > 3 {
            // Redis's addReplySubcommandSyntaxError.
            out.extend_from_slice(b"-ERR unknown subcommand or wrong number of arguments for '");
            encode::error_body(out, sub);
            out.extend_from_slice(b"'. Try PUBSUB HELP.\r\n");
            return Ok(());
        }
        let pattern = (n == 3).then(|| args.get(2));
        let list = ps.channels(is("shardchannels"), pattern);
        encode::array(out, list.len());
        for c in &list {
            encode::bulk(out, c);
        }
    } else if is("numsub") || is("shardnumsub") {
        let shard = is("shardnumsub");
        encode::array(out, (n - 2) * 2);
        for c in args.iter().skip(2) {
            encode::bulk(out, c);
            encode::int(out, i64::try_from(ps.numsub(shard, c)).unwrap_or(i64::MAX));
        }
    } else if is("numpat") {
        if n != 2 {
            return Err(Error::SubcommandArity("numpat"));
        }
        encode::int(out, i64::try_from(ps.sizes().1).unwrap_or(i64::MAX));
    } else {
        return Err(Error::UnknownSubcommand);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_line;
    use super::super::Session;
    use crate::blocking::Mail;
    use crate::cmd::testing::Harness;
    use std::string::String;
    use std::vec::Vec;

    fn session(id: usize, worker: usize, token: usize) -> Session {
        Session {
            id,
            worker,
            token,
            ..Session::default()
        }
    }

    fn messages(h: &Harness, worker: usize) -> Vec<(usize, String)> {
        h.engine
            .blocking
            .take_mail(worker)
            .into_iter()
            .filter_map(|m| match m {
                Mail::Message { client, bytes, .. } => {
                    Some((client, String::from_utf8_lossy(&bytes).into_owned()))
                }
                Mail::Reply(_) | Mail::Resume { .. } => None,
            })
            .collect()
    }

    #[test]
    fn publish_reaches_channel_and_pattern_subscribers_in_order() {
        let h = Harness::new();
        let mut a = session(10, 0, 3);
        let mut b = session(11, 0, 4);
        let mut p = session(12, 0, 5);
        let run = |s: &mut Session, l: &str| {
            String::from_utf8_lossy(&run_line(&h.engine, s, h.now, l)).into_owned()
        };
        assert_eq!(
            run(&mut a, "SUBSCRIBE ch other"),
            "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:2\r\n"
        );
        assert_eq!(
            run(&mut a, "PSUBSCRIBE c*"),
            "*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:3\r\n"
        );
        assert_eq!(
            run(&mut b, "SSUBSCRIBE ch"),
            "*3\r\n$10\r\nssubscribe\r\n$2\r\nch\r\n:1\r\n"
        );
        assert_eq!(run(&mut p, "PUBLISH ch hi"), ":2\r\n");
        assert_eq!(run(&mut p, "SPUBLISH ch s"), ":1\r\n");
        assert_eq!(run(&mut p, "PUBLISH nobody x"), ":0\r\n");
        assert_eq!(
            messages(&h, 0),
            [
                (10, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n".into()),
                (
                    10,
                    "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n".into()
                ),
                (11, "*3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$1\r\ns\r\n".into()),
            ]
        );
        assert_eq!(
            run(&mut p, "PUBSUB NUMSUB ch other none"),
            "*6\r\n$2\r\nch\r\n:1\r\n$5\r\nother\r\n:1\r\n$4\r\nnone\r\n:0\r\n"
        );
        assert_eq!(run(&mut p, "PUBSUB NUMPAT"), ":1\r\n");
        assert_eq!(run(&mut p, "PUBSUB SHARDCHANNELS"), "*1\r\n$2\r\nch\r\n");
        assert_eq!(run(&mut p, "PUBSUB CHANNELS o*"), "*1\r\n$5\r\nother\r\n");
        // Subscriber mode.
        assert!(run(&mut a, "GET x").starts_with("-ERR Can't execute 'get': only (P|S)SUBSCRIBE"));
        assert_eq!(run(&mut a, "PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(run(&mut a, "RESET"), "+RESET\r\n");
        assert_eq!(run(&mut a, "GET x"), "$-1\r\n");
        assert_eq!(run(&mut p, "PUBLISH ch hi"), ":0\r\n");
        assert_eq!(h.engine.pubsub.sizes(), (0, 0, 1));
        assert_eq!(
            run(&mut a, "UNSUBSCRIBE"),
            "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
        );
        assert_eq!(
            run(&mut b, "SUNSUBSCRIBE"),
            "*3\r\n$12\r\nsunsubscribe\r\n$2\r\nch\r\n:0\r\n"
        );
        assert!(h.engine.pubsub.is_empty());
    }

    #[test]
    fn messages_posted_before_unsubscribe_precede_its_reply() {
        let h = Harness::new();
        let mut a = session(10, 0, 3);
        let mut b = session(11, 0, 4);
        let mut p = session(12, 0, 5);
        let run = |s: &mut Session, l: &str| {
            String::from_utf8_lossy(&run_line(&h.engine, s, h.now, l)).into_owned()
        };
        run(&mut a, "SUBSCRIBE x y");
        run(&mut b, "SUBSCRIBE x");
        assert_eq!(run(&mut p, "PUBLISH x 1"), ":2\r\n");
        assert_eq!(
            run(&mut a, "UNSUBSCRIBE x y"),
            "*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$1\r\n1\r\n\
             *3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:1\r\n\
             *3\r\n$11\r\nunsubscribe\r\n$1\r\ny\r\n:0\r\n"
        );
        // b's message stays in the mailbox for the worker.
        assert_eq!(messages(&h, 0).len(), 1);
        assert_eq!(run(&mut p, "PUBLISH x 2"), ":1\r\n");
        assert_eq!(
            run(&mut b, "RESET"),
            "*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$1\r\n2\r\n+RESET\r\n"
        );
    }

    #[test]
    fn pubsub_subcommand_errors_match_redis() {
        let mut h = Harness::new();
        assert_eq!(
            h.s("PUBSUB foo"),
            "-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n"
        );
        assert_eq!(
            h.s("PUBSUB NUMPAT x"),
            "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
        );
        assert_eq!(
            h.s("PUBSUB CHANNELS a b"),
            "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
        );
        assert_eq!(h.s("PUBSUB NUMSUB"), "*0\r\n");
    }
}
