//! Differential tests of pub/sub (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBE
//! forms, PUBLISH, SPUBLISH, PUBSUB, RESP2 subscriber mode, pub/sub inside MULTI/EXEC, the
//! pub/sub fields of CLIENT LIST and INFO) with several connections per scenario: each
//! scenario runs on a real `redis-server` (the oracle) and on `kv_server` with 4 workers,
//! and every client's replies and messages are compared byte for byte, with the step after
//! which each was read.
//!
//! Scenarios live in `diff_pubsub_cases.txt`, in the format of `diff_blocking_cases.txt`
//! and run by its runner ([`run_scenarios`]); `KV_BLOCKING_SCENARIO=substring` runs only
//! the scenarios whose name contains it, `KV_DIFF_ORACLE_ONLY=1` runs them on two
//! redis-servers (a self-test of the scenarios).

use crate::diff_blocking::{parse_groups, run_scenarios};

/// The scenarios.
const SCENARIOS: &str = include_str!("diff_pubsub_cases.txt");

/// The groups of scenarios, each run by its own test below.
const GROUPS: [&str; 6] = [
    "basics",
    "patterns",
    "shard",
    "errors",
    "introspection",
    "multi",
];

fn run_group(group: &str) {
    run_scenarios(SCENARIOS, &GROUPS, group);
}

#[test]
fn pubsub_scenario_file_parses_and_every_group_has_a_test() {
    let all = parse_groups(SCENARIOS, &GROUPS);
    assert!(all.len() >= 60, "{} scenarios", all.len());
    for g in GROUPS {
        assert!(
            all.iter().any(|s| s.name.starts_with(&format!("{g}/"))),
            "group {g} is empty"
        );
    }
    for cmd in [
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "PSUBSCRIBE",
        "PUNSUBSCRIBE",
        "SSUBSCRIBE",
        "SUNSUBSCRIBE",
        "PUBLISH",
        "SPUBLISH",
        "PUBSUB NUMSUB",
        "PUBSUB NUMPAT",
        "PUBSUB CHANNELS",
        "PUBSUB SHARDCHANNELS",
        "PUBSUB SHARDNUMSUB",
        "PUBSUB HELP",
    ] {
        assert!(
            SCENARIOS
                .lines()
                .any(|l| l.to_ascii_uppercase().contains(&format!(": {cmd}"))
                    || l.to_ascii_uppercase().contains(&format!("~ {cmd}"))),
            "no scenario uses {cmd}"
        );
    }
}

/// SUBSCRIBE/UNSUBSCRIBE/PUBLISH between clients on different workers, binary and empty
/// payloads, PING, RESET and QUIT in subscriber mode.
#[test]
fn pubsub_basics_match_redis() {
    run_group("basics");
}

/// PSUBSCRIBE/PUNSUBSCRIBE, a channel and a matching pattern on one client, glob forms.
#[test]
fn pubsub_patterns_match_redis() {
    run_group("patterns");
}

/// SSUBSCRIBE/SUNSUBSCRIBE/SPUBLISH: a namespace of its own, counts of its own.
#[test]
fn pubsub_shard_channels_match_redis() {
    run_group("shard");
}

/// Arity, subscriber-mode errors, PUBSUB's subcommand errors, pub/sub inside MULTI/EXEC.
#[test]
fn pubsub_errors_match_redis() {
    run_group("errors");
}

/// PUBSUB CHANNELS/NUMSUB/NUMPAT/HELP, INFO stats and CLIENT LIST fields.
#[test]
fn pubsub_introspection_matches_redis() {
    run_group("introspection");
}

/// Three and four clients: receiver counts, several publishers, PUBLISH inside EXEC.
#[test]
fn pubsub_between_many_clients_matches_redis() {
    run_group("multi");
}
