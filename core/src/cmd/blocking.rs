//! Blocking commands.

use super::{CmdResult, Ctx, Error};
use crate::resp::Args;
use alloc::vec::Vec;

/// BLPOP (not yet implemented).
pub fn blpop(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// BRPOP (not yet implemented).
pub fn brpop(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// BLMOVE (not yet implemented).
pub fn blmove(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// BRPOPLPUSH (not yet implemented).
pub fn brpoplpush(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// BLMPOP (not yet implemented).
pub fn blmpop(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// BZPOPMIN (not yet implemented).
pub fn bzpopmin(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// BZPOPMAX (not yet implemented).
pub fn bzpopmax(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}

/// BZMPOP (not yet implemented).
pub fn bzmpop(_ctx: &mut Ctx<'_>, _args: &Args<'_>, _out: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR not implemented yet"))
}
