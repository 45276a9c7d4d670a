//! A throw-away PostgreSQL for tests: a primary, a streaming standby, a crash and a promotion.
//!
//! [`PgCluster::start`] runs `initdb` into a fresh temporary directory and starts the server on
//! `127.0.0.1` on a free port, with trust authentication for local connections, `wal_level =
//! replica`, WAL senders, and `fsync` and `synchronous_commit` on (a commit is acknowledged
//! after its WAL is flushed). It holds a database `greenledger`, reachable at [`PgCluster::url`].
//! [`PgCluster::standby_of`] copies a primary with `pg_basebackup -R -X stream` and starts the
//! copy as a hot standby (`application_name=standby1`), optionally synchronous;
//! [`PgCluster::kill`] loses the machine (SIGKILL to the server's processes) and
//! [`PgCluster::promote`] turns a standby into a primary. Dropping a cluster stops it
//! (`pg_ctl stop -m fast`) and deletes its directory; `GREENLEDGER_KEEP_PG=1` keeps the directory
//! and prints where it is.
//!
//! The binaries are taken from `PGBIN`, else the highest `/usr/lib/postgresql/<version>/bin`,
//! else `PATH`. Run as root, the server runs as the `postgres` user (`initdb` refuses root),
//! through `runuser -u postgres --`. The server log stays in the cluster's directory
//! ([`PgCluster::log_tail`]); when the server fails to start, stop or promote, its tail is
//! printed to stderr and is part of the error.
//!
//! Without PostgreSQL, [`PgCluster::start`] returns [`PgUnavailable::NotInstalled`];
//! [`start_or_skip`] turns that into a printed skip, unless `GREENLEDGER_REQUIRE_PG=1` (set in
//! CI, which installs PostgreSQL), where it panics.
//!
//! The API is synchronous (`std::process`); it panics nowhere but in [`start_or_skip`].

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The database every cluster holds, named in [`PgCluster::url`].
pub const DATABASE: &str = "greenledger";
/// The superuser `initdb` creates, named in [`PgCluster::url`].
pub const SUPERUSER: &str = "postgres";
/// The `application_name` of the standby [`PgCluster::standby_of`] starts.
pub const STANDBY_NAME: &str = "standby1";
/// Set to `1` to make a missing PostgreSQL a failure instead of a skip.
pub const REQUIRE_ENV: &str = "GREENLEDGER_REQUIRE_PG";
/// Set to `1` to keep a cluster's directory (data and server log) after it is dropped.
pub const KEEP_ENV: &str = "GREENLEDGER_KEEP_PG";

/// How long a server may take to start, stop, promote or catch up before a step fails.
const DEADLINE: Duration = Duration::from_secs(60);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// Lines of the server log shown with a failure.
const TAIL_LINES: usize = 40;

