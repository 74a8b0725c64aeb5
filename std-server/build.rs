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
