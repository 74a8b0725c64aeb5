//! Users and permissions: Redis 7.0's ACL.
//!
//! [`Acl`] holds the users (the `default` user always exists: on, nopass, `~* &* +@all`
//! until `requirepass`, a `user` line or ACL SETUSER says otherwise), checks each command
//! once before it runs ([`Acl::check`]: its command bit, its keys, its channels, as Redis's
//! `ACLCheckAllUserCommandPerm`) and keeps the ACL LOG. Command categories come from the
//! command table's metadata ([`crate::cmd::Command::categories`] and the subcommands of
//! [`crate::cmd::meta`]); key positions from [`crate::cmd::Command::key_positions`].
//! Passwords are kept as SHA-256 digests ([`sha256`]) and compared in constant time.
//!
//! The default user with every permission costs one relaxed load per command
//! ([`Acl::open`]).

use crate::cmd::{Command, CATEGORY_NAMES, COMMANDS};
use crate::resp::Args;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, Once, Ordering, RwLock};
use alloc::string::String;
use alloc::vec::Vec;

// ---------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4)
// ---------------------------------------------------------------------------------------

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// One 64-byte block into the state.
fn sha256_block(h: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 64];
    for (slot, c) in w.iter_mut().zip(block.chunks_exact(4)) {
        *slot = u32::from_be_bytes(c.try_into().unwrap_or([0; 4]));
    }
    let at = |w: &[u32; 64], i: usize| w.get(i).copied().unwrap_or(0);
    for i in 16..64 {
        let (w15, w2) = (at(&w, i - 15), at(&w, i - 2));
        let s0 = w15.rotate_right(7) ^ w15.rotate_right(18) ^ (w15 >> 3);
        let s1 = w2.rotate_right(17) ^ w2.rotate_right(19) ^ (w2 >> 10);
        let v = at(&w, i - 16)
            .wrapping_add(s0)
            .wrapping_add(at(&w, i - 7))
            .wrapping_add(s1);
        if let Some(x) = w.get_mut(i) {
            *x = v;
        }
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
    for (k, wi) in K.iter().zip(w.iter()) {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(*k)
            .wrapping_add(*wi);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        hh = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (x, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
        *x = x.wrapping_add(v);
    }
}

/// The SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut blocks = data.chunks_exact(64);
    for b in &mut blocks {
        sha256_block(&mut h, b);
    }
    let mut tail = Vec::with_capacity(128);
    tail.extend_from_slice(blocks.remainder());
    tail.push(0x80);
    while tail.len() % 64 != 56 {
        tail.push(0);
    }
    tail.extend_from_slice(&(data.len() as u64).wrapping_mul(8).to_be_bytes());
    for b in tail.chunks_exact(64) {
        sha256_block(&mut h, b);
    }
    let mut out = [0u8; 32];
    for (o, v) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&v.to_be_bytes());
    }
    out
}

/// A password's digest as Redis keeps it: 64 lowercase hex digits.
pub fn hash_password(pass: &[u8]) -> [u8; 64] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (o, b) in out.chunks_exact_mut(2).zip(sha256(pass)) {
        let digit = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
        o.copy_from_slice(&[digit(b >> 4), digit(b & 15)]);
    }
    out
}

/// Whether `a` and `b` are equal, in time independent of where they differ (Redis's
/// `time_independent_strcmp` over the hex digests).
fn same_digest(a: &[u8; 64], b: &[u8; 64]) -> bool {
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

// ---------------------------------------------------------------------------------------
// Commands, subcommands and categories
// ---------------------------------------------------------------------------------------

/// The name of category `j` (bit `1 << j` of [`crate::cmd::CATEGORY_NAMES`], Redis 7.0's
/// order, as ACL CAT lists them) without its `@`.
pub fn category_name(j: usize) -> &'static [u8] {
    CATEGORY_NAMES
        .get(j)
        .map_or(&[][..], |c| c.as_bytes().get(1..).unwrap_or_default())
}

/// The category bit of `name` (without `@`, case-insensitive), if it is one.
fn category_bit(name: &[u8]) -> Option<u32> {
    (0..CATEGORY_NAMES.len())
        .position(|j| category_name(j).eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// The category bits of COMMAND INFO's list (`@read`, ...).
fn category_bits<'a>(names: impl Iterator<Item = &'a [u8]>) -> u32 {
    names
        .filter_map(|n| category_bit(n.strip_prefix(b"@").unwrap_or(n)))
        .fold(0, |a, b| a | b)
}

/// One command or subcommand as the ACL sees it: an id (its index in [`registry`]).
#[derive(Debug)]
pub struct AclCommand {
    /// `get`, `client|list`.
    pub name: String,
    /// Category bits ([`CATEGORY_NAMES`] order).
    cats: u32,
    /// Redis's arity.
    arity: i32,
    /// The container's id, for a subcommand.
    parent: Option<usize>,
    /// The subcommands' ids, for a container.
    subs: core::ops::Range<usize>,
}

/// Bits of the per-selector command bitmap: enough for every command and subcommand,
/// plus Redis's reserved last bit ("future commands", set only by `+@all`).
const WORDS: usize = 16;
const FUTURE_BIT: usize = WORDS * 64 - 1;

static REGISTRY: Once<Vec<AclCommand>> = Once::new();

/// Redis 7.0.15's commands and subcommands that mini-kv lacks, as `name:category-bits`
/// (hex, [`CATEGORY_NAMES`] order; a container's subcommands follow it), generated from
/// redis-server's COMMAND by `ci/gen_acl_redis_only.py`: rules may name them (`+geoadd`), ACL CAT lists them, and ACL
/// LIST fits categories over the same set of commands as Redis.
const REDIS_ONLY: &str =
    "asking:44000 cluster:8000 cluster|addslots:2a000 cluster|addslotsrange:2a000 \
    cluster|bumpepoch:2a000 cluster|count-failure-reports:2a000 \
    cluster|countkeysinslot:8000 cluster|delslots:2a000 cluster|delslotsrange:2a000 \
    cluster|failover:2a000 cluster|flushslots:2a000 cluster|forget:2a000 \
    cluster|getkeysinslot:8000 cluster|help:8000 cluster|info:8000 cluster|keyslot:8000 \
    cluster|links:8000 cluster|meet:2a000 cluster|myid:8000 cluster|nodes:8000 \
    cluster|replicas:2a000 cluster|replicate:2a000 cluster|reset:2a000 \
    cluster|saveconfig:2a000 cluster|set-config-epoch:2a000 cluster|setslot:2a000 \
    cluster|shards:8000 cluster|slaves:2a000 cluster|slots:8000 debug:2a000 failover:2a000 \
    geoadd:8404 geodist:8402 geohash:8402 geopos:8402 georadius:8404 georadius_ro:8402 \
    georadiusbymember:8404 georadiusbymember_ro:8402 geosearch:8402 geosearchstore:8404 \
    lolwut:4002 migrate:28005 module:8000 module|help:8000 module|list:2a000 \
    module|load:2a000 module|loadex:2a000 module|unload:2a000 pfadd:4204 pfcount:8202 \
    pfdebug:2a204 pfmerge:8204 pfselftest:2a200 psync:2a000 readonly:44000 readwrite:44000 \
    replconf:2a000 replicaof:2a000 restore-asking:28005 role:26000 slaveof:2a000 \
    sync:2a000 wait:48000 xack:4804 xadd:4804 xautoclaim:4804 xclaim:4804 xdel:4804 \
    xgroup:8000 xgroup|create:8804 xgroup|createconsumer:8804 xgroup|delconsumer:8804 \
    xgroup|destroy:8804 xgroup|help:8800 xgroup|setid:8804 xinfo:8000 xinfo|consumers:8802 \
    xinfo|groups:8802 xinfo|help:8800 xinfo|stream:8802 xlen:4802 xpending:8802 \
    xrange:8802 xread:18802 xreadgroup:18804 xrevrange:8802 xsetid:4804 xtrim:8804";

/// Every command ([`COMMANDS`] order, id = table index) and then every subcommand.
#[inline(never)]
pub fn registry() -> &'static [AclCommand] {
    REGISTRY.call_once(|| {
        let mut all: Vec<AclCommand> = COMMANDS
            .iter()
            .map(|c| AclCommand {
                name: String::from(c.name),
                cats: c.categories,
                arity: c.arity,
                parent: None,
                subs: 0..0,
            })
            .collect();
        for (i, c) in COMMANDS.iter().enumerate() {
            let start = all.len();
            for s in crate::cmd::subcommands_of(c) {
                if all.len() >= FUTURE_BIT {
                    break;
                }
                all.push(AclCommand {
                    name: String::from_utf8_lossy(s.name).into_owned(),
                    cats: category_bits(s.categories.into_iter()),
                    arity: s.arity,
                    parent: Some(i),
                    subs: 0..0,
                });
            }
            let end = all.len();
            if let Some(e) = all.get_mut(i) {
                e.subs = start..end;
            }
        }
        let mut container = 0;
        for item in REDIS_ONLY.split(' ') {
            let Some((name, bits)) = item.split_once(':') else {
                continue;
            };
            if all.len() >= FUTURE_BIT {
                break;
            }
            let cats = u32::from_str_radix(bits, 16).unwrap_or(0);
            let id = all.len();
            let parent = name.contains('|').then_some(container);
            if parent.is_none() {
                container = id;
            } else if let Some(c) = all.get_mut(container) {
                c.subs.end = id + 1;
            }
            all.push(AclCommand {
                name: String::from(name),
                cats,
                arity: 0,
                parent,
                subs: id + 1..id + 1,
            });
        }
        all
    })
}