/// Why no cluster could be started. [`is_missing`](PgUnavailable::is_missing) says whether
/// the machine simply lacks PostgreSQL (a test may skip) or the start itself failed.
#[derive(Debug, thiserror::Error)]
pub enum PgUnavailable {
    /// A server binary is found nowhere.
    #[error(
        "PostgreSQL's {tool} is not installed (looked in PGBIN, else the highest /usr/lib/postgresql/*/bin, then PATH); \
         on Debian or Ubuntu: apt-get install -y postgresql"
    )]
    NotInstalled { tool: &'static str },
    /// Run as root, but there is no `postgres` user to run the server as (`initdb` refuses root).
    #[error("run as root, but there is no `{user}` user to run the server as (initdb refuses root)")]
    NoServerUser { user: &'static str },
    /// PostgreSQL is installed but the cluster did not come up.
    #[error(transparent)]
    Failed(#[from] PgError),
}

impl PgUnavailable {
    /// True when PostgreSQL (or its user) is missing from the machine, false when it is there
    /// but failed.
    pub fn is_missing(&self) -> bool {
        !matches!(self, PgUnavailable::Failed(_))
    }
}

/// A step on a running cluster that failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// A program could not be run at all.
    #[error("{step}: could not run {program}: {source}")]
    Spawn { step: String, program: String, source: std::io::Error },
    /// A program ran and failed; `output` is its stderr (and stdout), then the server log's tail
    /// when the step concerns the server.
    #[error("{step}: {program} failed ({status}):\n{output}")]
    Failed { step: String, program: String, status: ExitStatus, output: String },
    /// A wait ran out; `last` is what was seen last.
    #[error("{step}: not done after {waited:?}; last seen: {last}")]
    Timeout { step: String, waited: Duration, last: String },
    /// A file of the cluster could not be read or written.
    #[error("{step}: {path}: {source}")]
    Io { step: String, path: PathBuf, source: std::io::Error },
    /// A standby name that is not a plain identifier (it goes into SQL and a conninfo string).
    #[error("standby name {0:?} refused: only ASCII letters, digits and '_' are allowed, 1 to 63 of them")]
    BadStandbyName(String),
    /// [`PgCluster::kill`] or [`PgCluster::promote`] on a cluster that is not running.
    #[error("{step}: the cluster is not running")]
    NotRunning { step: String },
}

/// Where the PostgreSQL programs are.
#[derive(Debug, Clone)]
struct Bin {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
    pg_basebackup: PathBuf,
}

impl Bin {
    fn find() -> Result<Bin, PgUnavailable> {
        let dir = match std::env::var_os("PGBIN") {
            Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
            _ => highest_versioned_bin(Path::new("/usr/lib/postgresql")),
        };
        let tool = |name: &'static str| -> Result<PathBuf, PgUnavailable> {
            dir.as_ref()
                .map(|d| d.join(name))
                .filter(|p| p.is_file())
                .or_else(|| on_path(name))
                .ok_or(PgUnavailable::NotInstalled { tool: name })
        };
        let bin = Bin {
            initdb: tool("initdb")?,
            pg_ctl: tool("pg_ctl")?,
            psql: tool("psql")?,
            pg_basebackup: tool("pg_basebackup")?,
        };
        // pg_ctl starts the `postgres` beside it.
        tool("postgres")?;
        Ok(bin)
    }
}

/// `<root>/<version>/bin` with the highest numeric version that has an `initdb`.
fn highest_versioned_bin(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(v, _)| *v)
        .map(|(_, bin)| bin)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Whether `GREENLEDGER_REQUIRE_PG=1`.
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// A started cluster, or `None` after printing why the test `test` is skipped: PostgreSQL is
/// not installed and `GREENLEDGER_REQUIRE_PG` is not `1`.
///
/// # Panics
///
/// When PostgreSQL is installed but the cluster fails to start, or is missing while required.
pub fn start_or_skip(test: &str) -> Option<PgCluster> {
    match PgCluster::start() {
        Ok(pg) => Some(pg),
        Err(e) if e.is_missing() && !required() => {
            println!("skipped {test}: {e} (set {REQUIRE_ENV}=1 to make this a failure)");
            None
        }
        Err(e) => panic!("{test}: no PostgreSQL cluster: {e}"),
    }
}

/// A PostgreSQL cluster in a temporary directory, stopped and deleted on drop.
#[derive(Debug)]
pub struct PgCluster {
    bin: Bin,
    /// `runuser -u postgres --` when run as root.
    run_as: Option<&'static str>,
    /// The temporary directory: `data/`, the server log and the Unix socket.
    dir: PathBuf,
    port: u16,
    running: bool,
}

impl PgCluster {
    /// A new primary with the database `greenledger`.
    pub fn start() -> Result<PgCluster, PgUnavailable> {
        let bin = Bin::find()?;
        let run_as = server_user()?;
        let dir = make_dir(run_as)?;
        let mut pg = PgCluster { bin, run_as, dir, port: 0, running: false };
        pg.init()?;
        pg.launch()?;
        pg.psql_db("postgres", &format!("CREATE DATABASE {DATABASE}"))?;
        Ok(pg)
    }

    /// A hot standby of `primary`, streaming from it as `standby1`; with `synchronous`, the
    /// primary is then made to wait for it on every commit ([`make_synchronous`]).
    ///
    /// [`make_synchronous`]: PgCluster::make_synchronous
    pub fn standby_of(primary: &PgCluster, synchronous: bool) -> Result<PgCluster, PgError> {
        let standby = PgCluster::standby_named(primary, STANDBY_NAME)?;
        if synchronous {
            primary.make_synchronous(STANDBY_NAME)?;
        }
        Ok(standby)
    }

