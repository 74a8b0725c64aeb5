//! Command-line options in `redis-server`'s style: `--name value [value ...]`, where the
//! names are the engine's configuration parameters (the same table `CONFIG GET` reads).

use kv_core::Config;

/// What the command line asks for.
pub enum Action {
    /// Run the server with this configuration.
    Run(Box<Config>),
    /// Print the usage and exit.
    Help,
    /// Print the version and exit.
    Version,
}

/// The `--help` text.
pub const USAGE: &str = "\
Usage: kv_server [/path/to/kv.conf] [--option value ...]
       kv_server -v | --version
       kv_server -h | --help

mini-kv: a Redis-compatible, multi-threaded, in-memory key-value server.

Options (defaults in brackets):
  --port N                        TCP port to listen on [6379]
  --bind ADDR                     address to listen on [0.0.0.0]
  --workers N                     worker threads, 1..1024 [4]
  --databases N                   number of databases, 1..1024 [16]
  --maxclients N                  most simultaneous clients [10000]
  --loglevel LEVEL                debug, verbose, notice or warning [notice]
  --proto-max-bulk-len BYTES      longest bulk string a client may send [512mb]
  --client-query-buffer-limit B   most buffered request bytes per client [1gb]

A config file uses redis.conf syntax (`name value` lines, `#` comments, quotes) and the
same names; options on the command line apply after it. `CONFIG SET` changes maxclients,
timeout, loglevel and the two limits while the server runs.
  --timeout SECONDS               close clients idle this long, 0 = never [0]

  --dir PATH                      where dump.rdb and appendonlydir/ live [.]
  --dbfilename NAME               the RDB file [dump.rdb]
  --save \"SECS CHANGES ...\"       snapshot schedule, \"\" = never [3600 1 300 100 60 10000]
  --appendonly yes|no             the append-only file [no]
  --appendfsync always|everysec|no  when the AOF is fsynced [everysec]

  --protected-mode yes|no         only loopback clients while the default user has no password [yes]
  --tls-port N                    TLS port, 0 = none (a build with --features tls) [0]
  --tls-cert-file, --tls-key-file, --tls-ca-cert-file PATH   PEM files for TLS
  --tls-auth-clients yes|no|optional  client certificates [yes]

Every redis.conf name of the persistence settings works too (rdbcompression, rdbchecksum,
stop-writes-on-bgsave-error, appendfilename, appenddirname, auto-aof-rewrite-percentage,
auto-aof-rewrite-min-size, aof-load-truncated, aof-use-rdb-preamble, ...).
Sizes take redis units: 1k = 1000, 1kb = 1024, also m, mb, g, gb.

Examples:
  kv_server
  kv_server --port 7000 --bind 127.0.0.1 --workers 2
";

/// The `--version` line.
pub fn version() -> String {
    format!(
        "kv_server v={} (mini-kv, Redis {} semantics)",
        kv_core::VERSION,
        kv_core::REDIS_VERSION
    )
}

/// Parses the arguments after the program name: an optional config file first, then
/// `--name value` options.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Action, String> {
    let args: Vec<String> = args.into_iter().collect();
    let mut config = Config::default();
    let mut i = 0;
    if let Some(first) = args.first().filter(|a| !a.starts_with('-')) {
        let text = std::fs::read_to_string(first)
            .map_err(|e| format!("can't open config file '{first}': {e}"))?;
        config.load_text(&text).map_err(|(line, content, msg)| {
            format!(
                "\n*** FATAL CONFIG FILE ERROR ***\nReading the configuration file '{first}', at line {line}\n>>> '{content}'\n{msg}"
            )
        })?;
        i = 1;
    }
    while let Some(arg) = args.get(i) {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Action::Help),
            "-v" | "--version" => return Ok(Action::Version),
            _ => {}
        }
        let Some(name) = arg.strip_prefix("--") else {
            return Err(format!(
                "unexpected argument '{arg}' (a config file must come first)"
            ));
        };
        // As redis-server: the value is every argument up to the next `--option`.
        let mut j = i + 1;
        while args.get(j).is_some_and(|a| !a.starts_with("--")) {
            j += 1;
        }
        let value = args.get(i + 1..j).unwrap_or(&[]).join(" ");
        config
            .set_startup(name, &value)
            .map_err(|e| format!("option '--{name} {value}': {}", e.message(name)))?;
        i = j;
    }
    Ok(Action::Run(Box::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Action::Run(c) => Ok(*c),
            _ => Err("not run".into()),
        }
    }

    #[test]
    fn defaults_and_options() {
        let c = run(&[]).unwrap();
        assert_eq!((c.port, c.bind.as_str(), c.workers), (6379, "0.0.0.0", 4));
        let c = run(&[
            "--port",
            "7000",
            "--bind",
            "127.0.0.1",
            "--workers",
            "2",
            "--save",
            "",
        ])
        .unwrap();
        assert_eq!((c.port, c.bind.as_str(), c.workers), (7000, "127.0.0.1", 2));
        let c = run(&[
            "--save",
            "--appendonly",
            "no",
            "--proto-max-bulk-len",
            "1mb",
        ])
        .unwrap();
        assert_eq!(c.limits.proto_max_bulk_len, 1024 * 1024);
        assert!(matches!(parse(["--help".to_string()]), Ok(Action::Help)));
        assert!(matches!(parse(["-v".to_string()]), Ok(Action::Version)));
    }

    #[test]
    fn config_file_then_options() {
        let path = std::env::temp_dir().join(format!("kv-cli-test-{}.conf", std::process::id()));
        std::fs::write(
            &path,
            "port 7001\nmaxclients 77 # not a comment: Redis has none mid-line\n",
        )
        .unwrap();
        let p = path.to_string_lossy().to_string();
        assert!(
            run(&[&p]).is_err(),
            "trailing words make maxclients invalid"
        );
        std::fs::write(&path, "port 7001\n# comment\nmaxclients 77\ntimeout 5\n").unwrap();
        let c = run(&[&p, "--port", "7002"]).unwrap();
        assert_eq!((c.port, c.maxclients, c.timeout), (7002, 77, 5));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn bad_options_are_errors() {
        assert!(run(&["--port", "x"]).is_err());
        assert!(run(&["--port"]).is_err());
        assert!(run(&["--nosuch", "1"]).is_err());
        assert!(run(&["/nonexistent/redis.conf"]).is_err());
        assert!(run(&["--port", "1", "kv.conf"]).is_err());
        assert!(run(&["--workers", "0"]).is_err());
        assert!(run(&["--appendonly", "maybe"]).is_err());
        assert!(run(&["--save", "1"]).is_err());
        assert!(run(&["--dbfilename", "a/b"]).is_err());
    }
}
