//! TEMPORARY STUB (replaced by the real codec on merge).
#![allow(missing_docs, clippy::all)]
use crate::db::Item;
use crate::types::EncodingLimits;
use alloc::vec::Vec;

pub trait Sink {
    type Error;
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
}
impl Sink for Vec<u8> {
    type Error = core::convert::Infallible;
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}
pub struct RdbWriter<S: Sink> {
    sink: S,
}
impl<S: Sink> RdbWriter<S> {
    pub fn new(sink: S, _compress: bool, _checksum: bool) -> Self {
        RdbWriter { sink }
    }
    pub fn header(&mut self, _aux: &[(&[u8], &[u8])]) -> Result<(), S::Error> {
        self.sink.write_all(b"REDIS0010")
    }
    pub fn select_db(&mut self, _db: usize, _k: usize, _e: usize) -> Result<(), S::Error> {
        Ok(())
    }
    pub fn entry(&mut self, key: &[u8], _item: &Item) -> Result<(), S::Error> {
        self.sink.write_all(key)
    }
    pub fn finish(self) -> Result<S, S::Error> {
        Ok(self.sink)
    }
}
#[derive(Debug, Default)]
pub struct RdbError;
impl core::fmt::Display for RdbError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("stub")
    }
}
pub enum Loaded<'a> {
    Aux {
        name: &'a [u8],
        value: &'a [u8],
    },
    SelectDb(usize),
    ResizeDb {
        keys: usize,
        expires: usize,
    },
    Entry {
        key: Vec<u8>,
        item: Item,
        idle: Option<u64>,
        freq: Option<u8>,
    },
}
pub fn load(
    _bytes: &[u8],
    _limits: &EncodingLimits,
    _f: impl FnMut(Loaded<'_>) -> Result<(), RdbError>,
) -> Result<(), RdbError> {
    Ok(())
}