/// Redis's `lookupCommandBySds` on the original table: `name` or `container|sub`.
fn lookup_id(name: &[u8]) -> Option<usize> {
    let reg = registry();
    let mut parts = name.split(|&b| b == b'|');
    let base = parts.next()?;
    let sub = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let top = match crate::cmd::lookup_index(base) {
        Some((i, _)) => i,
        // A Redis command mini-kv lacks.
        None => reg
            .iter()
            .position(|c| c.parent.is_none() && c.name.as_bytes().eq_ignore_ascii_case(base))?,
    };
    let Some(sub) = sub else { return Some(top) };
    let range = reg.get(top)?.subs.clone();
    range.into_iter().find(|&id| {
        reg.get(id).is_some_and(|c| {
            c.name
                .rsplit('|')
                .next()
                .is_some_and(|s| s.as_bytes().eq_ignore_ascii_case(sub))
        })
    })
}

/// The id the ACL checks for a call of command `index` with `args`: its subcommand's when
/// it is a container and the subcommand is known, else its own.
pub fn command_id(index: usize, args: &Args<'_>) -> usize {
    let reg = registry();
    let Some(c) = reg.get(index) else {
        return index;
    };
    if c.subs.is_empty() || args.len() < 2 {
        return index;
    }
    let sub = args.get(1);
    c.subs
        .clone()
        .find(|&id| {
            reg.get(id).is_some_and(|s| {
                s.name
                    .rsplit('|')
                    .next()
                    .is_some_and(|n| n.as_bytes().eq_ignore_ascii_case(sub))
            })
        })
        .unwrap_or(index)
}

/// Whether command `id` has subcommands.
pub fn has_subcommands(id: usize) -> bool {
    registry().get(id).is_some_and(|c| !c.subs.is_empty())
}

/// The arity of command `id`.
pub fn arity(id: usize) -> Option<i32> {
    registry().get(id).map(|c| c.arity)
}

/// The commands of category `name` (ACL CAT): each command, then its subcommands.
pub fn category_commands(name: &[u8]) -> Option<Vec<&'static str>> {
    let bit = category_bit(name)?;
    let reg = registry();
    let mut out = Vec::new();
    for c in reg.iter().filter(|c| c.parent.is_none()) {
        if c.cats & bit != 0 {
            out.push(c.name.as_str());
        }
        for s in c.subs.clone().filter_map(|s| reg.get(s)) {
            if s.cats & bit != 0 {
                out.push(s.name.as_str());
            }
        }
    }
    Some(out)
}

/// The full name of command `id` (`client|list`).
pub fn command_name(id: usize) -> &'static str {
    registry().get(id).map_or("", |c| c.name.as_str())
}

// ---------------------------------------------------------------------------------------
// Selectors and users
// ---------------------------------------------------------------------------------------

/// Key pattern permission bits.
const READ: u8 = 1;
const WRITE: u8 = 2;
const ALL: u8 = READ | WRITE;

/// Why a rule was refused (Redis's errno values of `ACLSetUser`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// ENOENT.
    UnknownCommand,
    /// EINVAL.
    Syntax,
    /// EEXIST.
    AfterAllKeys,
    /// EISDIR.
    AfterAllChannels,
    /// ENODEV.
    NoSuchPassword,
    /// EBADMSG.
    BadHash,
    /// ECHILD.
    FirstArgOfSubcommand,
}

impl RuleError {
    /// Redis's text for the error (`ACLSetUserStringError`).
    pub fn message(self) -> &'static str {
        match self {
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::AfterAllKeys => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::AfterAllChannels => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSubcommand => {
                "Allowing first-arg of a subcommand is not supported"
            }
        }
    }
}

/// Redis's `ACLStringHasSpaces`: a space (C `isspace`) or NUL.
fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0))
}

/// A set of permissions: the user's root one, or one `(...)` selector.
#[derive(Clone, PartialEq, Eq)]
struct Selector {
    allkeys: bool,
    allchannels: bool,
    allcommands: bool,
    bits: [u64; WORDS],
    /// Allowed first arguments of otherwise denied commands (`+select|0`).
    firstargs: Vec<(usize, Vec<Vec<u8>>)>,
    /// Key patterns with their READ/WRITE bits.
    keys: Vec<(u8, Vec<u8>)>,
    channels: Vec<Vec<u8>>,
}

