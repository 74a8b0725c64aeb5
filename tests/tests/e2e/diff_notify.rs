//! Differential tests of keyspace notifications (`notify-keyspace-events`): multi-client
//! scenarios (`diff_notify_cases.txt`, in the format of `diff_blocking_cases.txt`) run on a
//! real `redis-server` (the oracle) and on `kv_server` by the runner of `diff_blocking.rs`;
//! every reply and every published message is compared byte for byte, with the step it
//! was read at, so a message missing, extra, or out of order fails.
//!
//! One test a group: the configuration and every class (K, E, g, $, l, s, h, z, x, e, t, m,
//! d, n, A), then the events of each command family, blocked clients served later, and
//! transactions. `KV_BLOCKING_SCENARIO=substring` runs only the matching scenarios.

use crate::diff_blocking::{parse_groups, run_scenarios};

/// The scenarios.
const SCENARIOS: &str = include_str!("diff_notify_cases.txt");

/// The groups of scenarios, each run by its own test below.
const GROUPS: [&str; 13] = [
    "config", "classes", "strings", "keyspace", "expiry", "lists", "blocking", "hashes", "sets",
    "zsets", "bitmaps", "sort", "multi",
];

fn run_group(group: &str) {
    run_scenarios(SCENARIOS, &GROUPS, group);
}

#[test]
fn notify_scenario_file_parses_and_covers_every_class() {
    let all = parse_groups(SCENARIOS, &GROUPS);
    assert!(all.len() >= 50, "{} scenarios", all.len());
    // Every class letter is configured by some scenario.
    for class in "KEg$lshzxetmdnA".chars() {
        let set = SCENARIOS.lines().any(|l| {
            l.strip_prefix("c1: CONFIG SET notify-keyspace-events ")
                .is_some_and(|v| v.contains(class))
        });
        assert!(set, "no scenario sets class {class}");
    }
    // Every scenario leaves the setting off for the next one.
    for chunk in SCENARIOS.split("\n=== ").skip(1) {
        let last = chunk
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        assert!(
            last.starts_with("c1: CONFIG SET")
                && (last.ends_with("notify-keyspace-events \"\"")
                    || last.ends_with("maxclients 10000")),
            "scenario `{}` does not end by turning notifications off: {last}",
            chunk.lines().next().unwrap_or("")
        );
    }
}

#[test]
fn notify_config_matches_redis() {
    run_group("config");
}

#[test]
fn notify_classes_match_redis() {
    run_group("classes");
}

#[test]
fn notify_string_events_match_redis() {
    run_group("strings");
}

#[test]
fn notify_keyspace_events_match_redis() {
    run_group("keyspace");
}

#[test]
fn notify_expiry_events_match_redis() {
    run_group("expiry");
}

#[test]
fn notify_list_events_match_redis() {
    run_group("lists");
}

#[test]
fn notify_blocking_events_match_redis() {
    run_group("blocking");
}

#[test]
fn notify_hash_events_match_redis() {
    run_group("hashes");
}

#[test]
fn notify_set_events_match_redis() {
    run_group("sets");
}

#[test]
fn notify_zset_events_match_redis() {
    run_group("zsets");
}

#[test]
fn notify_bitmap_events_match_redis() {
    run_group("bitmaps");
}

#[test]
fn notify_sort_events_match_redis() {
    run_group("sort");
}

#[test]
fn notify_transaction_events_match_redis() {
    run_group("multi");
}
