//! Bitmap and string-algorithm commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO, LCS.
//!
//! SCAFFOLDING: every handler below is a stub until its family is implemented.

use super::{CmdResult, Ctx, Error};
use crate::resp::Args;
use alloc::vec::Vec;

/// `SETBIT`. SCAFFOLDING STUB: not implemented yet.
pub fn setbit(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR setbit is not implemented yet"))
}

/// `GETBIT`. SCAFFOLDING STUB: not implemented yet.
pub fn getbit(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR getbit is not implemented yet"))
}

/// `BITCOUNT`. SCAFFOLDING STUB: not implemented yet.
pub fn bitcount(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR bitcount is not implemented yet"))
}

/// `BITPOS`. SCAFFOLDING STUB: not implemented yet.
pub fn bitpos(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR bitpos is not implemented yet"))
}

/// `BITOP`. SCAFFOLDING STUB: not implemented yet.
pub fn bitop(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR bitop is not implemented yet"))
}

/// `BITFIELD`. SCAFFOLDING STUB: not implemented yet.
pub fn bitfield(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR bitfield is not implemented yet"))
}

/// `BITFIELD_RO`. SCAFFOLDING STUB: not implemented yet.
pub fn bitfield_ro(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR bitfield_ro is not implemented yet"))
}

/// `LCS`. SCAFFOLDING STUB: not implemented yet.
pub fn lcs(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR lcs is not implemented yet"))
}