impl Selector {
    fn new(allchannels: bool) -> Self {
        Selector {
            allkeys: false,
            allchannels,
            allcommands: false,
            bits: [0; WORDS],
            firstargs: Vec::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.bits
            .get(id / 64)
            .is_some_and(|w| w & (1u64 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.bits.get_mut(id / 64) {
            if on {
                *w |= 1u64 << (id % 64);
            } else {
                *w &= !(1u64 << (id % 64));
                self.allcommands = false;
            }
        }
    }

    /// Redis's `ACLChangeSelectorPerm`: the command and, for a container, its
    /// subcommands.
    fn change_perm(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.firstargs.retain(|(i, _)| *i != id);
        if let Some(c) = registry().get(id) {
            for s in c.subs.clone() {
                self.set_bit(s, allow);
            }
        }
    }

    fn set_category(&mut self, cat: u32, allow: bool) {
        let reg = registry();
        for (id, c) in reg.iter().enumerate().filter(|(_, c)| c.parent.is_none()) {
            if c.cats & cat != 0 {
                self.change_perm(id, allow);
            }
            for s in c.subs.clone() {
                if reg.get(s).is_some_and(|sc| sc.cats & cat != 0) {
                    self.change_perm(s, allow);
                }
            }
        }
    }

    fn count_category(&self, cat: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for (id, c) in registry().iter().enumerate() {
            if c.cats & cat != 0 {
                if self.bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// Redis's `ACLSetSelector`.
    #[inline(never)]
    fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.bits = [!0; WORDS];
            self.allcommands = true;
            self.firstargs.clear();
        } else if is("nocommands") || is("-@all") {
            self.bits = [0; WORDS];
            self.allcommands = false;
            self.firstargs.clear();
        } else if let [first @ (b'~' | b'%'), rest @ ..] = op {
            if self.allkeys {
                return Err(RuleError::AfterAllKeys);
            }
            let (flags, pattern) = if *first == b'%' {
                let mut flags = 0;
                let mut at = rest.len();
                for (i, &b) in rest.iter().enumerate() {
                    if b.eq_ignore_ascii_case(&b'R') && flags & READ == 0 {
                        flags |= READ;
                    } else if b.eq_ignore_ascii_case(&b'W') && flags & WRITE == 0 {
                        flags |= WRITE;
                    } else if b == b'~' {
                        at = i + 1;
                        break;
                    } else {
                        return Err(RuleError::Syntax);
                    }
                }
                if flags == 0 {
                    // No permission at all (`%`, `%~k`): refused, as redis-server does.
                    return Err(RuleError::Syntax);
                }
                (flags, rest.get(at..).unwrap_or_default())
            } else {
                (ALL, rest)
            };
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.keys.iter_mut().find(|(_, p)| p == pattern) {
                Some((f, _)) => *f |= flags,
                None => self.keys.push((flags, pattern.to_vec())),
            }
            self.allkeys = false;
        } else if let [b'&', rest @ ..] = op {
            if self.allchannels {
                return Err(RuleError::AfterAllChannels);
            }
            if has_spaces(rest) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == rest) {
                self.channels.push(rest.to_vec());
            }
            self.allchannels = false;
        } else if let [sign @ (b'+' | b'-'), b'@', cat @ ..] = op {
            let bit = category_bit(cat).ok_or(RuleError::UnknownCommand)?;
            self.set_category(bit, *sign == b'+');
        } else if let [b'+', name @ ..] = op {
            match name.iter().rposition(|&b| b == b'|') {
                None => {
                    let id = lookup_id(name).ok_or(RuleError::UnknownCommand)?;
                    self.change_perm(id, true);
                }
                Some(bar) => {
                    let (base, sub) = (
                        name.get(..bar).unwrap_or_default(),
                        name.get(bar + 1..).unwrap_or_default(),
                    );
                    let id = lookup_id(base).ok_or(RuleError::UnknownCommand)?;
                    let c = registry().get(id).ok_or(RuleError::UnknownCommand)?;
                    if c.parent.is_some() {
                        return Err(RuleError::FirstArgOfSubcommand);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !c.subs.is_empty() {
                        let id = lookup_id(name).ok_or(RuleError::UnknownCommand)?;
                        self.change_perm(id, true);
                    } else {
                        match self.firstargs.iter_mut().find(|(i, _)| *i == id) {
                            Some((_, list)) => {
                                if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                                    list.push(sub.to_vec());
                                }
                            }
                            None => self.firstargs.push((id, alloc::vec![sub.to_vec()])),
                        }
                    }
                }
            }
        } else if let [b'-', name @ ..] = op {
            let id = lookup_id(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// Redis's `ACLDescribeSelectorCommandRules`: `+@all`/`-@all`, the categories that fit
    /// best, then single commands, so that applying them rebuilds the bitmap.
    #[inline(never)]
    fn describe_commands(&self) -> Vec<u8> {
        let mut rules = Vec::new();
        let mut fake = Selector::new(false);
        let additive = !self.bit(FUTURE_BIT);
        if additive {
            rules.extend_from_slice(b"-@all ");
            let _ = fake.apply(b"-@all");
        } else {
            rules.extend_from_slice(b"+@all ");
            let _ = fake.apply(b"+@all");
        }
        let mut temp = Selector::new(false);
        temp.bits = self.bits;
        let mut applied = [false; CATEGORY_NAMES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let (on, off) = temp.count_category(1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            fake.set_category(1 << j, additive);
            temp.set_category(1 << j, !additive);
            rules.extend_from_slice(if additive { b"+@" } else { b"-@" });
            rules.extend_from_slice(category_name(j));
            rules.push(b' ');
            if let Some(a) = applied.get_mut(j) {
                *a = true;
            }
        }
        let reg = registry();
        for (id, c) in reg.iter().enumerate().filter(|(_, c)| c.parent.is_none()) {
            self.describe_single(&mut fake, &mut rules, id);
            for s in c.subs.clone() {
                self.describe_single(&mut fake, &mut rules, s);
            }
            self.describe_firstargs(&mut rules, id);
        }
        rules.pop();
        rules
    }

    fn describe_single(&self, fake: &mut Selector, rules: &mut Vec<u8>, id: usize) {
        let userbit = self.bit(id);
        if userbit != fake.bit(id) {
            rules.push(if userbit { b'+' } else { b'-' });
            rules.extend_from_slice(command_name(id).as_bytes());
            rules.push(b' ');
            fake.change_perm(id, userbit);
        }
    }

    fn describe_firstargs(&self, rules: &mut Vec<u8>, id: usize) {
        if self.bit(id) {
            return;
        }
        if let Some((_, list)) = self.firstargs.iter().find(|(i, _)| *i == id) {
            for a in list {
                rules.push(b'+');
                rules.extend_from_slice(command_name(id).as_bytes());
                rules.push(b'|');
                rules.extend_from_slice(a);
                rules.push(b' ');
            }
        }
    }

    fn key_pattern(out: &mut Vec<u8>, (flags, pat): &(u8, Vec<u8>)) {
        out.extend_from_slice(match *flags {
            READ => b"%R~",
            WRITE => b"%W~",
            _ => b"~",
        });
        out.extend_from_slice(pat);
    }

    /// Redis's `ACLDescribeSelector`.
    fn describe(&self, out: &mut Vec<u8>) {
        if self.allkeys {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                Self::key_pattern(out, k);
                out.push(b' ');
            }
        }
        if self.allchannels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(&self.describe_commands());
    }

    /// The `keys` field of ACL GETUSER.
    fn keys_field(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            Self::key_pattern(&mut out, k);
        }
        out
    }

    /// The `channels` field of ACL GETUSER.
    fn channels_field(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// Redis's `ACLSelectorCheckCmd`: `Err((reason, argument position))`.
    fn check(&self, cmd: &Command, id: usize, args: &Args<'_>) -> Result<(), (Denied, usize)> {
        if !self.allcommands && !crate::cmd::flag!(cmd, "no_auth") && !self.bit(id) {
            let ok = args.len() >= 2
                && self.firstargs.iter().any(|(i, list)| {
                    *i == id && {
                        let idx = if registry().get(id).is_some_and(|c| c.parent.is_some()) {
                            2
                        } else {
                            1
                        };
                        list.iter().any(|a| a.eq_ignore_ascii_case(args.get(idx)))
                    }
                });
            if !ok {
                return Err((Denied::Command, 0));
            }
        }
        if !self.allkeys && cmd.has_keys() {
            // Read/write-only patterns need the key specs' access flags (rare: looked up
            // only then).
            let partial = self.keys.iter().any(|(f, _)| *f != ALL);
            let specs = if partial { key_specs(cmd) } else { Vec::new() };
            for pos in cmd.key_positions(args).unwrap_or_default() {
                let key = args.get(pos);
                let need = if partial {
                    key_access(cmd, &specs, pos, args)
                } else {
                    0
                };
                let ok = self.keys.iter().any(|(flags, pat)| {
                    flags & need == need && crate::glob::matches(pat, key, false)
                });
                if !ok {
                    return Err((Denied::Key, pos));
                }
            }
        }
        if !self.allchannels {
            let (from, pattern) = match cmd.name {
                "publish" | "spublish" => (Some(1..2.min(args.len())), false),
                "subscribe" | "ssubscribe" => (Some(1..args.len()), false),
                "psubscribe" => (Some(1..args.len()), true),
                _ => (None, false),
            };
            for pos in from.into_iter().flatten() {
                let ch = args.get(pos);
                let ok = self.channels.iter().any(|p| {
                    if pattern {
                        p == ch
                    } else {
                        crate::glob::matches(p, ch, false)
                    }
                });
                if !ok {
                    return Err((Denied::Channel, pos));
                }
            }
        }
        Ok(())
    }
}

/// Each key spec of `cmd` (Redis's metadata): its ACL access bits (`access` reads;
/// `insert`, `delete`, `update` write), whether its flags vary with the arguments, and the
/// argument index its search begins at (`None` for a keyword search).
fn key_specs(cmd: &Command) -> Vec<(u8, bool, Option<usize>)> {
    use crate::cmd::{resp_header, skip_resp};
    let mut out = Vec::new();
    let Some(m) = crate::cmd::meta::meta(cmd.name) else {
        return out;
    };
    let tail = m.info_tail();
    let Some((_, n, mut p)) = skip_resp(tail, 0).and_then(|a| resp_header(tail, a)) else {
        return out;
    };
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    for _ in 0..n.max(0) {
        let Some(end) = skip_resp(tail, p) else { break };
        let spec = tail.get(p..end).unwrap_or_default();
        p = end;
        let mut bits = 0u8;
        let mut variable = false;
        if let Some(at) = find(spec, b"$5\r\nflags\r\n") {
            let at = at + 11;
            if let Some((_, k, mut q)) = resp_header(spec, at) {
                for _ in 0..k.max(0) {
                    let Some((_, _, next)) = resp_header(spec, q) else {
                        break;
                    };
                    let f = spec.get(q + 1..next.saturating_sub(2)).unwrap_or_default();
                    match f {
                        b"access" => bits |= READ,
                        b"insert" | b"delete" | b"update" => bits |= WRITE,
                        b"variable_flags" => variable = true,
                        _ => {}
                    }
                    q = next;
                }
            }
        }
        let begin = find(spec, b"$5\r\nindex\r\n:").and_then(|at| {
            let digits = spec.get(at + 12..)?;
            let len = digits.iter().position(|&b| b == b'\r')?;
            core::str::from_utf8(digits.get(..len)?).ok()?.parse().ok()
        });
        out.push((bits, variable, begin));
    }
    out
}

/// The access bits a call of `cmd` needs on its key argument at `pos` (Redis's
/// per-key flags): the spec that begins there, else the last one that begins before it.
fn key_access(
    cmd: &Command,
    specs: &[(u8, bool, Option<usize>)],
    pos: usize,
    args: &Args<'_>,
) -> u8 {
    let spec = specs
        .iter()
        .find(|s| s.2 == Some(pos))
        .or_else(|| specs.iter().rfind(|s| s.2.is_some_and(|b| b < pos)))
        .or(specs.first());
    match spec {
        // SET reads its key only with GET (Redis's `setGetKeys`).
        Some(&(_, true, _)) if cmd.name == "set" => {
            if (3..args.len()).any(|i| args.get(i).eq_ignore_ascii_case(b"GET")) {
                ALL
            } else {
                WRITE
            }
        }
        Some(&(bits, _, _)) => bits,
        None => ALL,
    }
}

/// Why the ACL refused a command (Redis's `ACL_DENIED_*`, in its order of relevance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    /// The command (or subcommand) is not allowed.
    Command,
    /// A key argument matches no allowed pattern.
    Key,
    /// A channel argument matches no allowed pattern.
    Channel,
    /// AUTH or HELLO AUTH with a wrong password (ACL LOG only).
    Auth,
}

/// One user.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    enabled: bool,
    nopass: bool,
    /// `Some(true)`: skip-sanitize-payload; `Some(false)`: sanitize-payload.
    skip_sanitize: Option<bool>,
    passwords: Vec<[u8; 64]>,
    root: Selector,
    selectors: Vec<Selector>,
}

impl User {
    /// A new user as Redis creates one: off, no passwords, no permissions; channels as
    /// `acl-pubsub-default` says.
    pub fn new(allchannels: bool) -> Self {
        User {
            enabled: false,
            nopass: false,
            skip_sanitize: None,
            passwords: Vec::new(),
            root: Selector::new(allchannels),
            selectors: Vec::new(),
        }
    }

    /// Redis's default user: on, nopass, `~* &* +@all`.
    pub fn default_user() -> Self {
        let mut u = User::new(false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes(), false);
        }
        u
    }

    /// Whether the user can authenticate with `pass` (Redis's
    /// `ACLCheckUserCredentials`).
    fn accepts(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = hash_password(pass);
        self.passwords
            .iter()
            .fold(false, |ok, p| ok | same_digest(p, &h))
    }

    /// Redis's `ACLSetUser`: one rule. `allchannels` is `acl-pubsub-default`.
    #[inline(never)]
    pub fn apply(&mut self, op: &[u8], allchannels: bool) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if op.is_empty() {
        } else if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.skip_sanitize = Some(true);
        } else if is("sanitize-payload") {
            self.skip_sanitize = Some(false);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if let [kind @ (b'>' | b'#' | b'<' | b'!'), rest @ ..] = op {
            let digest = if matches!(kind, b'>' | b'<') {
                hash_password(rest)
            } else {
                let ok = rest.len() == 64
                    && rest
                        .iter()
                        .all(|&c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
                let mut d = [0u8; 64];
                if !ok {
                    return Err(RuleError::BadHash);
                }
                d.copy_from_slice(rest);
                d
            };
            if matches!(kind, b'>' | b'#') {
                if !self.passwords.contains(&digest) {
                    self.passwords.push(digest);
                }
                self.nopass = false;
            } else {
                let before = self.passwords.len();
                self.passwords.retain(|p| *p != digest);
                if self.passwords.len() == before {
                    return Err(RuleError::NoSuchPassword);
                }
            }
        } else if op.first() == Some(&b'(') && op.last() == Some(&b')') {
            let inner = op.get(1..op.len() - 1).unwrap_or_default();
            let mut s = Selector::new(allchannels);
            for word in crate::resp::parse::split_line(inner).unwrap_or_default() {
                s.apply(&word)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.clear();
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            self.root.allkeys = false;
            self.root.keys.clear();
            self.root.allchannels = allchannels;
            self.root.channels.clear();
            self.enabled = false;
            self.skip_sanitize = Some(false);
            self.selectors.clear();
            let _ = self.root.apply(b"-@all");
        } else {
            self.root.apply(op)?;
        }
        Ok(())
    }

    /// Redis's `ACLKillPubsubClientsIfNeeded`: `None` when this user (the new rules) keeps
    /// every channel permission `old` gave (some selector has all channels, or its channel
    /// patterns include all of `old`'s); otherwise every channel pattern it now has, which
    /// the user's subscribed clients are checked against.
    pub fn lost_channels(&self, old: &User) -> Option<Vec<Vec<u8>>> {
        let all = || core::iter::once(&self.root).chain(self.selectors.iter());
        if all().any(|s| s.allchannels) {
            return None;
        }
        let upcoming: Vec<Vec<u8>> = all().flat_map(|s| s.channels.iter().cloned()).collect();
        let kept = core::iter::once(&old.root)
            .chain(old.selectors.iter())
            .all(|s| !s.allchannels && s.channels.iter().all(|c| upcoming.contains(c)));
        (!kept).then_some(upcoming)
    }

    /// Whether this user may run anything on any key and channel.
    fn unrestricted(&self) -> bool {
        self.root.allcommands && self.root.allkeys && self.root.allchannels
    }

    /// The rules that describe the user (ACL LIST without `user <name> `).
    #[inline(never)]
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(if self.enabled { b"on " } else { b"off " });
        if self.nopass {
            out.extend_from_slice(b"nopass ");
        }
        match self.skip_sanitize {
            Some(true) => out.extend_from_slice(b"skip-sanitize-payload "),
            Some(false) => out.extend_from_slice(b"sanitize-payload "),
            None => {}
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p);
            out.push(b' ');
        }
        self.root.describe(&mut out);
        for s in &self.selectors {
            out.extend_from_slice(b" (");
            s.describe(&mut out);
            out.push(b')');
        }
        out
    }

    /// ACL GETUSER's reply (RESP2: a flat array of field names and values).
    #[inline(never)]
    pub fn getuser_reply(&self, out: &mut Vec<u8>) {
        use crate::resp::encode;
        encode::array(out, 12);
        encode::bulk(out, b"flags");
        let mut flags: Vec<&[u8]> = alloc::vec![if self.enabled { b"on" } else { b"off" }];
        if self.nopass {
            flags.push(b"nopass");
        }
        match self.skip_sanitize {
            Some(true) => flags.push(b"skip-sanitize-payload"),
            Some(false) => flags.push(b"sanitize-payload"),
            None => {}
        }
        encode::array(out, flags.len());
        bulks(out, &flags);
        encode::bulk(out, b"passwords");
        encode::array(out, self.passwords.len());
        let pw: Vec<&[u8]> = self.passwords.iter().map(|p| &p[..]).collect();
        bulks(out, &pw);
        Self::selector_fields(&self.root, out);
        encode::bulk(out, b"selectors");
        encode::array(out, self.selectors.len());
        for s in &self.selectors {
            encode::array(out, 6);
            Self::selector_fields(s, out);
        }
    }

    fn selector_fields(s: &Selector, out: &mut Vec<u8>) {
        let (c, k, ch) = (s.describe_commands(), s.keys_field(), s.channels_field());
        bulks(out, &[b"commands", &c, b"keys", &k, b"channels", &ch]);
    }

    /// Redis's `ACLCheckAllUserCommandPerm`: the first selector that allows the command
    /// wins; otherwise the most relevant refusal (command < key < channel, then the
    /// latest argument).
    pub fn check(&self, cmd: &Command, id: usize, args: &Args<'_>) -> Result<(), (Denied, usize)> {
        let mut worst = (Denied::Command, 0);
        for s in core::iter::once(&self.root).chain(self.selectors.iter()) {
            match s.check(cmd, id, args) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    if e.0 > worst.0 || (e.0 == worst.0 && e.1 > worst.1) {
                        worst = e;
                    }
                }
            }
        }
        Err(worst)
    }
}

