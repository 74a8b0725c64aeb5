//! List commands.

use super::{CmdResult, Ctx, Error};
use crate::resp::Args;
use alloc::vec::Vec;

/// LPUSH (not yet implemented).
pub fn lpush(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// RPUSH (not yet implemented).
pub fn rpush(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LPUSHX (not yet implemented).
pub fn lpushx(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// RPUSHX (not yet implemented).
pub fn rpushx(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LPOP (not yet implemented).
pub fn lpop(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// RPOP (not yet implemented).
pub fn rpop(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LLEN (not yet implemented).
pub fn llen(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LINDEX (not yet implemented).
pub fn lindex(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LSET (not yet implemented).
pub fn lset(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LRANGE (not yet implemented).
pub fn lrange(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LTRIM (not yet implemented).
pub fn ltrim(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LREM (not yet implemented).
pub fn lrem(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LINSERT (not yet implemented).
pub fn linsert(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LPOS (not yet implemented).
pub fn lpos(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LMOVE (not yet implemented).
pub fn lmove(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// RPOPLPUSH (not yet implemented).
pub fn rpoplpush(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// LMPOP (not yet implemented).
pub fn lmpop(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}
