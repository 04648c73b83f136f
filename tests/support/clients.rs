//! Running the real-client workload programs of tests/clients/ (psycopg 3, asyncpg,
//! node-postgres, pgjdbc, pgbench) against any server that serves the test catalog: a real
//! PostgreSQL (tests/interop_clients_pg.rs) or one of our server examples. scripts/clients.sh
//! installs the clients; nothing here assumes which server is on the other end.
//!
//! Each program prints one line per check (`ok NAME` or `FAIL NAME: reason`) and exits non-zero
//! when a check failed; [`Client::run`] runs one with a time limit and [`Run::assert_ok`] fails
//! the test with everything it printed.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// The SQL that makes a real PostgreSQL serve the test catalog: the `items` table with its three
/// rows, readable and appendable by every user (the rest — `SELECT 1`, `pg_sleep`, `LISTEN`, … —
/// PostgreSQL has already). Dropped and recreated, so that reruns start from the same rows.
pub const CATALOG_SQL: &str = "\
DROP TABLE IF EXISTS items;
CREATE TABLE items (id int4, name text);
INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');
GRANT SELECT, INSERT ON items TO PUBLIC;
";

/// How long one program may run before it is killed (each also stops itself a little earlier,
/// printing where it was stuck).
/// The checks tests/clients/psycopg_check.py runs by default (all but `auth_fail`).
pub const PSYCOPG_CHECKS: &[&str] = &[
    "connect",
    "simple",
    "params",
    "prepared",
    "binary",
    "pipeline",
    "copy",
    "copy_fail",
    "notify",
    "cancel",
    "protocol32",
    "transaction",
    "errors",
];

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where to connect, and as whom.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Empty: the programs send no password.
    pub password: String,
    pub dbname: String,
}

impl Target {
    pub fn new(host: &str, port: u16, user: &str, password: &str) -> Target {
        Target {
            host: host.into(),
            port,
            user: user.into(),
            password: password.into(),
            dbname: "postgres".into(),
        }
    }

    /// The same server as another user.
    pub fn as_user(&self, user: &str, password: &str) -> Target {
        Target {
            user: user.into(),
            password: password.into(),
            ..self.clone()
        }
    }

    /// The common command-line options of every program in tests/clients/.
    fn args(&self) -> Vec<String> {
        vec![
            "--host".into(),
            self.host.clone(),
            "--port".into(),
            self.port.to_string(),
            "--user".into(),
            self.user.clone(),
            "--password".into(),
            self.password.clone(),
            "--dbname".into(),
            self.dbname.clone(),
        ]
    }
}

/// The folder of the workload programs (tests/clients/ of this crate).
pub fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("clients")
}

/// Where scripts/clients.sh installed the Python venv and the npm project:
/// `$PGPROTO_CLIENTS_DIR`, by default /opt/pgproto-clients.
pub fn clients_dir() -> PathBuf {
    std::env::var_os("PGPROTO_CLIENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/pgproto-clients"))
}

fn require(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is not installed ({} is missing): run scripts/clients.sh",
        path.display()
    );
    path
}

/// The first of `names` found on PATH or at one of `extra` absolute paths.
fn find_tool(names: &[&str], extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    extra.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn tool(names: &[&str], extra: &[&str], what: &str) -> PathBuf {
    find_tool(names, extra).unwrap_or_else(|| {
        panic!("{what} is not installed (looked for {names:?} on PATH): run scripts/clients.sh")
    })
}

/// The venv's Python, which has psycopg and asyncpg.
pub fn python() -> PathBuf {
    require(
        clients_dir().join("venv").join("bin").join("python"),
        "the Python venv with psycopg and asyncpg",
    )
}

/// The node_modules folder that holds node-postgres (for NODE_PATH).
pub fn node_modules() -> PathBuf {
    let dir = clients_dir().join("node").join("node_modules");
    require(dir.join("pg").join("package.json"), "node-postgres (pg)");
    dir
}

/// pgjdbc's jar (Debian's libpostgresql-jdbc-java; `$PGPROTO_JDBC_JAR` overrides).
pub fn jdbc_jar() -> PathBuf {
    let jar = std::env::var_os("PGPROTO_JDBC_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/postgresql.jar"));
    require(jar, "pgjdbc (libpostgresql-jdbc-java)")
}

