//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE,
//! SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.
//!
//! SCAFFOLDING: every handler below is a stub until its family is implemented.

use super::{CmdResult, Ctx, Error};
use crate::resp::Args;
use alloc::vec::Vec;

/// `SADD`. SCAFFOLDING STUB: not implemented yet.
pub fn sadd(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sadd is not implemented yet"))
}

/// `SREM`. SCAFFOLDING STUB: not implemented yet.
pub fn srem(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR srem is not implemented yet"))
}

/// `SMEMBERS`. SCAFFOLDING STUB: not implemented yet.
pub fn smembers(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR smembers is not implemented yet"))
}

/// `SISMEMBER`. SCAFFOLDING STUB: not implemented yet.
pub fn sismember(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sismember is not implemented yet"))
}

/// `SMISMEMBER`. SCAFFOLDING STUB: not implemented yet.
pub fn smismember(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR smismember is not implemented yet"))
}

/// `SCARD`. SCAFFOLDING STUB: not implemented yet.
pub fn scard(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR scard is not implemented yet"))
}

/// `SPOP`. SCAFFOLDING STUB: not implemented yet.
pub fn spop(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR spop is not implemented yet"))
}

/// `SRANDMEMBER`. SCAFFOLDING STUB: not implemented yet.
pub fn srandmember(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR srandmember is not implemented yet"))
}

/// `SMOVE`. SCAFFOLDING STUB: not implemented yet.
pub fn smove(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR smove is not implemented yet"))
}

/// `SINTER`. SCAFFOLDING STUB: not implemented yet.
pub fn sinter(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sinter is not implemented yet"))
}

/// `SINTERCARD`. SCAFFOLDING STUB: not implemented yet.
pub fn sintercard(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sintercard is not implemented yet"))
}

/// `SINTERSTORE`. SCAFFOLDING STUB: not implemented yet.
pub fn sinterstore(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sinterstore is not implemented yet"))
}

/// `SUNION`. SCAFFOLDING STUB: not implemented yet.
pub fn sunion(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sunion is not implemented yet"))
}

/// `SUNIONSTORE`. SCAFFOLDING STUB: not implemented yet.
pub fn sunionstore(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sunionstore is not implemented yet"))
}

/// `SDIFF`. SCAFFOLDING STUB: not implemented yet.
pub fn sdiff(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sdiff is not implemented yet"))
}

/// `SDIFFSTORE`. SCAFFOLDING STUB: not implemented yet.
pub fn sdiffstore(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sdiffstore is not implemented yet"))
}

/// `SSCAN`. SCAFFOLDING STUB: not implemented yet.
pub fn sscan(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sscan is not implemented yet"))
}
