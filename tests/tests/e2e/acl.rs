//! Users and passwords end to end: the `redis` crate (password and user in the URL) and
//! `redis-cli` (`-a`, `--user`/`--pass`) against a `kv_server` with `--requirepass`; the
//! ACL file (`aclfile`: start, ACL SAVE, ACL LOAD, a bad file) and the config file's `user`
//! lines compared with redis-server; the startup errors.

use crate::support::{self, Kind, Raw};
use std::process::Command;
use std::time::Duration;

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(support::require_tool("redis-cli"))
        .args(["-p", &port.to_string(), "--no-auth-warning"])
        .args(args)
        .output()
        .expect("run redis-cli");
    // redis-cli reports a failed AUTH on stderr, then runs the command anyway.
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    text
}

#[test]
fn redis_crate_and_redis_cli_authenticate() {
    let kv = support::start(Kind::Kv, &["--requirepass", "s3cret"]);
    let p = kv.port();
    // Without a password: NOAUTH.
    let mut plain = redis::Client::open(format!("redis://127.0.0.1:{p}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let err = redis::cmd("GET")
        .arg("k")
        .query::<Option<String>>(&mut plain)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"), "{err}");
    // The default user's password in the URL.
    let mut c = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{p}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let who: String = redis::cmd("ACL").arg("WHOAMI").query(&mut c).unwrap();
    assert_eq!(who, "default");
    // A wrong password fails to connect.
    let bad = redis::Client::open(format!("redis://:nope@127.0.0.1:{p}/"))
        .unwrap()
        .get_connection();
    assert!(bad.is_err());
    // A user of its own, with a key pattern.
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "alice", "on", ">pw", "~a*", "+@all"])
        .query(&mut c)
        .unwrap();
    let mut a = redis::Client::open(format!("redis://alice:pw@127.0.0.1:{p}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let who: String = redis::cmd("ACL").arg("WHOAMI").query(&mut a).unwrap();
    assert_eq!(who, "alice");
    let _: () = redis::cmd("SET").arg("a1").arg("x").query(&mut a).unwrap();
    let err = redis::cmd("GET")
        .arg("k")
        .query::<Option<String>>(&mut a)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOPERM"), "{err}");
    // redis-cli: -a, --user/--pass, and nothing.
    assert_eq!(cli(p, &["-a", "s3cret", "GET", "k"]), "v\n");
    assert_eq!(
        cli(p, &["--user", "alice", "--pass", "pw", "GET", "a1"]),
        "x\n"
    );
    assert_eq!(
        cli(p, &["--user", "alice", "--pass", "pw", "ACL", "WHOAMI"]),
        "alice\n"
    );
    assert!(cli(p, &["GET", "k"]).contains("NOAUTH"));
    assert!(cli(p, &["-a", "wrong", "PING"]).contains("WRONGPASS"));
    // CLIENT LIST shows the user.
    let list = cli(p, &["-a", "s3cret", "CLIENT", "LIST"]);
    assert!(list.contains(" user=alice "), "{list}");
    assert!(list.contains(" user=default "), "{list}");
    // CONFIG SET requirepass "" opens the server again.
    assert_eq!(
        cli(p, &["-a", "s3cret", "CONFIG", "SET", "requirepass", ""]),
        "OK\n"
    );
    assert_eq!(cli(p, &["GET", "k"]), "v\n");
    assert!(cli(p, &["-a", "x", "PING"]).contains("AUTH <password> called without"));
}

/// A scratch ACL file name unique to this test (both servers run in one scratch folder
/// per server kind, and resolve the relative name there).
fn write_acl(kind: Kind, name: &str, text: &str) {
    let dir = match kind {
        Kind::Kv => format!("kv-e2e-kv-{}", std::process::id()),
        Kind::Redis => format!("kv-e2e-redis-{}", std::process::id()),
    };
    let dir = std::env::temp_dir().join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

fn read_acl(kind: Kind, name: &str) -> String {
    let dir = match kind {
        Kind::Kv => format!("kv-e2e-kv-{}", std::process::id()),
        Kind::Redis => format!("kv-e2e-redis-{}", std::process::id()),
    };
    std::fs::read_to_string(std::env::temp_dir().join(dir).join(name)).unwrap()
}

#[test]
fn aclfile_load_save_and_errors_match_redis() {
    let name = "acl-e2e-file.acl";
    let first = "user alice on >pw ~a* &ch -@all +@string\nuser default on nopass ~* &* +@all\n";
    let mut replies = Vec::new();
    let mut files = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        write_acl(kind, name, first);
        let s = support::start(kind, &["--aclfile", name]);
        let mut r = Raw::connect(s.port());
        let mut log = Vec::new();
        let mut call =
            |args: &[&str]| log.push(String::from_utf8_lossy(&r.call(args)).into_owned());
        call(&["ACL", "LIST"]);
        call(&["ACL", "SETUSER", "bob", "on", "nopass", "~*", "+get"]);
        call(&["ACL", "SAVE"]);
        files.push(read_acl(kind, name));
        // A bad file changes nothing and says why, line by line.
        write_acl(
            kind,
            name,
            "user carol on +nosuchcommand\nnot a user line\nuser carol off\nuser dave on %X~k\n",
        );
        call(&["ACL", "LOAD"]);
        call(&["ACL", "USERS"]);
        // A good one replaces every user; the default user, if absent, is Redis's.
        write_acl(kind, name, "user erin on >x ~e* +@read\n");
        call(&["ACL", "LOAD"]);
        call(&["ACL", "LIST"]);
        replies.push(log);
        // The clients of replaced users are closed by ACL LOAD.
        drop(s);
    }
    assert_eq!(replies[0], replies[1]);
    assert_eq!(files[0], files[1]);
    assert!(files[1].contains("user bob on nopass ~* resetchannels -@all +get\n"));
}

#[test]
fn acl_load_closes_the_clients_of_replaced_users() {
    let name = "acl-e2e-close.acl";
    write_acl(Kind::Kv, name, "user alice on >pw ~* +@all\n");
    let s = support::start(Kind::Kv, &["--aclfile", name]);
    let mut alice = Raw::connect(s.port());
    assert_eq!(alice.call(&["AUTH", "alice", "pw"]), b"+OK\r\n");
    let mut admin = Raw::connect(s.port());
    assert_eq!(admin.call(&["ACL", "LOAD"]), b"+OK\r\n");
    assert!(alice.closed_within(Duration::from_secs(5)));
    assert_eq!(admin.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn config_file_user_lines_match_redis() {
    let dir = std::env::temp_dir().join(format!("kv-e2e-acl-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("users.conf");
    std::fs::write(
        &conf,
        "user alice on >pw ~a* +@hash\nuser default on >dpw ~* &* +@all\nrequirepass ignored-after-user-default\n",
    )
    .unwrap();
    let mut lists = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let s = support::start_with_file(kind, &conf, &[]);
        let mut r = Raw::connect(s.port());
        let mut got = vec![r.call(&["PING"])];
        got.push(r.call(&["AUTH", "dpw"]));
        got.push(r.call(&["ACL", "LIST"]));
        got.push(r.call(&["AUTH", "alice", "pw"]));
        got.push(r.call(&["HSET", "a", "f", "v"]));
        got.push(r.call(&["GET", "a"]));
        lists.push(got);
    }
    assert_eq!(lists[0], lists[1]);
}

#[test]
fn user_lines_with_an_aclfile_or_bad_rules_stop_the_start() {
    let dir = std::env::temp_dir().join(format!("kv-e2e-acl-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let both = dir.join("both.conf");
    std::fs::write(&both, "user alice on >pw\naclfile users.acl\n").unwrap();
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "user alice on +nosuchcommand\n").unwrap();
    let missing = dir.join("missing.conf");
    std::fs::write(&missing, "aclfile /nonexistent/users.acl\n").unwrap();
    for (conf, want) in [
        (
            &both,
            "please define either an ACL file or declare users directly",
        ),
        (
            &bad,
            "Error in user declaration '+nosuchcommand': Unknown command or category name in ACL",
        ),
        (
            &missing,
            "Error loading ACLs, opening file '/nonexistent/users.acl'",
        ),
    ] {
        let out = Command::new(support::kv_bin())
            .arg(conf)
            .args([
                "--port",
                &support::free_port().to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{conf:?} started");
        // The log (standard output, as Redis) and anything on standard error.
        let err = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(err.contains(want), "{conf:?}: {err}");
    }
}