/// The users by name, sorted (a small sorted vector: ACL LIST and USERS list them in
/// name order, as Redis's radix tree does).
#[derive(Clone, Default)]
pub struct Users(Vec<(Vec<u8>, User)>);

impl Users {
    fn find(&self, name: &[u8]) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_slice().cmp(name))
    }

    /// The user called `name`.
    pub fn get(&self, name: &[u8]) -> Option<&User> {
        self.find(name)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, u)| u)
    }

    fn get_mut(&mut self, name: &[u8]) -> Option<&mut User> {
        let i = self.find(name).ok()?;
        self.0.get_mut(i).map(|(_, u)| u)
    }

    /// Whether there is a user called `name`.
    pub fn contains_key(&self, name: &[u8]) -> bool {
        self.find(name).is_ok()
    }

    /// Adds or replaces user `name`.
    pub fn insert(&mut self, name: Vec<u8>, u: User) {
        match self.find(&name) {
            Ok(i) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = u;
                }
            }
            Err(i) => self.0.insert(i, (name, u)),
        }
    }

    /// Removes user `name`; whether it was there.
    pub fn remove(&mut self, name: &[u8]) -> bool {
        match self.find(name) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Every user, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &User)> {
        self.0.iter().map(|(n, u)| (n, u))
    }
}

