//! The client-side RESP reply parser (`kv_core::ReplyParser`) on arbitrary bytes, under
//! small limits the input picks, fed whole and then incrementally in chunk sizes the input
//! picks. Checks: no panic; every `consumed` is within the bytes given and above 0; each
//! reply, written back in RESP2, is exactly the bytes it was parsed from; and the
//! incremental run finds the same replies and the same error as the whole one.
#![no_main]

use arbitrary::Arbitrary;
use kv_core::{Reply, ReplyError, ReplyParser};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    depth: u8,
    bulk_max: u8,
    elements_max: u8,
    /// Chunk sizes (each 1 + n % 64), used in a cycle.
    chunks: Vec<u8>,
    data: Vec<u8>,
}

#[derive(Debug, PartialEq)]
enum Event {
    Reply(Reply, usize),
    Error(ReplyError),
}

/// Writes a reply back as RESP2 bytes (errors and statuses as they came: no CR/LF rewrite).
fn encode(out: &mut Vec<u8>, r: &Reply) {
    match r {
        Reply::Simple(s) => {
            out.push(b'+');
            out.extend_from_slice(s);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Error(s) => {
            out.push(b'-');
            out.extend_from_slice(s);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Integer(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
        Reply::Bulk(b) => {
            out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
        Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
        Reply::Array(items) => {
            out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
            for i in items {
                encode(out, i);
            }
        }
    }
}

fn parser(input: &Input) -> ReplyParser {
    ReplyParser::with_limits(
        usize::from(input.depth % 16),
        usize::from(input.bulk_max),
        usize::from(input.elements_max % 32),
    )
}

/// Parses `data`, handing the parser `next_chunk()` more bytes each time it wants more.
fn run(input: &Input, mut next_chunk: impl FnMut() -> usize) -> Vec<Event> {
    let data = &input.data;
    let mut p = parser(input);
    let mut events = Vec::new();
    let (mut start, mut end) = (0, 0);
    loop {
        let buf = &data[start..end];
        match p.parse(buf) {
            Ok(None) => {
                if end == data.len() {
                    return events;
                }
                end = (end + next_chunk()).min(data.len());
            }
            Ok(Some((reply, consumed))) => {
                assert!(
                    consumed > 0 && consumed <= buf.len(),
                    "{consumed} of {}",
                    buf.len()
                );
                let mut again = Vec::new();
                encode(&mut again, &reply);
                assert_eq!(again, &buf[..consumed], "{reply:?}");
                events.push(Event::Reply(reply, consumed));
                start += consumed;
            }
            Err(e) => {
                events.push(Event::Error(e));
                return events;
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let whole = run(&input, || input.data.len());
    let sizes: Vec<usize> = if input.chunks.is_empty() {
        vec![1]
    } else {
        input.chunks.iter().map(|&c| 1 + usize::from(c) % 64).collect()
    };
    let mut i = 0;
    let chunked = run(&input, || {
        i += 1;
        sizes[(i - 1) % sizes.len()]
    });
    assert_eq!(whole, chunked);
});