    /// A hot standby of `primary` streaming with `application_name = name`, asynchronous until
    /// the primary names it in [`make_synchronous`](PgCluster::make_synchronous).
    pub fn standby_named(primary: &PgCluster, name: &str) -> Result<PgCluster, PgError> {
        check_name(name)?;
        let dir = make_dir(primary.run_as)?;
        let mut standby = PgCluster { bin: primary.bin.clone(), run_as: primary.run_as, dir, port: 0, running: false };
        let conninfo = format!("host=127.0.0.1 port={} user={SUPERUSER} application_name={name}", primary.port);
        let data = standby.data();
        // -R writes standby.signal and a primary_conninfo with these parameters (and so the
        // application name the primary knows the standby by). No fsync of the copy: the tests
        // kill processes, not the machine's page cache; the server itself runs with fsync on.
        standby.run_server_tool(
            "pg_basebackup",
            &standby.bin.pg_basebackup.clone(),
            [
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-d"),
                OsStr::new(&conninfo),
                OsStr::new("-X"),
                OsStr::new("stream"),
                OsStr::new("-R"),
                OsStr::new("-c"),
                OsStr::new("fast"),
                OsStr::new("--no-sync"),
            ],
            Some(primary),
        )?;
        // The copy carries the primary's ALTER SYSTEM settings; a standby promoted with the
        // primary's synchronous_standby_names would wait forever for a standby it does not have.
        let auto = data.join("postgresql.auto.conf");
        let text = read(&auto, "standby configuration")?;
        let kept: String = text.lines().filter(|l| !l.trim_start().starts_with("synchronous_standby_names")).fold(
            String::new(),
            |mut s, l| {
                s.push_str(l);
                s.push('\n');
                s
            },
        );
        write(&auto, &kept, "standby configuration")?;
        standby.launch()?;
        standby.wait_for("standby in recovery", || Ok(standby.psql("SELECT pg_is_in_recovery()")? == "t"))?;
        let sql = format!("SELECT state FROM pg_stat_replication WHERE application_name = '{name}'");
        primary.wait_for(&format!("{name} streaming from the primary"), || Ok(primary.psql(&sql)? == "streaming"))?;
        Ok(standby)
    }

    /// Names the standby `name` in `synchronous_standby_names` (ALTER SYSTEM and a reload) and
    /// waits until `pg_stat_replication` shows it as `sync`: from then on a commit returns only
    /// once the standby has flushed it.
    pub fn make_synchronous(&self, name: &str) -> Result<(), PgError> {
        check_name(name)?;
        self.psql(&format!("ALTER SYSTEM SET synchronous_standby_names = '{name}'"))?;
        self.psql("SELECT pg_reload_conf()")?;
        let sql = format!("SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'");
        self.wait_for(&format!("{name} synchronous"), || Ok(self.psql(&sql)? == "sync"))
    }

    /// Crashes the server like a lost machine: stops the postmaster (so it forks nothing
    /// more), then SIGKILLs it and every process it started, and waits until it is gone. Its
    /// `postmaster.pid` stays, as after a power cut; [`restart`](PgCluster::restart) recovers.
    pub fn kill(&mut self) -> Result<(), PgError> {
        if !self.running {
            return Err(PgError::NotRunning { step: "kill".into() });
        }
        let pid_file = self.data().join("postmaster.pid");
        let text = read(&pid_file, "kill")?;
        let pid = first_line_pid(&text).ok_or_else(|| PgError::Io {
            step: "kill".into(),
            path: pid_file.clone(),
            source: std::io::Error::other(format!("first line is not a process id: {text:?}")),
        })?;
        run("kill", Command::new("kill").args(["-STOP", &pid.to_string()]))?;
        let mut victims = vec![pid];
        victims.extend(children_of(pid));
        let mut cmd = Command::new("kill");
        cmd.arg("-KILL").args(victims.iter().map(u32::to_string));
        run("kill", &mut cmd)?;
        self.running = false;
        wait_until("server processes gone after SIGKILL", || {
            let alive: Vec<u32> = victims.iter().copied().filter(|p| is_alive(*p)).collect();
            if alive.is_empty() {
                Ok(None)
            } else {
                Ok(Some(format!("still alive: {alive:?}")))
            }
        })
    }