/// Appends each of `items` as a bulk string (one out-of-line loop for the ACL replies).
#[inline(never)]
pub fn bulks(out: &mut Vec<u8>, items: &[&[u8]]) {
    for i in items {
        crate::resp::encode::bulk(out, i);
    }
}

/// Redis's `ACLMergeSelectorArguments`: `(` ... `)` spread over several arguments become
/// one; `Err(index)` of an unclosed one.
pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                if let Some((_, sel)) = open.take() {
                    out.push(sel);
                }
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

// ---------------------------------------------------------------------------------------
// The ACL LOG
// ---------------------------------------------------------------------------------------

/// Entries closer in time than this are grouped (Redis's
/// `ACL_LOG_GROUPING_MAX_TIME_DELTA`).
const LOG_GROUPING_MS: i64 = 60_000;
/// How many recent entries a new one is compared with for grouping (Redis's 10).
const LOG_GROUP_SCAN: usize = 10;

/// One ACL LOG entry.
#[derive(Clone)]
pub struct LogEntry {
    /// How many similar events it stands for.
    pub count: u64,
    /// Why.
    pub reason: Denied,
    /// Inside MULTI/EXEC (`multi`) or not (`toplevel`).
    pub multi: bool,
    /// The command, key, channel or (for AUTH) the command name.
    pub object: Vec<u8>,
    /// The user.
    pub username: Vec<u8>,
    /// When (Unix milliseconds).
    pub ctime: i64,
    /// The client's CLIENT INFO line.
    pub client_info: Vec<u8>,
}

