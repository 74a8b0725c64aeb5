//! Replaying an append-only file's commands into the engine at start: each command runs
//! through the dispatcher as a client flagged `loader` (past the loading, MISCONF and
//! MULTI gates, recording nothing) with time stopped at the Unix epoch, so no key expires
//! while the log replays (Redis's loader does not expire keys either): the expirations
//! that happened were recorded as `DEL`. Keys whose time has passed go after the load.

use crate::cmd::{dispatch, Ctx, Session};
use crate::engine::Engine;
use crate::resp::Args;
use crate::stats::WorkerStats;
use crate::time::{Instant, Now, UnixMillis};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The client that replays an append-only file. See the module documentation.
pub struct Replayer<'a> {
    engine: &'a Engine,
    session: Session,
    stats: WorkerStats,
    out: Vec<u8>,
    /// Commands replayed.
    pub commands: usize,
}

impl<'a> Replayer<'a> {
    /// A replaying client of `engine`.
    pub fn new(engine: &'a Engine) -> Self {
        let mut session = Session::new(0);
        session.loader = true;
        // Past every worker's gate index: it shares the spare gate.
        session.worker = usize::MAX;
        Replayer {
            engine,
            session,
            stats: WorkerStats::default(),
            out: Vec::new(),
            commands: 0,
        }
    }

    /// Runs one command. An unknown command is an error (Redis refuses such a file);
    /// a command's error reply is not (Redis ignores replies while loading).
    pub fn run(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let Some(name) = args.first() else {
            return Ok(());
        };
        let mut src = Vec::with_capacity(args.iter().map(|a| a.len()).sum());
        let mut ranges = Vec::with_capacity(args.len());
        for a in args {
            let start = src.len();
            src.extend_from_slice(a);
            ranges.push((start, src.len()));
        }
        let argv = Args::new(&src, &ranges);
        let now = Now {
            mono: Instant::from_nanos(0),
            unix: UnixMillis(0),
            unix_micros: 0,
        };
        let mut ctx = Ctx {
            engine: self.engine,
            stats: &self.stats,
            now,
            session: &mut self.session,
        };
        self.out.clear();
        let (_, ran) = dispatch(&mut ctx, &argv, &mut self.out);
        if ran.is_none() && self.out.starts_with(b"-ERR unknown command") {
            return Err(format!(
                "Unknown command '{}' reading the append only file",
                String::from_utf8_lossy(name)
            ));
        }
        self.commands += 1;
        Ok(())
    }

    /// Whether the replayed file left a transaction open (MULTI without EXEC): Redis
    /// reverts it; the caller decides (the file was cut in the middle of it).
    pub fn in_multi(&self) -> bool {
        self.session.multi.is_some()
    }
}