    /// Starts the server again on the same directory and port (after [`kill`](PgCluster::kill):
    /// crash recovery).
    ///
    /// A killed postmaster that no one reaps stays a zombie, and the server would take its
    /// lock files (`postmaster.pid`, the socket's `.lock`) for a running server's; as after a
    /// reboot, a lock file whose process is gone or a zombie is removed first.
    pub fn restart(&mut self) -> Result<(), PgError> {
        if self.running {
            self.stop()?;
        }
        for lock in [self.data().join("postmaster.pid"), self.dir.join(format!(".s.PGSQL.{}.lock", self.port))] {
            let Some(pid) = std::fs::read_to_string(&lock).ok().as_deref().and_then(first_line_pid) else { continue };
            if !is_alive(pid) {
                std::fs::remove_file(&lock).map_err(|source| PgError::Io {
                    step: "remove a stale lock file".into(),
                    path: lock.clone(),
                    source,
                })?;
            }
        }
        self.pg_ctl_start()
    }

    /// Stops the server (`pg_ctl stop -m fast`); the directory stays until the drop.
    pub fn stop(&mut self) -> Result<(), PgError> {
        if !self.running {
            return Ok(());
        }
        let data = self.data();
        self.run_server_tool(
            "pg_ctl stop",
            &self.bin.pg_ctl,
            [
                OsStr::new("stop"),
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-m"),
                OsStr::new("fast"),
                OsStr::new("-w"),
            ],
            None,
        )?;
        self.running = false;
        Ok(())
    }

    /// Promotes a standby (`pg_ctl promote -w`) and waits until it leaves recovery.
    pub fn promote(&self) -> Result<(), PgError> {
        if !self.running {
            return Err(PgError::NotRunning { step: "promote".into() });
        }
        let data = self.data();
        self.run_server_tool(
            "pg_ctl promote",
            &self.bin.pg_ctl,
            [OsStr::new("promote"), OsStr::new("-D"), data.as_os_str(), OsStr::new("-w")],
            None,
        )?;
        self.wait_for("promoted out of recovery", || Ok(self.psql("SELECT pg_is_in_recovery()")? == "f"))
    }

    /// Runs `sql` in the database `greenledger` with `psql -At` (unaligned, no headers; rows
    /// on lines, columns separated by `|`) and returns its output without the final newline.
    pub fn psql(&self, sql: &str) -> Result<String, PgError> {
        self.psql_db(DATABASE, sql)
    }

    /// [`psql`](PgCluster::psql) in another database (`postgres`, say).
    pub fn psql_db(&self, database: &str, sql: &str) -> Result<String, PgError> {
        let mut cmd = Command::new(&self.bin.psql);
        cmd.args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", SUPERUSER])
            .args(["-p", &self.port.to_string(), "-d", database, "-c", sql])
            .env("PGCONNECT_TIMEOUT", "10")
            .current_dir(&self.dir);
        let out = run(&format!("psql {sql:?}"), &mut cmd)?;
        Ok(out.trim_end_matches('\n').to_string())
    }

    /// `postgres://postgres@127.0.0.1:PORT/greenledger`.
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The TCP port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's temporary directory (`data/`, `server.log`, the Unix socket).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the server was started and not since stopped or killed.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// initdb, then the settings every cluster shares (a standby inherits them with the copy).
    fn init(&self) -> Result<(), PgError> {
        let data = self.data();
        // No fsync of initdb's files: the tests kill processes, not the page cache.
        self.run_server_tool(
            "initdb",
            &self.bin.initdb,
            [
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-U"),
                OsStr::new(SUPERUSER),
                OsStr::new("-A"),
                OsStr::new("trust"),
                OsStr::new("-E"),
                OsStr::new("UTF8"),
                OsStr::new("--locale=C"),
                OsStr::new("--no-sync"),
            ],
            None,
        )?;
        let hba = "# Throw-away test cluster: trust on the Unix socket and 127.0.0.1 only.\n\
                   local all all trust\n\
                   local replication all trust\n\
                   host all all 127.0.0.1/32 trust\n\
                   host replication all 127.0.0.1/32 trust\n";
        write(&data.join("pg_hba.conf"), hba, "pg_hba.conf")?;
        let conf = data.join("postgresql.conf");
        let mut text = read(&conf, "postgresql.conf")?;
        text.push_str(
            "\n# Throw-away test cluster (greenledger::testkit::postgres).\n\
             wal_level = replica\n\
             max_wal_senders = 10\n\
             max_replication_slots = 10\n\
             wal_keep_size = '128MB'\n\
             hot_standby = on\n\
             fsync = on\n\
             synchronous_commit = on\n\
             full_page_writes = on\n\
             shared_buffers = '16MB'\n\
             max_connections = 40\n\
             logging_collector = off\n\
             log_line_prefix = '%m [%p] %q%a '\n\
             # Port, address and socket of this node; rewritten for a standby.\n\
             include = 'node.conf'\n",
        );
        write(&conf, &text, "postgresql.conf")
    }