// ---------------------------------------------------------------------------------------
// The engine's ACL state
// ---------------------------------------------------------------------------------------

/// The users, the fast-path flags and the ACL LOG.
pub struct Acl {
    users: RwLock<Users>,
    /// The default user is on, nopass and unrestricted: its clients skip every check.
    open: AtomicBool,
    /// The default user is nopass (protected mode's test).
    nopass: AtomicBool,
    /// The default user is nopass and on: no client needs to authenticate.
    no_auth_needed: AtomicBool,
    log: Mutex<alloc::collections::VecDeque<LogEntry>>,
    /// `acllog-max-len`.
    log_max: AtomicUsize,
}

impl core::fmt::Debug for Acl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Acl")
    }
}

impl Default for Acl {
    fn default() -> Self {
        let mut users = Users::default();
        users.insert(b"default".to_vec(), User::default_user());
        let acl = Acl {
            users: RwLock::new(users),
            open: AtomicBool::new(true),
            nopass: AtomicBool::new(true),
            no_auth_needed: AtomicBool::new(true),
            log: Mutex::new(alloc::collections::VecDeque::new()),
            log_max: AtomicUsize::new(128),
        };
        acl.refresh();
        acl
    }
}

impl Acl {
    /// Whether the default user is on, nopass and allowed everything (one relaxed load:
    /// the fast path of every command of a default-user client).
    #[inline]
    pub fn open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// Whether the default user is `nopass`.
    pub fn default_nopass(&self) -> bool {
        self.nopass.load(Ordering::Relaxed)
    }

    /// Whether a client must authenticate before running commands not flagged
    /// `no_auth` (Redis's `authRequired` before the client's own flag).
    pub fn auth_needed(&self) -> bool {
        !self.no_auth_needed.load(Ordering::Relaxed)
    }

    /// Recomputes the fast-path flags from the default user.
    fn refresh(&self) {
        let users = self.users.read();
        let (open, nopass, on) = users
            .get(&b"default"[..])
            .map_or((false, false, false), |u| {
                (
                    u.enabled && u.nopass && u.unrestricted() && u.selectors.is_empty(),
                    u.nopass,
                    u.enabled,
                )
            });
        self.open.store(open, Ordering::Relaxed);
        self.nopass.store(nopass, Ordering::Relaxed);
        self.no_auth_needed.store(nopass && on, Ordering::Relaxed);
    }

    /// Sets `acllog-max-len` and trims the log.
    pub fn set_log_max(&self, n: usize) {
        self.log_max.store(n, Ordering::Relaxed);
        let mut log = self.log.lock();
        log.truncate(n);
    }

    /// `requirepass`: the default user's only password, or nopass when empty (Redis's
    /// `ACLUpdateDefaultUserPassword`).
    #[inline(never)]
    pub fn set_requirepass(&self, pass: &[u8]) {
        {
            let mut users = self.users.write();
            if let Some(u) = users.get_mut(b"default") {
                let _ = u.apply(b"resetpass", false);
                if pass.is_empty() {
                    let _ = u.apply(b"nopass", false);
                } else {
                    let mut op = alloc::vec![b'>'];
                    op.extend_from_slice(pass);
                    let _ = u.apply(&op, false);
                }
            }
        }
        self.refresh();
    }

    /// Whether `name` with `pass` authenticates.
    pub fn credentials_ok(&self, name: &[u8], pass: &[u8]) -> bool {
        self.users.read().get(name).is_some_and(|u| u.accepts(pass))
    }

    /// Whether user `name` exists.
    pub fn exists(&self, name: &[u8]) -> bool {
        self.users.read().contains_key(name)
    }

    /// Checks a command of a client logged in as `user` (`None`: the default user).
    /// `Err(None)`: the user no longer exists.
    pub fn check(
        &self,
        user: Option<&[u8]>,
        cmd: &Command,
        id: usize,
        args: &Args<'_>,
    ) -> Result<(), Option<(Denied, usize)>> {
        let users = self.users.read();
        let u = users.get(user.unwrap_or(b"default")).ok_or(None)?;
        u.check(cmd, id, args).map_err(Some)
    }

    /// Whether some selector of the user lets it run the command in `args` and read every
    /// key (`allkeys`, or a `*` pattern with read access): SORT's BY and GET need that
    /// (Redis's `ACLUserCheckCmdWithUnrestrictedKeyAccess`).
    #[inline(never)]
    pub fn full_read_access(&self, user: Option<&[u8]>, args: &Args<'_>) -> bool {
        let Some((index, cmd)) = crate::cmd::lookup_index(args.get(0)) else {
            return false;
        };
        let id = command_id(index, args);
        let users = self.users.read();
        let Some(u) = users.get(user.unwrap_or(b"default")) else {
            return false;
        };
        core::iter::once(&u.root)
            .chain(u.selectors.iter())
            .any(|s| {
                s.check(cmd, id, args).is_ok()
                    && (s.allkeys || s.keys.iter().any(|(f, p)| f & READ != 0 && p == b"*"))
            })
    }

    /// Checks a command as user `name` would run it (ACL DRYRUN); `None` if no such user.
    pub fn dry_run(
        &self,
        name: &[u8],
        cmd: &Command,
        id: usize,
        args: &Args<'_>,
    ) -> Option<Result<(), (Denied, usize)>> {
        self.users.read().get(name).map(|u| u.check(cmd, id, args))
    }