pub fn pgbench() -> PathBuf {
    tool(
        &["pgbench"],
        &["/usr/lib/postgresql/15/bin/pgbench"],
        "pgbench (postgresql-15)",
    )
}

pub fn psql_bin() -> PathBuf {
    tool(
        &["psql"],
        &["/usr/lib/postgresql/15/bin/psql"],
        "psql (postgresql-client-15)",
    )
}

/// tests/clients/JdbcCheck.java compiled with javac, once per version of the source: into
/// `target/tmp/pgproto-jdbc-HASH`, reused by later runs.
pub fn jdbc_classes() -> PathBuf {
    static CLASSES: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CLASSES
        .get_or_init(compile_jdbc)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn compile_jdbc() -> Result<PathBuf, String> {
    let src = programs_dir().join("JdbcCheck.java");
    let jar = jdbc_jar();
    let text = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    jar.hash(&mut h);
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join(format!("pgproto-jdbc-{:016x}", h.finish()));
    if dir.join("JdbcCheck.class").exists() {
        return Ok(dir);
    }
    let javac = find_tool(&["javac"], &[])
        .ok_or("javac is not installed (Java 17 JDK): run scripts/clients.sh")?;
    // Compiled beside, then renamed into place: a concurrent run never sees half a folder.
    let work = tmp.join(format!("pgproto-jdbc-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut cmd = Command::new(javac);
    cmd.arg("-cp").arg(&jar).arg("-d").arg(&work).arg(&src);
    let run = run_with_timeout(cmd, "javac JdbcCheck.java", DEFAULT_TIMEOUT);
    if !run.success() {
        return Err(run.report());
    }
    if std::fs::rename(&work, &dir).is_err() {
        // Another process got there first.
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(dir)
}

/// The workload programs of tests/clients/.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// psycopg_check.py: psycopg 3 on libpq 18.
    Psycopg,
    /// asyncpg_check.py.
    Asyncpg,
    /// node_pg_check.js: node-postgres.
    NodePg,
    /// JdbcCheck.java: pgjdbc.
    Jdbc,
    /// pgbench_check.sh: pgbench -M simple|extended|prepared with select1.sql.
    Pgbench,
}

impl Client {
    pub const ALL: [Client; 5] = [
        Client::Psycopg,
        Client::Asyncpg,
        Client::NodePg,
        Client::Jdbc,
        Client::Pgbench,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Client::Psycopg => "psycopg",
            Client::Asyncpg => "asyncpg",
            Client::NodePg => "node-postgres",
            Client::Jdbc => "pgjdbc",
            Client::Pgbench => "pgbench",
        }
    }

    /// The command that runs this client's program against `target`, with `extra` options
    /// (`--only a,b`, `--skip c`, `--sslmode require`, …; see tests/clients/README.md).
    /// Panics, telling to run scripts/clients.sh, when the client is not installed.
    pub fn command(self, target: &Target, extra: &[&str]) -> Command {
        let dir = programs_dir();
        let mut cmd = match self {
            Client::Psycopg | Client::Asyncpg => {
                let script = if self == Client::Psycopg {
                    "psycopg_check.py"
                } else {
                    "asyncpg_check.py"
                };
                let mut c = Command::new(python());
                c.arg(dir.join(script));
                c
            }
            Client::NodePg => {
                let modules = node_modules();
                let mut c = Command::new(tool(&["node"], &[], "node"));
                c.env("NODE_PATH", modules)
                    .arg(dir.join("node_pg_check.js"));
                c
            }
            Client::Jdbc => {
                let classes = jdbc_classes();
                let mut cp = classes.into_os_string();
                cp.push(":");
                cp.push(jdbc_jar());
                let mut c = Command::new(tool(&["java"], &[], "java (Java 17)"));
                c.arg("-cp").arg(cp).arg("JdbcCheck");
                c
            }
            Client::Pgbench => {
                let mut c = Command::new("bash");
                // The script finds pgbench on PATH; make sure the one found here is first.
                let bin = pgbench();
                let mut path = std::ffi::OsString::from(bin.parent().unwrap());
                path.push(":");
                path.push(std::env::var_os("PATH").unwrap_or_default());
                c.env("PATH", path).arg(dir.join("pgbench_check.sh"));
                c
            }
        };
        // Each program stops itself (with a traceback) a little before it would be killed.
        let own = DEFAULT_TIMEOUT.saturating_sub(Duration::from_secs(5));
        cmd.args(target.args())
            .args(["--timeout", &own.as_secs().to_string()])
            .args(extra)
            .current_dir(&dir)
            // No password from the environment or ~/.pgpass: only the one given.
            .env_remove("PGPASSWORD")
            .env("PGPASSFILE", "/dev/null")
            .env_remove("PGSSLMODE")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }

    /// Runs this client's program against `target` with `extra` options.
    pub fn run(self, target: &Target, extra: &[&str]) -> Run {
        let what = format!(
            "{} as {} on {}:{} {}",
            self.name(),
            target.user,
            target.host,
            target.port,
            extra.join(" ")
        );
        run_with_timeout(self.command(target, extra), what.trim(), DEFAULT_TIMEOUT)
    }
}

/// What a program did.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    /// None when it was killed at its time limit.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The `FAIL ...` lines.
    pub fn failures(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .collect()
    }

    /// The `ok NAME` check names.
    pub fn passed(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("ok "))
            .map(|l| l.split_whitespace().next().unwrap_or(""))
            .collect()
    }

    /// Everything about the run, for a failure message.
    pub fn report(&self) -> String {
        let status = match self.status {
            Some(s) => s.to_string(),
            None => format!("killed after {:.1} s", self.elapsed.as_secs_f64()),
        };
        format!(
            "{}: {status} in {:.1} s\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.what,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }

    /// Fails the test, showing all output, unless the program exited with status 0. Prints the
    /// check lines either way (visible with --nocapture).
    pub fn assert_ok(&self) -> &Run {
        assert!(self.success(), "{}", self.report());
        println!(
            "{} ({:.1} s)\n{}",
            self.what,
            self.elapsed.as_secs_f64(),
            self.stdout
        );
        self
    }

    /// Also requires each of `checks` to have printed `ok`.
    pub fn assert_passed(&self, checks: &[&str]) -> &Run {
        self.assert_ok();
        let passed = self.passed();
        for c in checks {
            assert!(
                passed.contains(c),
                "check {c} did not pass\n{}",
                self.report()
            );
        }
        self
    }
}

/// Runs `cmd` with its output captured, killing it (and whatever it started: it runs in a
/// process group of its own) after `timeout`.
pub fn run_with_timeout(mut cmd: Command, what: &str, timeout: Duration) -> Run {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what} ({:?}): {e}", cmd.get_program()));
    let reader = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for a client program") {
            break Some(s);
        }
        if start.elapsed() > timeout {
            // The whole group: pgbench_check.sh's pgbench too. Only our own child's group.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    Run {
        what: what.into(),
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed,
    }
}

/// Runs `sql` through psql (as `target`'s user, over TCP, stopping at the first error).
pub fn psql(target: &Target, sql: &str) -> Run {
    let mut cmd = Command::new(psql_bin());
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &target.host])
        .args(["-p", &target.port.to_string(), "-U", &target.user])
        .args(["-d", &target.dbname, "-c", sql])
        .env("PGPASSFILE", "/dev/null")
        .env("PGCONNECT_TIMEOUT", "10");
    if target.password.is_empty() {
        cmd.env_remove("PGPASSWORD");
    } else {
        cmd.env("PGPASSWORD", &target.password);
    }
    run_with_timeout(cmd, "psql", Duration::from_secs(30))
}
