//! Keyspace commands: DEL, EXISTS, DBSIZE, FLUSHDB, FLUSHALL.

use super::{CmdResult, Ctx, Error};
use crate::resp::{encode, Args};
use alloc::vec::Vec;

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `DEL key [key ...]`: how many existed.
pub fn del(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let db = &ctx.engine.db;
    let n = args
        .iter()
        .skip(1)
        .filter(|k| db.remove(k, ctx.now.unix))
        .count();
    encode::int(out, count(n));
    Ok(())
}

/// `EXISTS key [key ...]`: how many of the arguments exist (repeats count again).
pub fn exists(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let db = &ctx.engine.db;
    let n = args
        .iter()
        .skip(1)
        .filter(|k| db.exists(k, ctx.now.unix))
        .count();
    encode::int(out, count(n));
    Ok(())
}

/// `DBSIZE`.
pub fn dbsize(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    encode::int(out, count(ctx.engine.db.len()));
    Ok(())
}

/// The optional `ASYNC | SYNC` of FLUSHDB and FLUSHALL (both flush synchronously here).
fn flush_mode(args: &Args<'_>) -> Result<(), Error> {
    match args.len() {
        1 => Ok(()),
        2 if args.get(1).eq_ignore_ascii_case(b"ASYNC")
            || args.get(1).eq_ignore_ascii_case(b"SYNC") =>
        {
            Ok(())
        }
        _ => Err(Error::Syntax),
    }
}

/// `FLUSHDB [ASYNC | SYNC]`.
pub fn flushdb(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    flush_mode(args)?;
    ctx.engine.db.clear();
    encode::ok(out);
    Ok(())
}

/// `FLUSHALL [ASYNC | SYNC]`: the same as FLUSHDB while there is one database.
pub fn flushall(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    flushdb(ctx, args, out)
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    #[test]
    fn keyspace_commands() {
        let mut h = Harness::new();
        h.run("SET a 1");
        h.run("SET b 2");
        assert_eq!(h.s("EXISTS a a b c"), ":3\r\n");
        assert_eq!(h.s("DBSIZE"), ":2\r\n");
        assert_eq!(h.s("DEL a a c"), ":1\r\n");
        assert_eq!(h.s("FLUSHDB BOTH"), "-ERR syntax error\r\n");
        assert_eq!(h.s("FLUSHDB ASYNC x"), "-ERR syntax error\r\n");
        assert_eq!(h.s("FLUSHALL sync"), "+OK\r\n");
        assert_eq!(h.s("DBSIZE"), ":0\r\n");
        assert_eq!(
            h.s("DBSIZE x"),
            "-ERR wrong number of arguments for 'dbsize' command\r\n"
        );
    }
}
