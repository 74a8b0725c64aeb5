//! SORT and SORT_RO over lists, sets and sorted sets.
//!
//! SCAFFOLDING: every handler below is a stub until its family is implemented.

use super::{CmdResult, Ctx, Error};
use crate::resp::Args;
use alloc::vec::Vec;

/// `SORT`. SCAFFOLDING STUB: not implemented yet.
pub fn sort(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sort is not implemented yet"))
}

/// `SORT_RO`. SCAFFOLDING STUB: not implemented yet.
pub fn sort_ro(_: &mut Ctx<'_>, _: &Args<'_>, _: &mut Vec<u8>) -> CmdResult {
    Err(Error::Msg("ERR sort_ro is not implemented yet"))
}
