//! RESP2: the incremental request parser ([`parse`]) and the reply encoder ([`encode`]).

pub mod encode;
pub mod parse;

pub use parse::{Args, ParseError, Parsed, Parser};
