//! RESP2: the incremental request parser ([`parse`]), the reply encoder ([`encode`]) and the
//! client side: reply parser and command encoder ([`reply`]).

pub mod encode;
pub mod parse;
pub mod reply;

pub use parse::{Args, ParseError, Parsed, Parser};