    /// Picks a free port, writes `node.conf` and starts the server; retried on another port
    /// when the one picked was taken in between.
    fn launch(&mut self) -> Result<(), PgError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.port = free_port()?;
            let node = format!(
                "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n",
                self.port,
                self.dir.display().to_string().replace('\'', "''"),
            );
            write(&self.data().join("node.conf"), &node, "node.conf")?;
            match self.pg_ctl_start() {
                Ok(()) => return Ok(()),
                Err(e) if attempt < 3 && self.log_tail(TAIL_LINES).contains("could not bind") => {
                    eprintln!("postgres: port {} was taken, trying another: {e}", self.port);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn pg_ctl_start(&mut self) -> Result<(), PgError> {
        let data = self.data();
        let log = self.log();
        self.run_server_tool(
            "pg_ctl start",
            &self.bin.pg_ctl,
            [
                OsStr::new("start"),
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-l"),
                log.as_os_str(),
                OsStr::new("-w"),
                OsStr::new("-t"),
                OsStr::new("60"),
            ],
            None,
        )?;
        self.running = true;
        Ok(())
    }

    /// Runs a server program as the server's user in the cluster's directory; on failure the
    /// error (and stderr) carry the tail of this cluster's log, and of `other`'s when given.
    fn run_server_tool<'a>(
        &self,
        step: &str,
        program: &Path,
        args: impl IntoIterator<Item = &'a OsStr>,
        other: Option<&PgCluster>,
    ) -> Result<String, PgError> {
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args).current_dir(&self.dir);
        run(step, &mut cmd).map_err(|e| {
            let mut e = e;
            if let PgError::Failed { output, .. } = &mut e {
                for pg in std::iter::once(self).chain(other) {
                    let tail = pg.log_tail(TAIL_LINES);
                    let _ = write!(output, "\n--- server log {} (tail) ---\n{tail}", pg.log().display());
                }
            }
            eprintln!("postgres: {e}");
            e
        })
    }

    /// Polls `done` until it is true; on timeout the error and stderr carry the log's tail.
    fn wait_for(&self, step: &str, mut done: impl FnMut() -> Result<bool, PgError>) -> Result<(), PgError> {
        wait_until(step, || match done() {
            Ok(true) => Ok(None),
            Ok(false) => Ok(Some("not yet".to_string())),
            // The server may refuse connections for a moment (starting, promoting).
            Err(e) => Ok(Some(e.to_string())),
        })
        .map_err(|e| {
            let e = match e {
                PgError::Timeout { step, waited, last } => PgError::Timeout {
                    step,
                    waited,
                    last: format!(
                        "{last}\n--- server log {} (tail) ---\n{}",
                        self.log().display(),
                        self.log_tail(TAIL_LINES)
                    ),
                },
                other => other,
            };
            eprintln!("postgres: {e}");
            e
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            if let Err(e) = self.stop() {
                eprintln!("postgres: could not stop the cluster in {}: {e}", self.dir.display());
                let data = self.data();
                let _ = self.run_server_tool(
                    "pg_ctl stop -m immediate",
                    &self.bin.pg_ctl,
                    [OsStr::new("stop"), OsStr::new("-D"), data.as_os_str(), OsStr::new("-m"), OsStr::new("immediate")],
                    None,
                );
            }
        }
        if std::env::var(KEEP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("postgres: kept {} ({KEEP_ENV}=1)", self.dir.display());
        } else if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("postgres: could not delete {}: {e}", self.dir.display());
        }
    }
}

/// `Some("postgres")` when run as root, after checking the user exists.
fn server_user() -> Result<Option<&'static str>, PgUnavailable> {
    let uid = run("id -u", Command::new("id").arg("-u"))?;
    if uid.trim() != "0" {
        return Ok(None);
    }
    match Command::new("id").args(["-u", SUPERUSER]).output() {
        Ok(o) if o.status.success() => Ok(Some(SUPERUSER)),
        _ => Err(PgUnavailable::NoServerUser { user: SUPERUSER }),
    }
}