    /// A copy of user `name`.
    pub fn user(&self, name: &[u8]) -> Option<User> {
        self.users.read().get(name).cloned()
    }

    /// ACL SETUSER: applies `rules` to a copy of the user (a new one if none) and, if all
    /// of them are valid, stores it. `Err(message)` otherwise; nothing changes then.
    #[inline(never)]
    pub fn set_user(&self, name: &[u8], rules: &[&[u8]], allchannels: bool) -> Result<(), Vec<u8>> {
        let merged = merge_selector_args(rules).map_err(|j| {
            let mut e = b"Unmatched parenthesis in acl selector starting at '".to_vec();
            e.extend_from_slice(c_str(rules.get(j).copied().unwrap_or_default()));
            e.extend_from_slice(b"'.");
            e
        })?;
        let mut users = self.users.write();
        let mut u = users
            .get(name)
            .cloned()
            .unwrap_or_else(|| User::new(allchannels));
        for op in &merged {
            if let Err(e) = u.apply(op, allchannels) {
                let mut m = b"Error in ACL SETUSER modifier '".to_vec();
                m.extend_from_slice(c_str(op));
                m.extend_from_slice(b"': ");
                m.extend_from_slice(e.message().as_bytes());
                return Err(m);
            }
        }
        users.insert(name.to_vec(), u);
        drop(users);
        self.refresh();
        Ok(())
    }

    /// Replaces every user (ACL LOAD, startup): the default user is created if missing.
    #[inline(never)]
    pub fn replace_all(&self, mut users: Users) {
        if !users.contains_key(b"default") {
            users.insert(b"default".to_vec(), User::default_user());
        }
        *self.users.write() = users;
        self.refresh();
    }

    /// A copy of every user.
    pub fn snapshot(&self) -> Users {
        self.users.read().clone()
    }

    /// ACL DELUSER of one user; whether it existed.
    pub fn delete(&self, name: &[u8]) -> bool {
        let gone = self.users.write().remove(name);
        self.refresh();
        gone
    }

    /// User names, sorted (ACL USERS).
    pub fn names(&self) -> Vec<Vec<u8>> {
        self.users.read().0.iter().map(|(n, _)| n.clone()).collect()
    }

    /// `user <name> <rules>` lines, sorted by name (ACL LIST, ACL SAVE).
    pub fn list(&self) -> Vec<Vec<u8>> {
        self.users
            .read()
            .iter()
            .map(|(n, u)| {
                let mut l = b"user ".to_vec();
                l.extend_from_slice(n);
                l.push(b' ');
                l.extend_from_slice(&u.describe());
                l
            })
            .collect()
    }

    /// ACL GETUSER's reply, or `None`.
    pub fn getuser(&self, name: &[u8], out: &mut Vec<u8>) -> bool {
        match self.users.read().get(name) {
            Some(u) => {
                u.getuser_reply(out);
                true
            }
            None => false,
        }
    }

    /// Adds an ACL LOG entry, or bumps a similar recent one (Redis's `addACLLogEntry`).
    #[inline(never)]
    pub fn log(&self, entry: LogEntry) {
        let max = self.log_max.load(Ordering::Relaxed);
        let mut log = self.log.lock();
        let found = log.iter().take(LOG_GROUP_SCAN).position(|e| {
            e.reason == entry.reason
                && e.multi == entry.multi
                && (e.ctime - entry.ctime).abs() <= LOG_GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        if let Some(i) = found {
            if let Some(mut e) = log.remove(i) {
                e.client_info = entry.client_info;
                e.ctime = entry.ctime;
                e.count += 1;
                log.push_front(e);
            }
            return;
        }
        log.push_front(entry);
        log.truncate(max);
    }

    /// The newest `count` entries.
    pub fn log_entries(&self, count: usize) -> Vec<LogEntry> {
        self.log.lock().iter().take(count).cloned().collect()
    }

    /// ACL LOG RESET.
    pub fn log_reset(&self) {
        self.log.lock().clear();
    }
}

/// `s` up to its first NUL (Redis formats these with `%s`).
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => s.get(..n).unwrap_or(s),
        None => s,
    }
}

/// Parses an ACL file's (or the config file's `user` lines') text into users: `Err` with
/// Redis's message for the first bad line; nothing is applied then.
#[inline(never)]
pub fn parse_users(lines: &[Vec<Vec<u8>>], allchannels: bool) -> Result<Users, Vec<u8>> {
    let mut users = Users::default();
    for words in lines {
        let fail = |arg: &[u8], msg: &str| {
            let mut e = b"Error in user declaration '".to_vec();
            e.extend_from_slice(c_str(arg));
            e.extend_from_slice(b"': ");
            e.extend_from_slice(msg.as_bytes());
            e
        };
        let Some(name) = words.get(1) else {
            return Err(fail(b"user", "Syntax error"));
        };
        if has_spaces(name) {
            return Err(fail(name, "Syntax error"));
        }
        if users.contains_key(name) {
            return Err(fail(
                name,
                "Duplicate user found. A user can only be defined once in config files",
            ));
        }
        let rules: Vec<&[u8]> = words.iter().skip(2).map(Vec::as_slice).collect();
        let merged = merge_selector_args(&rules).map_err(|j| {
            fail(
                rules.get(j).copied().unwrap_or_default(),
                "Unmatched parenthesis in acl selector",
            )
        })?;
        let mut u = User::new(allchannels);
        if name == b"default" {
            let _ = u.apply(b"reset", allchannels);
        }
        for op in &merged {
            u.apply(op, allchannels)
                .map_err(|e| fail(op, e.message()))?;
        }
        users.insert(name.clone(), u);
    }
    Ok(users)
}

/// `l` without the bytes of `set` at both ends (`sdstrim`).
fn trim<'a>(mut l: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [f, rest @ ..] = l {
        if !set.contains(f) {
            break;
        }
        l = rest;
    }
    while let [rest @ .., last] = l {
        if !set.contains(last) {
            break;
        }
        l = rest;
    }
    l
}

