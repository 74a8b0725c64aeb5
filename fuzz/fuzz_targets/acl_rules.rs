//! The ACL rule parser (`kv_core::acl`) on arbitrary bytes. The first byte picks:
//!
//! * even: the rest as an ACL file (`parse_acl_file`, as ACL LOAD and `aclfile` read it);
//!   every user it accepts is described (ACL LIST's rules, ACL GETUSER's reply), and for
//!   printable input the description loads back as a user with the same description (what ACL SAVE then ACL
//!   LOAD does);
//! * odd: the rest as ACL SETUSER's arguments (split at spaces, at most 64), applied to a
//!   user (`Acl::set_user`, selectors merged as Redis does); an accepted user is described
//!   as above, its ACL LIST line loads back as the same user, and a few commands built from
//!   the same bytes are checked against it (ACL DRYRUN's path).
//!
//! Bit 1 of the first byte is `acl-pubsub-default` (allchannels or resetchannels).
#![no_main]

use kv_core::acl::{self, Acl, Users};
use kv_core::cmd::lookup_index;
use kv_core::resp::Args;
use libfuzzer_sys::fuzz_target;

/// The most SETUSER arguments taken from one input.
const MAX_RULES: usize = 64;

/// Every user of `users` described, and (`round_trip`) the description loaded back
/// unchanged.
fn describe_all(users: &Users, allchannels: bool, round_trip: bool) {
    let mut text = Vec::new();
    for (name, u) in users.iter() {
        let mut reply = Vec::new();
        u.getuser_reply(&mut reply);
        assert!(reply.starts_with(b"*"), "GETUSER reply is an array");
        text.extend_from_slice(b"user ");
        text.extend_from_slice(name);
        text.push(b' ');
        text.extend_from_slice(&u.describe());
        text.push(b'\n');
    }
    if !round_trip {
        return;
    }
    // A description that does not load back is Redis's behaviour too for the rules that
    // `plain` lets through (a `)` inside a selector's pattern, say); one that loads must
    // give the same users.
    let Ok(again) = acl::parse_acl_file(&text, "users.acl", allchannels) else {
        return;
    };
    // ACL LIST is what must come back (the rules as Redis describes them; a first-arg rule
    // of a command allowed whole, say, is kept inside but described by neither).
    for (name, u) in users.iter() {
        let back = again.get(name).map(|b| b.describe());
        assert!(
            back.as_deref() == Some(u.describe().as_slice()),
            "user {:?} changes through its description",
            String::from_utf8_lossy(name)
        );
    }
}

/// Whether the input is printable ASCII (lines of words) with parentheses only where
/// selectors have them (one `(` opening a word, one `)` closing one): only such rules have
/// a description that an ACL file holds (a pattern with a NUL, a control byte, a space or a
/// parenthesis of its own cannot be written to one and read back, in Redis either), so only
/// they are checked for the round trip.
fn printable(b: &[u8]) -> bool {
    b.iter().all(|&c| c == b'\n' || (b' '..=b'~').contains(&c))
        && b.split(|&c| c == b' ' || c == b'\n').all(|w| {
            let inner = w.get(1..w.len().saturating_sub(1)).unwrap_or_default();
            !inner.iter().any(|&c| c == b'(' || c == b')')
                && !w.ends_with(b"(")
                && !w.starts_with(b")")
        })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let allchannels = mode & 2 != 0;
    if mode & 1 == 0 {
        if let Ok(users) = acl::parse_acl_file(rest, "users.acl", allchannels) {
            describe_all(&users, allchannels, printable(rest));
        }
        return;
    }
    let rules: Vec<&[u8]> = rest.split(|&b| b == b' ').take(MAX_RULES).collect();
    let a = Acl::default();
    if a.set_user(b"fuzz", &rules, allchannels).is_err() {
        return;
    }
    describe_all(
        &a.snapshot(),
        allchannels,
        printable(rest) && !rest.contains(&b'\n'),
    );
    // A few commands named by the same words, each checked as the user would run it.
    for (i, name) in rules.iter().enumerate().take(8) {
        let Some((index, cmd)) = lookup_index(name) else {
            continue;
        };
        let words: Vec<&[u8]> = rules.iter().skip(i).take(6).copied().collect();
        let mut src = Vec::new();
        let mut ranges = Vec::new();
        for w in &words {
            ranges.push((src.len(), src.len() + w.len()));
            src.extend_from_slice(w);
        }
        let args = Args::new(&src, &ranges);
        if !cmd.arity_ok(args.len()) {
            continue;
        }
        let id = acl::command_id(index, &args);
        let _ = a.dry_run(b"fuzz", cmd, id, &args);
    }
});
