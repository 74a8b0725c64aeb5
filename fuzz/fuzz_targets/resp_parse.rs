//! The RESP request parser (`kv_core::resp::parse`) on arbitrary bytes, under small limits,
//! fed whole and then incrementally in chunk sizes the input picks. Checks: no panic;
//! every `consumed` is within the bytes given and above 0; arguments lie within the
//! request; an error is stable (parsing the same bytes again gives it again); and the
//! incremental run finds the same requests as the whole one (only where a header or an
//! inline line is over the limit may it stop earlier, with a "too big" error, as Redis's
//! own check depends on how much has arrived).
#![no_main]

use arbitrary::Arbitrary;
use kv_core::config::Limits;
use kv_core::resp::{ParseError, Parsed, Parser};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    inline_max: u8,
    bulk_max: u8,
    mbulk_max: u8,
    authenticated: bool,
    /// Chunk sizes (each 1 + n % 64), used in a cycle.
    chunks: Vec<u8>,
    data: Vec<u8>,
}

#[derive(Debug, PartialEq)]
enum Event {
    Empty(usize),
    Command(usize, Vec<Vec<u8>>),
    Error(ParseError),
}

/// Parses `data`, handing the parser `avail(n)` bytes after `n` were consumed before.
fn run(
    data: &[u8],
    limits: &Limits,
    auth: bool,
    mut next_chunk: impl FnMut() -> usize,
) -> Vec<Event> {
    let mut p = Parser::new();
    let mut events = Vec::new();
    let mut start = 0;
    let mut end = 0;
    loop {
        let buf = &data[start..end];
        match p.parse(buf, limits, auth) {
            Ok(Parsed::Incomplete) => {
                if end == data.len() {
                    return events;
                }
                end = (end + next_chunk()).min(data.len());
            }
            Ok(Parsed::Empty { consumed }) => {
                assert!(
                    consumed > 0 && consumed <= buf.len(),
                    "{consumed} of {}",
                    buf.len()
                );
                events.push(Event::Empty(consumed));
                start += consumed;
            }
            Ok(Parsed::Command { consumed }) => {
                assert!(
                    consumed > 0 && consumed <= buf.len(),
                    "{consumed} of {}",
                    buf.len()
                );
                let args = p.args(buf);
                assert!(!args.is_empty());
                let args: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
                // Multibulk arguments are borrowed: together they fit in the request.
                if buf.first() == Some(&b'*') {
                    let total: usize = args.iter().map(|a| a.len() + 2).sum();
                    assert!(total <= consumed);
                    assert!(args.iter().all(|a| a.len() <= limits.proto_max_bulk_len));
                }
                events.push(Event::Command(consumed, args));
                start += consumed;
            }
            Err(e) => {
                // Stable: the same bytes from the start give the same error.
                let mut again = Parser::new();
                assert_eq!(again.parse(buf, limits, auth), Err(e), "unstable error");
                events.push(Event::Error(e));
                return events;
            }
        }
    }
}

fn too_big(e: &Event) -> bool {
    matches!(
        e,
        Event::Error(
            ParseError::TooBigInline | ParseError::TooBigMbulkCount | ParseError::TooBigBulkCount
        )
    )
}

fuzz_target!(|input: Input| {
    let limits = Limits {
        inline_max: 1 + usize::from(input.inline_max % 64),
        proto_max_bulk_len: usize::from(input.bulk_max),
        multibulk_max: usize::from(input.mbulk_max % 32),
        args_prealloc_max: 4,
        unauth_multibulk_max: 3,
        unauth_bulk_max: 8,
        ..Limits::default()
    };
    let data = &input.data;
    let whole = run(data, &limits, input.authenticated, || data.len());
    let mut i = 0;
    let chunks = &input.chunks;
    let pieces = run(data, &limits, input.authenticated, || {
        let n = chunks.get(i % chunks.len().max(1)).copied().unwrap_or(0);
        i += 1;
        1 + usize::from(n % 64)
    });
    match pieces.last() {
        Some(last) if too_big(last) => {
            let k = pieces.len() - 1;
            assert_eq!(&pieces[..k], &whole[..k.min(whole.len())], "prefix differs");
        }
        _ => assert_eq!(pieces, whole, "incremental parse differs"),
    }
});