/// Parses an ACL file as Redis's `ACLLoadFromFile`: lines split on `\n`, trimmed, words
/// split on single spaces; every error is collected (`file:line: ...`), and any error
/// means no change (`Err` with Redis's whole message).
#[inline(never)]
pub fn parse_acl_file(text: &[u8], filename: &str, allchannels: bool) -> Result<Users, Vec<u8>> {
    use core::fmt::Write;
    let mut errors = String::new();
    let mut users = Users::default();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        let line = trim(line, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let (Some(&kw), Some(&name)) = (argv.first(), argv.get(1)) else {
            let _ = write!(
                errors,
                "{filename}:{n} should start with user keyword followed by the username. "
            );
            continue;
        };
        if kw != b"user" {
            let _ = write!(
                errors,
                "{filename}:{n} should start with user keyword followed by the username. "
            );
            continue;
        }
        if has_spaces(name) {
            let _ = write!(
                errors,
                "'{filename}:{n}: username '{}' contains invalid characters. ",
                String::from_utf8_lossy(name)
            );
            continue;
        }
        if users.contains_key(name) {
            let _ = write!(
                errors,
                "WARNING: Duplicate user '{}' found on line {n}. ",
                String::from_utf8_lossy(name)
            );
            continue;
        }
        let mut u = User::new(allchannels);
        let rest = argv.get(2..).unwrap_or_default();
        let merged = match merge_selector_args(rest) {
            Ok(m) => m,
            Err(_) => {
                let _ = write!(
                    errors,
                    "{filename}:{n}: Unmatched parenthesis in selector definition."
                );
                Vec::new()
            }
        };
        let mut syntax_error = false;
        for op in &merged {
            let op = trim(op, b"\t\r\n");
            if let Err(e) = u.apply(op, allchannels) {
                if e == RuleError::UnknownCommand {
                    let _ = write!(
                        errors,
                        "{filename}:{n}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(c_str(op)),
                        e.message()
                    );
                } else if !syntax_error {
                    let _ = write!(errors, "{filename}:{n}: {}. ", e.message());
                    syntax_error = true;
                }
            }
        }
        users.insert(name.to_vec(), u);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        Err(errors.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> std::string::String {
        d.iter().map(|b| std::format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        let million = std::vec![b'a'; 1_000_000];
        assert_eq!(
            hex(&sha256(&million)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
        // Lengths around the padding boundary.
        for n in 50..70 {
            let d = sha256(&std::vec![b'x'; n]);
            assert_eq!(d.len(), 32);
        }
        assert_eq!(
            &hash_password(b"foo")[..],
            &b"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"[..]
        );
    }

    #[test]
    fn default_user_is_described_as_redis_does() {
        let u = User::default_user();
        assert_eq!(u.describe(), b"on nopass ~* &* +@all");
        assert!(u.accepts(b"anything"));
    }

    #[test]
    fn rules_parse_and_describe() {
        let mut u = User::new(false);
        assert_eq!(u.describe(), b"off resetchannels -@all");
        for op in [
            "on", ">p1", "~k*", "%R~r*", "%W~w*", "&ch", "+@string", "-set",
        ] {
            u.apply(op.as_bytes(), false).unwrap();
        }
        let d = std::string::String::from_utf8(u.describe()).unwrap();
        assert!(d.starts_with("on #"), "{d}");
        assert!(
            d.ends_with("~k* %R~r* %W~w* resetchannels &ch -@all +@string -set"),
            "{d}"
        );
        assert!(u.accepts(b"p1") && !u.accepts(b"p2"));
        assert_eq!(u.apply(b"~x", false), Ok(()));
        assert_eq!(u.apply(b"allkeys", false), Ok(()));
        assert_eq!(u.apply(b"~x", false), Err(RuleError::AfterAllKeys));
        assert_eq!(u.apply(b"+nosuch", false), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"+@nosuch", false), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"bogus", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"#abc", false), Err(RuleError::BadHash));
        assert_eq!(u.apply(b"<nope", false), Err(RuleError::NoSuchPassword));
        assert_eq!(u.apply(b"+get|", false), Err(RuleError::Syntax));
        assert_eq!(
            u.apply(b"+client|list|x", false),
            Err(RuleError::FirstArgOfSubcommand)
        );
        assert_eq!(u.apply(b"+select|0", false), Ok(()));
        assert_eq!(u.apply(b"+client|list", false), Ok(()));
        assert_eq!(u.apply(b"(+get ~a)", false), Ok(()));
        let d = std::string::String::from_utf8(u.describe()).unwrap();
        assert!(d.ends_with(" (~a resetchannels -@all +get)"), "{d}");
    }

    #[test]
    fn the_fast_path_flag_follows_the_default_user() {
        let acl = Acl::default();
        assert!(acl.open() && acl.default_nopass() && !acl.auth_needed());
        acl.set_requirepass(b"pw");
        assert!(!acl.open() && !acl.default_nopass() && acl.auth_needed());
        assert!(acl.credentials_ok(b"default", b"pw"));
        assert!(!acl.credentials_ok(b"default", b"nope"));
        acl.set_requirepass(b"");
        assert!(acl.open());
        acl.set_user(b"default", &[b"-flushall"], false).unwrap();
        assert!(!acl.open() && acl.default_nopass() && !acl.auth_needed());
        acl.set_user(b"default", &[b"+@all"], false).unwrap();
        assert!(acl.open());
        acl.set_user(b"default", &[b"off"], false).unwrap();
        assert!(!acl.open() && acl.auth_needed());
        // A bad rule changes nothing.
        let before = acl.list();
        assert!(acl.set_user(b"default", &[b"on", b"bogus"], false).is_err());
        assert_eq!(acl.list(), before);
        assert!(acl.delete(b"default"));
        assert!(!acl.open() && !acl.exists(b"default"));
    }

    #[test]
    fn categories_are_fitted_as_redis_describes_them() {
        let mut u = User::new(false);
        for (rules, want) in [
            ("+@all", "+@all"),
            ("-@all +@string", "-@all +@string"),
            ("+@all -@dangerous", "+@all -@dangerous"),
            ("-@all +@hash +@set", "-@all +@set +@hash"),
            ("-@all +@admin +config|get", "-@all +@admin"),
            ("nocommands +client", "-@all +client"),
            ("allcommands -config|set", "+@all -config|set"),
            ("-@all +geoadd", "-@all +geoadd"),
        ] {
            for r in rules.split(' ') {
                u.apply(r.as_bytes(), false).unwrap();
            }
            let got = std::string::String::from_utf8(u.root.describe_commands()).unwrap();
            assert_eq!(got, want, "{rules}");
        }
    }

    #[test]
    fn acl_files_parse_as_redis_reads_them() {
        let ok =
            parse_acl_file(b"user a on >x ~* +@all\r\n\n  user b off  \n", "f", false).unwrap();
        assert!(ok.contains_key(b"a") && ok.contains_key(b"b"));
        let Err(err) = parse_acl_file(b"user a +nosuch\nfoo\nuser a\n", "f", false) else {
            panic!("a bad file parsed");
        };
        assert_eq!(
            std::string::String::from_utf8(err).unwrap(),
            "f:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. \
             f:2 should start with user keyword followed by the username. \
             WARNING: Duplicate user 'a' found on line 3. \
             WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
    }

    #[test]
    fn merging_selector_arguments() {
        let args: [&[u8]; 4] = [b"on", b"(+get", b"~x)", b"off"];
        assert_eq!(
            merge_selector_args(&args).unwrap(),
            std::vec![b"on".to_vec(), b"(+get ~x)".to_vec(), b"off".to_vec()]
        );
        let bad: [&[u8]; 2] = [b"on", b"(+get"];
        assert_eq!(merge_selector_args(&bad), Err(1));
    }
}
