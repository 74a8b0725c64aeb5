//! Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS,
//! HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! SCAFFOLDING: every handler below is a stub until its family is implemented.

use super::{CmdResult, Ctx, Error};
use crate::resp::Args;
use alloc::vec::Vec;

/// `HSET`. SCAFFOLDING STUB: not implemented yet.
pub fn hset(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hset is not implemented yet"))
}

/// `HSETNX`. SCAFFOLDING STUB: not implemented yet.
pub fn hsetnx(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hsetnx is not implemented yet"))
}

/// `HMSET`. SCAFFOLDING STUB: not implemented yet.
pub fn hmset(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hmset is not implemented yet"))
}

/// `HGET`. SCAFFOLDING STUB: not implemented yet.
pub fn hget(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hget is not implemented yet"))
}

/// `HMGET`. SCAFFOLDING STUB: not implemented yet.
pub fn hmget(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hmget is not implemented yet"))
}

/// `HDEL`. SCAFFOLDING STUB: not implemented yet.
pub fn hdel(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hdel is not implemented yet"))
}

/// `HLEN`. SCAFFOLDING STUB: not implemented yet.
pub fn hlen(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hlen is not implemented yet"))
}

/// `HSTRLEN`. SCAFFOLDING STUB: not implemented yet.
pub fn hstrlen(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hstrlen is not implemented yet"))
}

/// `HEXISTS`. SCAFFOLDING STUB: not implemented yet.
pub fn hexists(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hexists is not implemented yet"))
}

/// `HKEYS`. SCAFFOLDING STUB: not implemented yet.
pub fn hkeys(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hkeys is not implemented yet"))
}

/// `HVALS`. SCAFFOLDING STUB: not implemented yet.
pub fn hvals(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hvals is not implemented yet"))
}

/// `HGETALL`. SCAFFOLDING STUB: not implemented yet.
pub fn hgetall(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hgetall is not implemented yet"))
}

/// `HINCRBY`. SCAFFOLDING STUB: not implemented yet.
pub fn hincrby(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hincrby is not implemented yet"))
}

/// `HINCRBYFLOAT`. SCAFFOLDING STUB: not implemented yet.
pub fn hincrbyfloat(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hincrbyfloat is not implemented yet"))
}

/// `HRANDFIELD`. SCAFFOLDING STUB: not implemented yet.
pub fn hrandfield(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hrandfield is not implemented yet"))
}

/// `HSCAN`. SCAFFOLDING STUB: not implemented yet.
pub fn hscan(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR hscan is not implemented yet"))
}
