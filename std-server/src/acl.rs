//! The ACL file (`aclfile`): read at start and by ACL LOAD, written by ACL SAVE (to a
//! temporary file, then renamed, as Redis's `ACLSaveToFile`). The core parses and checks
//! the text ([`kv_core::Engine::acl_load_text`]); only the file I/O lives here.

use kv_core::Engine;
use std::io::{self, ErrorKind, Write};

/// Redis's refusal of `user` lines together with an `aclfile`.
const BOTH: &str = "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.";

/// Reads the ACL file, with Redis's error text.
pub fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{path}': {}",
            strerror(&e)
        )
    })
}

/// Replaces the ACL file with `text`: written to `<path>.tmp-<pid>` (Redis's name),
/// fsynced, renamed over the file.
pub fn write(path: &str, text: &[u8]) -> Result<(), String> {
    let tmp = format!("{path}.tmp-{}", std::process::id());
    let r = (|| -> io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        log::warn!("Failed saving ACL file '{path}': {e}");
        e.to_string()
    })
}

/// The C library's text for an I/O error (`No such file or directory`), without Rust's
/// ` (os error N)`.
fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// At start (Redis's `ACLLoadUsersAtStartup`): `user` lines and `aclfile` together are
/// refused; the ACL file, when set, replaces the users. An error aborts the start.
pub fn load_at_start(engine: &Engine) -> io::Result<()> {
    let (file, users) = {
        let c = engine.config();
        (c.aclfile.clone(), !c.users.is_empty())
    };
    if file.is_empty() {
        return Ok(());
    }
    if users {
        return Err(io::Error::new(ErrorKind::InvalidInput, BOTH));
    }
    let fail = |m: String| {
        io::Error::new(
            ErrorKind::InvalidData,
            format!("Aborting Redis startup because of ACL errors: {m}"),
        )
    };
    let text = read(&file).map_err(fail)?;
    engine
        .acl_load_text(&text)
        .map_err(|m| fail(String::from_utf8_lossy(&m).into_owned()))?;
    Ok(())
}
