//! The persistence commands: SAVE, BGSAVE, LASTSAVE, SHUTDOWN. The frontend does the
//! I/O ([`crate::persist::Storage`]); these parse, check and answer as Redis 7.0.15's
//! `saveCommand`, `bgsaveCommand`, `lastsaveCommand` and `shutdownCommand`.

use super::{CmdResult, Ctx, Error};
use crate::resp::{encode, Args};
use crate::sync::Ordering;
use alloc::vec::Vec;

/// `SAVE`: writes the snapshot now; the caller waits (other clients do not: the dispatcher
/// runs SAVE outside the worker's gate, and the snapshot is a point-in-time image).
pub fn save(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if ctx
        .engine
        .persist
        .bgsave_in_progress
        .load(Ordering::Acquire)
    {
        return Err(Error::Msg("ERR Background save already in progress"));
    }
    let Some(storage) = ctx.engine.storage() else {
        out.extend_from_slice(b"-ERR\r\n");
        return Ok(());
    };
    match storage.save() {
        Ok(()) => encode::ok(out),
        Err(_) => out.extend_from_slice(b"-ERR\r\n"),
    }
    Ok(())
}

/// `BGSAVE [SCHEDULE]`.
pub fn bgsave(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if args.get(1).eq_ignore_ascii_case(b"SCHEDULE") => true,
        _ => return Err(Error::Syntax),
    };
    let state = &ctx.engine.persist;
    if state.bgsave_in_progress.load(Ordering::Acquire) {
        return Err(Error::Msg("ERR Background save already in progress"));
    }
    if state.saving.load(Ordering::Acquire) || ctx.session.in_exec {
        // Another snapshot (a SAVE) is being written, or inside EXEC (Redis defers there).
        if schedule || ctx.session.in_exec {
            state.bgsave_scheduled.store(true, Ordering::Release);
            encode::simple(out, b"Background saving scheduled");
            return Ok(());
        }
        return Err(Error::Msg(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ));
    }
    let Some(storage) = ctx.engine.storage() else {
        out.extend_from_slice(b"-ERR\r\n");
        return Ok(());
    };
    match storage.bgsave() {
        Ok(()) => encode::simple(out, b"Background saving started"),
        Err(_) => out.extend_from_slice(b"-ERR\r\n"),
    }
    Ok(())
}

/// `LASTSAVE`: Unix time of the last successful save (the start time until then).
pub fn lastsave(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let t = ctx.engine.persist.last_save.load(Ordering::Relaxed);
    encode::int(out, i64::try_from(t).unwrap_or(i64::MAX));
    Ok(())
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: on success no reply (the connection
/// closes and the server exits, saving first when save points are configured or SAVE is
/// given, unless NOSAVE).
pub fn shutdown(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (mut nosave, mut save, mut now, mut force, mut abort) = (false, false, false, false, false);
    for a in args.iter().skip(1) {
        let is = |w: &[u8]| a.eq_ignore_ascii_case(w);
        if is(b"NOSAVE") {
            nosave = true;
        } else if is(b"SAVE") {
            save = true;
        } else if is(b"NOW") {
            now = true;
        } else if is(b"FORCE") {
            force = true;
        } else if is(b"ABORT") {
            abort = true;
        } else {
            return Err(Error::Syntax);
        }
    }
    if (abort && (nosave || save || now || force)) || (nosave && save) {
        return Err(Error::Syntax);
    }
    if abort {
        // A shutdown here never waits for replicas, so none is ever in progress.
        return Err(Error::Msg("ERR No shutdown in progress."));
    }
    if !now && ctx.session.deny_blocking {
        return Err(Error::Msg(
            "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client",
        ));
    }
    let points = !ctx.engine.config().save_points.is_empty();
    let do_save = (points && !nosave) || save;
    let Some(storage) = ctx.engine.storage() else {
        return Err(Error::Msg("ERR Errors trying to SHUTDOWN. Check logs."));
    };
    if do_save && !force && storage.check_shutdown(true).is_err() {
        return Err(Error::Msg("ERR Errors trying to SHUTDOWN. Check logs."));
    }
    storage.shutdown(do_save);
    let _ = out;
    ctx.session.quit = true;
    Ok(())
}

/// `BGREWRITEAOF`.
pub fn bgrewriteaof(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let state = &ctx.engine.persist;
    if state.aof_rewriting.load(Ordering::Acquire) {
        return Err(Error::Msg(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if state.saving.load(Ordering::Acquire) || ctx.session.in_exec {
        state.aof_rewrite_scheduled.store(true, Ordering::Release);
        encode::simple(out, b"Background append only file rewriting scheduled");
        return Ok(());
    }
    let Some(storage) = ctx.engine.storage() else {
        out.extend_from_slice(b"-ERR Can't execute an AOF background rewriting. Please check the server logs for more information.\r\n");
        return Ok(());
    };
    match storage.bgrewriteaof() {
        Ok(true) => encode::simple(out, b"Background append only file rewriting started"),
        Ok(false) => encode::simple(out, b"Background append only file rewriting scheduled"),
        Err(_) => out.extend_from_slice(b"-ERR Can't execute an AOF background rewriting. Please check the server logs for more information.\r\n"),
    }
    Ok(())
}
