//! Differential tests of users, AUTH and permissions: multi-client scenarios
//! (`diff_acl_cases.txt`, in the format of `diff_blocking_cases.txt` plus `cN reconnect`
//! and `acllog cN N`) run on a real `redis-server` (the oracle) and on `kv_server` by the
//! runner of `diff_blocking.rs`; every reply is compared byte for byte, step by step.
//!
//! One test a group: `requirepass` and every AUTH and HELLO AUTH form, the rules (commands,
//! categories, keys, read/write key patterns, channels, selectors, transactions, the
//! default user), every ACL subcommand with its errors, and the ACL LOG.
//! `KV_BLOCKING_SCENARIO=substring` runs only the matching scenarios.

use crate::diff_blocking::{parse_groups, run_scenarios_with};

/// The scenarios.
const SCENARIOS: &str = include_str!("diff_acl_cases.txt");

/// The groups of scenarios, each run by its own test below.
const GROUPS: [&str; 4] = ["auth", "rules", "commands", "log"];

fn run_group(group: &str) {
    run_scenarios_with(SCENARIOS, &GROUPS, group, true);
}

#[test]
fn acl_scenario_file_parses_and_every_scenario_cleans_up() {
    let all = parse_groups(SCENARIOS, &GROUPS);
    assert!(all.len() >= 20, "{} scenarios", all.len());
    for chunk in SCENARIOS.split("\n=== ").skip(1) {
        let last = chunk
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        assert!(
            last.ends_with("ACL LOG RESET"),
            "scenario `{}` does not end with ACL LOG RESET: {last}",
            chunk.lines().next().unwrap_or("")
        );
    }
}

#[test]
fn auth_and_requirepass_match_redis() {
    run_group("auth");
}

#[test]
fn acl_rules_match_redis() {
    run_group("rules");
}

#[test]
fn acl_subcommands_match_redis() {
    run_group("commands");
}

#[test]
fn acl_log_matches_redis() {
    run_group("log");
}
