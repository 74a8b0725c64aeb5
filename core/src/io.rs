//! The [`Socket`] trait: how the engine reads and writes a connection's bytes, without
//! knowing about mio, std or any operating system.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Why a socket operation did not transfer bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoError {
    /// Nothing can be transferred now; the driver will report readiness later.
    WouldBlock,
    /// The peer closed the connection, or the socket failed for good.
    Closed,
}

/// A non-blocking byte stream.
pub trait Socket {
    /// Reads into `buf`; returns a count > 0, or an error. End of stream is
    /// `Err(IoError::Closed)`, never `Ok(0)` (unless `buf` is empty).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError>;
    /// Writes from `buf`; returns how many bytes were taken (> 0 unless `buf` is empty).
    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError>;
    /// Pushes out bytes that [`Socket::write`] took but the socket itself still holds (a
    /// TLS session's encrypted records): `Ok` once none is left, `WouldBlock` while some
    /// are (the driver reports writability later). The worker calls it whenever the
    /// connection's output is empty and waits for it before it closes a connection, so a
    /// socket with its own buffer loses no reply. A plain socket holds nothing.
    fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}

/// An in-memory socket for tests and simulations: the test pushes input and takes output.
#[derive(Debug, Default)]
pub struct MemSocket {
    /// Bytes waiting to be read by the engine.
    pub input: VecDeque<u8>,
    /// Bytes the engine wrote.
    pub output: Vec<u8>,
    /// When set, reads past the end of `input` report `Closed` instead of `WouldBlock`.
    pub eof: bool,
    /// The most bytes one `read` returns (0 = no limit), to exercise split input.
    pub max_read: usize,
    /// The most bytes one `write` takes (0 = no limit), to exercise partial writes.
    pub max_write: usize,
    /// When set, writes report `WouldBlock` once `output` holds this many bytes: a client
    /// that stops reading.
    pub output_cap: Option<usize>,
}

impl Socket for MemSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        if self.input.is_empty() {
            return Err(if self.eof {
                IoError::Closed
            } else {
                IoError::WouldBlock
            });
        }
        let mut n = buf.len().min(self.input.len());
        if self.max_read > 0 {
            n = n.min(self.max_read);
        }
        for (dst, src) in buf.iter_mut().zip(self.input.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        let mut n = buf.len();
        if let Some(cap) = self.output_cap {
            n = n.min(cap.saturating_sub(self.output.len()));
            if n == 0 && !buf.is_empty() {
                return Err(IoError::WouldBlock);
            }
        }
        if self.max_write > 0 {
            n = n.min(self.max_write);
        }
        self.output.extend_from_slice(buf.get(..n).unwrap_or(buf));
        Ok(n)
    }
}
