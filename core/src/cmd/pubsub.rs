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
    for name in names {
        if remove(ctx, kind, name) {
            ctx.engine.pubsub.unsubscribe(kind, name, id);
        }
        ack(out, what, Some(name), count(ctx, kind));
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
pub fn unsubscribe_all(ctx: &mut Ctx<'_>) {
    let subs = core::mem::take(&mut ctx.session.subs);
    ctx.engine.pubsub.forget(&subs, ctx.session.id);
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
