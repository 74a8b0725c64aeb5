//! Links `kv_server` with packed relative relocations (`-z pack-relative-relocs`, DT_RELR)
//! where the C library supports them.
//!
//! A position-independent executable carries one 24-byte `R_X86_64_RELATIVE` record for every
//! pointer in its read-only data (vtables, the command table, string slices): about 2,800 of
//! them, 66 KB of the release binary. RELR stores the same relocations as a bitmap of a few
//! hundred bytes; the dynamic loader applies them once at start-up, faster than RELA. The code
//! is unchanged, and the binary stays position-independent (ASLR).
//!
//! The linker marks such a binary as needing glibc's `GLIBC_ABI_DT_RELR` (glibc 2.36 and
//! later), so the flag is given only when building for the machine it runs on (target ==
//! host) and `getconf GNU_LIBC_VERSION` reports glibc 2.36 or later. Cross builds and older
//! systems link as before.
//!
//! Where rustc links with its own LLD (x86_64-unknown-linux-gnu from Rust 1.90 on), two
//! more size options: `--icf=all` folds identical functions (-6 KB; nothing in mini-kv
//! compares function addresses), and the unwind tables (`.eh_frame`, `.eh_frame_hdr`:
//! -100 KB) are left out by a two-line linker script. With `panic = "abort"` nothing ever
//! unwinds: the tables only serve the stack trace that `RUST_BACKTRACE` asks of a panic
//! (which then prints the panic's message and location, no frames, before the abort) and
//! debuggers or profilers walking the stack of a binary without frame pointers. Set
//! `KV_KEEP_UNWIND_TABLES=1` when building to keep them (such a binary is over the size
//! limit that ci/test checks).

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |k: &str| env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("TARGET") != var("HOST")
    {
        return;
    }
    if glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-env-changed=KV_KEEP_UNWIND_TABLES");
    if var("TARGET") == "x86_64-unknown-linux-gnu" && rustc_links_with_lld() {
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
        // Only for the release profile (and those inheriting from it), whose panics abort
        // (Cargo.toml): a build that unwinds needs them.
        if var("PROFILE") == "release" && env::var_os("KV_KEEP_UNWIND_TABLES").is_none() {
            let script = std::path::Path::new(&var("OUT_DIR")).join("no-unwind-tables.ld");
            let text =
                "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\n";
            if std::fs::write(&script, text).is_ok() {
                println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
                println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
            }
        }
    }
}

/// Whether rustc links this target with its own LLD: Rust 1.90 and later do on
/// x86_64-unknown-linux-gnu, unless told otherwise (`-C linker-features`, `-C linker`,
/// or a linker configured for the target).
fn rustc_links_with_lld() -> bool {
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
    {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| String::from("rustc"));
    let Ok(out) = Command::new(rustc).arg("-V").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    matches!(
        (parts.next().flatten(), parts.next().flatten()),
        (Some(major), Some(minor)) if (major, minor) >= (1, 90)
    )
}

/// Whether the host's glibc (`getconf GNU_LIBC_VERSION`: "glibc 2.36") is `major.minor` or
/// later; false when it cannot be told.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}
