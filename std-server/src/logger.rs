//! Logging to standard output, as redis-server logs with `logfile ""` (its default), in
//! its format: `pid:M 24 Nov 2026 11:30:26.123 * message`, with Redis's level marks (`.`
//! debug, `-` verbose, `*` notice, `#` warning) and a level filter from `--loglevel`. Tools
//! that start redis-server and read its output (Redis's own test suite waits for `PID:` and
//! `Ready to accept` there) find the same lines.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

struct StdoutLogger;

static LOGGER: StdoutLogger = StdoutLogger;

fn filter(level: &str) -> LevelFilter {
    match level {
        "debug" => LevelFilter::Trace,
        "verbose" => LevelFilter::Debug,
        "warning" => LevelFilter::Warn,
        _ => LevelFilter::Info,
    }
}

/// Installs the logger; `level` is a Redis log level name.
pub fn init(level: &str) {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(filter(level));
    }
}

/// Changes the level filter (CONFIG SET loglevel).
pub fn set_level(level: &str) {
    log::set_max_level(filter(level));
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Formats Unix milliseconds as Redis does: `24 Nov 2026 11:30:26.123`.
pub fn timestamp(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let month = MONTHS.get(m as usize - 1).copied().unwrap_or("???");
    format!(
        "{d:02} {month} {y} {:02}:{:02}:{:02}.{:03}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

impl Log for StdoutLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mark = match record.level() {
            Level::Error | Level::Warn => '#',
            Level::Info => '*',
            Level::Debug => '-',
            Level::Trace => '.',
        };
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let line = format!(
            "{}:M {} {} {}\n",
            std::process::id(),
            timestamp(ms),
            mark,
            record.args()
        );
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn redis_style_timestamps() {
        assert_eq!(super::timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(
            super::timestamp(1_795_001_426_123),
            "18 Nov 2026 11:30:26.123"
        );
        assert_eq!(
            super::timestamp(951_782_400_000),
            "29 Feb 2000 00:00:00.000"
        );
    }
}