/// A new directory `glpg-<pid>-<n>-<nanos>` under `PGTMP` or the system's temporary directory,
/// mode 0700, owned by the server's user.
fn make_dir(run_as: Option<&str>) -> Result<PathBuf, PgError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = std::env::var_os("PGTMP").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = base.join(format!("glpg-{}-{n}-{nanos}", std::process::id()));
    let io = |source| PgError::Io { step: "cluster directory".into(), path: dir.clone(), source };
    std::fs::create_dir(&dir).map_err(io)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    if let Some(user) = run_as {
        let mut cmd = Command::new("chown");
        cmd.arg(format!("{user}:")).arg(&dir);
        run("chown the cluster directory", &mut cmd)?;
    }
    Ok(dir)
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, PgError> {
    let io = |source| PgError::Io { step: "free port".into(), path: PathBuf::from("127.0.0.1:0"), source };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io)?;
    Ok(listener.local_addr().map_err(io)?.port())
}

fn check_name(name: &str) -> Result<(), PgError> {
    let ok = !name.is_empty() && name.len() <= 63 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(PgError::BadStandbyName(name.to_string()))
    }
}

/// Runs `cmd`; its stdout when it succeeds.
fn run(step: &str, cmd: &mut Command) -> Result<String, PgError> {
    let program = format!("{:?}", cmd.get_program());
    let out =
        cmd.output().map_err(|source| PgError::Spawn { step: step.to_string(), program: program.clone(), source })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(PgError::Failed {
            step: step.to_string(),
            program,
            status: out.status,
            output: format!(
                "{}{}",
                stderr.trim_end(),
                if stdout.is_empty() { String::new() } else { format!("\n{stdout}") }
            ),
        })
    }
}

/// Polls `pending` (None = done, Some(what is still missing)) until done or [`DEADLINE`].
fn wait_until(step: &str, mut pending: impl FnMut() -> Result<Option<String>, PgError>) -> Result<(), PgError> {
    let start = Instant::now();
    loop {
        match pending()? {
            None => return Ok(()),
            Some(last) if start.elapsed() >= DEADLINE => {
                return Err(PgError::Timeout { step: step.to_string(), waited: start.elapsed(), last })
            }
            Some(_) => std::thread::sleep(POLL),
        }
    }
}

/// The postmaster's process id: the first line of `postmaster.pid`.
fn first_line_pid(text: &str) -> Option<u32> {
    text.lines().next()?.trim().parse().ok()
}

/// The processes whose parent is `pid` (from `/proc`).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| proc_stat(*child).is_some_and(|(_, ppid)| ppid == pid))
        .collect()
}

/// A process exists and is not a zombie (a killed server whose parent does not reap it).
fn is_alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// State and parent of a process from `/proc/<pid>/stat` (the fields after the command name,
/// which is in parentheses and may hold spaces).
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

fn parse_stat(stat: &str) -> Option<(char, u32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn read(path: &Path, step: &str) -> Result<String, PgError> {
    std::fs::read_to_string(path).map_err(|source| PgError::Io {
        step: step.to_string(),
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, text: &str, step: &str) -> Result<(), PgError> {
    std::fs::write(path, text).map_err(|source| PgError::Io {
        step: step.to_string(),
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (postgres: walwriter (x)) S 4200 4242 4242 0 -1 4194368";
        assert_eq!(parse_stat(stat), Some(('S', 4200)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn standby_names_are_plain_identifiers() {
        assert!(check_name("standby1").is_ok());
        assert!(check_name("node_2").is_ok());
        for bad in ["", "standby'1", "a b", "x;DROP", &"s".repeat(64)] {
            assert!(matches!(check_name(bad), Err(PgError::BadStandbyName(n)) if n == bad), "{bad:?}");
        }
    }

    #[test]
    fn the_highest_numeric_version_with_an_initdb_wins() {
        let root = std::env::temp_dir().join(format!("glpg-versions-{}", std::process::id()));
        for (v, with_initdb) in [("9", true), ("15", true), ("16", false), ("notes", true)] {
            let bin = root.join(v).join("bin");
            std::fs::create_dir_all(&bin).expect("test directory");
            if with_initdb {
                std::fs::write(bin.join("initdb"), "").expect("test file");
            }
        }
        assert_eq!(highest_versioned_bin(&root), Some(root.join("15").join("bin")));
        assert_eq!(highest_versioned_bin(&root.join("missing")), None);
        std::fs::remove_dir_all(&root).expect("cleanup");
    }
}
