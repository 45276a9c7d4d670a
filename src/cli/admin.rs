//! Running a ledger: `init`, `serve`, `keygen`, `demo`.

use super::client::{block_on, read_key, write_key, write_secret};
use crate::ledger::{Ledger, SystemClock};
use crate::store::SledStore;
use anyhow::{bail, Context as _};
use clap::Args;
use greenledger_core::command as cmd;
use greenledger_core::command::Command;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::NoteSigner;
use greenledger_core::policy::{Expiry, Policy, Vintage, PRESETS};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files of a ledger directory.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn store(&self) -> PathBuf {
        self.0.join("store")
    }
    pub fn log_key(&self) -> PathBuf {
        self.0.join("log.key")
    }
    pub fn log_pub(&self) -> PathBuf {
        self.0.join("log.pub")
    }
    pub fn operator_key(&self) -> PathBuf {
        self.0.join("operator.key")
    }
    pub fn holds_ledger(&self) -> bool {
        self.log_key().exists() && self.store().exists()
    }
    /// Opens the ledger in this directory, checking its integrity.
    pub fn open(&self) -> anyhow::Result<Ledger<SledStore>> {
        if !self.holds_ledger() {
            bail!(
                "{} holds no ledger; create one first with: greenledger init --data {}",
                self.0.display(),
                self.0.display()
            );
        }
        let signer = self.signer()?;
        let store = self.open_store()?;
        Ledger::open(Arc::new(store), signer, Arc::new(SystemClock))
            .with_context(|| format!("the ledger in {} failed its integrity check", self.0.display()))
    }
    /// Opens the store, saying plainly when another process holds it.
    pub fn open_store(&self) -> anyhow::Result<SledStore> {
        SledStore::open(&self.store()).map_err(|e| {
            let text = e.to_string();
            if text.contains("could not acquire lock") || text.contains("WouldBlock") {
                anyhow::anyhow!(
                    "the ledger in {} is in use by another process (a running `greenledger serve`?): stop it, \
                     or ask that server with --server ADDR",
                    self.0.display()
                )
            } else {
                anyhow::Error::new(e).context(format!("opening {}", self.store().display()))
            }
        })
    }

    pub fn signer(&self) -> anyhow::Result<NoteSigner> {
        let text = std::fs::read_to_string(self.log_key())?;
        Ok(NoteSigner::from_signer_key_str(text.trim())?)
    }
}

/// `greenledger init`: a ledger directory with a policy from a scheme's preset and overrides.
#[derive(Args, Debug)]
pub struct Init {
    /// Directory for the ledger (created if missing; must not hold a ledger).
    #[arg(long)]
    pub data: PathBuf,
    /// Ledger name: the checkpoint origin, e.g. registry.example.cn/gec.
    #[arg(long, default_value = "greenledger.local/ledger")]
    pub name: String,
    /// Operator key file; created if it does not exist. Default: DIR/operator.key.
    #[arg(long)]
    pub operator_key: Option<PathBuf>,
    #[arg(long, default_value = "Registry operator")]
    pub operator_name: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Also write the new ledger as a log replicated through PostgreSQL (`postgres://…`), in a
    /// database that holds none yet; then run `greenledger serve --log URL` on every node.
    #[arg(long, value_name = "URL")]
    pub log: Option<String>,
}

/// A policy: a scheme's preset, then the values given on the command line (`init` and
/// `amend-policy`).
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// The scheme whose documented values the policy starts from (the table of
    /// greenledger_core::policy::Policy::preset): gec = China GEC (1 MWh, valid 24 months
    /// including the production month in Asia/Shanghai, output before 2024 valid to the end of
    /// 2025, one transfer, GEC certificate classes, issued monthly by the operator, corrections
    /// alone within 3 months); eecs-go = EECS Guarantees of Origin (1 MWh, 12 months after the
    /// end of production, UTC, unlimited transfers, owner issuance); i-rec = I-REC (as eecs-go,
    /// no expiry); energytag = EnergyTag granular certificates (1 Wh, 12 months, hourly matching,
    /// readings of at most 1 h). [init default: gec]
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: Option<String>,
    /// Override: Wh per certificate (1000000 for GEC/GO, 1 for granular certificates).
    #[arg(long)]
    pub unit_wh: Option<u64>,
    /// Override: how many months certificates stay valid, counted as the preset counts them
    /// (after the end of production when the preset has no expiry).
    #[arg(long)]
    pub validity_months: Option<u32>,
    /// Override: how expiry is counted: month-inclusive (from the production month, that month
    /// included), after-end (after the end of production) or never.
    #[arg(long, value_parser = ["month-inclusive", "after-end", "never"])]
    pub expiry: Option<String>,
    /// Override: how many times a certificate may be transferred, or "unlimited".
    #[arg(long, value_parser = transfers_arg)]
    pub max_transfers: Option<Transfers>,
    /// Override: claims must match consumption hour by hour (`--hourly-matching false` turns it off).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub hourly_matching: Option<bool>,
    /// Override: whether device owners may ask for issuance (`false`: only the operator issues,
    /// month by month).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub owner_issuance: Option<bool>,
    /// Override: the month (1 to 12) in which reporting periods start, in the policy's zone: 1
    /// for calendar years, 4 for April fiscal years. A claim lies inside one reporting period.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=12))]
    pub reporting_start_month: Option<u32>,
    /// Override: how close the certificates' production must be to the consumption claimed:
    /// same-period (the same reporting period), within-months:N (at most N calendar months
    /// before or after), or any.
    #[arg(long, value_parser = vintage_arg, value_name = "same-period|within-months:N|any")]
    pub vintage: Option<Vintage>,
}

/// `--vintage`: same-period, within-months:N or any.
pub fn vintage_arg(s: &str) -> Result<Vintage, String> {
    let bad =
        || format!("{s:?} is not a vintage rule: write same-period, within-months:N (e.g. within-months:3) or any");
    match s.trim() {
        "same-period" => Ok(Vintage::SameReportingPeriod),
        "any" => Ok(Vintage::Any),
        t => {
            let n = t.strip_prefix("within-months:").ok_or_else(bad)?;
            n.trim().parse().map(Vintage::WithinMonths).map_err(|_| bad())
        }
    }
}

/// `--max-transfers`: a number, or unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfers(pub Option<u32>);

fn transfers_arg(s: &str) -> Result<Transfers, String> {
    if s.trim() == "unlimited" {
        return Ok(Transfers(None));
    }
    s.trim()
        .parse()
        .map(|n| Transfers(Some(n)))
        .map_err(|_| format!("{s:?} is not a number of transfers or \"unlimited\""))
}

impl PolicyArgs {
    /// The preset named by `--preset` (or `default`) for the ledger `name`.
    pub fn preset(&self, default: &str, name: &str) -> Policy {
        let preset = self.preset.as_deref().unwrap_or(default);
        Policy::preset(preset, name).expect("clap admits only the presets")
    }

    /// `base` with the overrides given.
    pub fn apply(&self, mut policy: Policy) -> Policy {
        if let Some(u) = self.unit_wh {
            policy.unit_wh = u;
        }
        let months = match policy.expiry {
            Expiry::MonthInclusive { months } | Expiry::AfterEnd { months } => months,
            Expiry::Never => 24,
        };
        let months = self.validity_months.unwrap_or(months);
        policy.expiry = match (self.expiry.as_deref(), policy.expiry) {
            (Some("never"), _) => Expiry::Never,
            (Some("month-inclusive"), _) | (None, Expiry::MonthInclusive { .. }) => Expiry::MonthInclusive { months },
            (Some(_), _) | (None, Expiry::AfterEnd { .. }) => Expiry::AfterEnd { months },
            (None, Expiry::Never) if self.validity_months.is_some() => Expiry::AfterEnd { months },
            (None, Expiry::Never) => Expiry::Never,
        };
        if let Some(Transfers(t)) = self.max_transfers {
            policy.max_transfers = t;
        }
        if let Some(h) = self.hourly_matching {
            policy.hourly_matching = h;
        }
        if let Some(o) = self.owner_issuance {
            policy.owner_issuance = o;
        }
        if let Some(m) = self.reporting_start_month {
            policy.reporting_start_month = m;
        }
        if let Some(v) = self.vintage {
            policy.vintage = v;
        }
        policy
    }
}

/// Creates a ledger directory `data` founded on `policy`; returns the operator key (read from
/// `operator_key`, or made, default `data/operator.key`).
pub fn create_with(
    data: &Path,
    operator_key: Option<&Path>,
    operator_name: &str,
    policy: Policy,
) -> anyhow::Result<(Ledger<SledStore>, Keypair)> {
    let dir = DataDir(data.to_path_buf());
    if dir.holds_ledger() {
        bail!("{} already holds a ledger", data.display());
    }
    if let Some(problem) = policy.problem() {
        bail!("{problem}");
    }
    std::fs::create_dir_all(data)?;
    let op_path = operator_key.map_or_else(|| dir.operator_key(), Path::to_path_buf);
    let operator = if op_path.exists() {
        let k = read_key(&op_path)?;
        println!("using the existing operator key {} (account {})", op_path.display(), k.account());
        k
    } else {
        let k = Keypair::random();
        write_key(&op_path, &k)?;
        k
    };
    let signer = NoteSigner::generate(&policy.name, &mut rand_core::OsRng)?;
    write_secret(&dir.log_key(), &format!("{}\n", signer.to_signer_key_string()))?;
    std::fs::write(dir.log_pub(), format!("{}\n", signer.verifier()))?;
    let name = policy.name.clone();
    let genesis =
        operator.sign(&name, 0, Command::Genesis(cmd::Genesis { policy, operator_name: operator_name.into() }));
    let store = dir.open_store()?;
    let ledger = Ledger::create(Arc::new(store), signer, genesis, Arc::new(SystemClock))?;
    Ok((ledger, operator))
}

pub fn init(args: Init) -> anyhow::Result<()> {
    let policy = args.policy.apply(args.policy.preset("gec", &args.name));
    if let Some(url) = &args.log {
        block_on(crate::replication::check_empty(url))?;
    }
    let (ledger, operator) = create_with(&args.data, args.operator_key.as_deref(), &args.operator_name, policy)?;
    let op_path = args.operator_key.clone().unwrap_or_else(|| DataDir(args.data.clone()).operator_key());
    println!("created ledger {} in {}", ledger.name(), args.data.display());
    println!("  policy: {}", ledger.meta()?.policy.describe());
    println!("  log verifier key: {}", ledger.verifier());
    println!("  operator account: {} (key in {})", operator.account(), op_path.display());
    match &args.log {
        None => println!("serve it with: greenledger serve --data {}", args.data.display()),
        Some(url) => {
            block_on(crate::replication::bootstrap(url, &ledger))?;
            println!("  replicated log: {url}");
            println!(
                "serve it with: greenledger serve --log {url} --data {} (on other nodes: a directory holding a copy \
                 of {})",
                args.data.display(),
                DataDir(args.data.clone()).log_key().display()
            );
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,
    /// PEM certificate chain: serve TLS instead of plaintext (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Requests one connection may have in flight.
    #[arg(long, default_value_t = crate::rpc::server::DEFAULT_CONCURRENCY_PER_CONNECTION)]
    pub concurrency_per_connection: usize,
    /// Seconds a request may take until its response starts.
    #[arg(long, default_value_t = crate::rpc::server::DEFAULT_REQUEST_TIMEOUT.as_secs())]
    pub request_timeout_s: u64,
    /// Also serve Prometheus metrics on `GET /metrics` over plain HTTP on this address
    /// (off unless given).
    #[arg(long)]
    pub http_addr: Option<SocketAddr>,
    /// Before serving, replay the whole log and compare the state and tree it derives with
    /// what the store holds (slow on a big ledger; the default start-up check is quick).
    #[arg(long)]
    pub verify: bool,
    /// Replicate the log through PostgreSQL (`postgres://user@host:port/db`): this node leads
    /// while it holds the lease in that database and follows otherwise. DIR holds this node's
    /// own store and a copy of the log's key (log.key); see docs/deployment.md.
    #[arg(long, value_name = "URL", env = "GREENLEDGER_LOG")]
    pub log: Option<String>,
    /// With --log: the gRPC address other nodes forward submissions to while this node leads.
    /// Default: http://ADDR.
    #[arg(long, requires = "log", value_name = "URL")]
    pub advertise: Option<String>,
    /// With --log: how long the leader's lease lasts without a renewal, e.g. 10s or 2500ms.
    #[arg(long, requires = "log", default_value = "10s", value_parser = parse_span)]
    pub lease_ttl: std::time::Duration,
    /// Publish a checkpoint (for witnesses, `GET /checkpoint` and proof bundles) this often
    /// when the tree changed: `500ms`, `2s`, `1m` or seconds.
    #[arg(long, default_value = "2s", value_parser = crate::publish::parse_interval)]
    pub publish_interval: std::time::Duration,
    /// Publish at once when the tree grew by this many entries since the last publish.
    #[arg(long, default_value_t = crate::publish::DEFAULT_EVERY)]
    pub publish_every: u64,
    /// A C2SP tlog-witness to push each published checkpoint to, as URL=KEY: its submission
    /// prefix and its cosignature verifier key (name+hash+base64). Repeatable.
    #[arg(long = "witness", value_name = "URL=KEY")]
    pub witnesses: Vec<crate::publish::WitnessEndpoint>,
}

/// The publisher's settings from `serve`'s flags ([`crate::publish`]).
pub fn publish_options(args: &ServeArgs) -> crate::publish::PublishOptions {
    crate::publish::PublishOptions {
        interval: args.publish_interval,
        every: args.publish_every.max(1),
        witnesses: args.witnesses.clone(),
        ..Default::default()
    }
}

/// `10s`, `2500ms`, `1m` or plain seconds.
pub fn parse_span(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is no duration: write e.g. 10s, 2500ms or 1m"))?;
    let d = match unit {
        "" | "s" => std::time::Duration::from_secs(n),
        "ms" => std::time::Duration::from_millis(n),
        "m" => std::time::Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s or m)")),
    };
    if d.is_zero() {
        return Err(format!("{text:?}: must be more than zero"));
    }
    Ok(d)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut options = crate::rpc::server::ServeOptions {
        concurrency_per_connection: args.concurrency_per_connection.max(1),
        request_timeout: std::time::Duration::from_secs(args.request_timeout_s.max(1)),
        http_addr: args.http_addr,
        ..Default::default()
    };
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        options = options.with_tls_files(cert, key)?;
    }
    if let Some(url) = args.log.clone() {
        return serve_replicated(args, options, &url);
    }
    options.publish = Some(publish_options(&args));
    let ledger = Arc::new(DataDir(args.data.clone()).open()?);
    if args.verify {
        let report = ledger
            .verify_full()
            .with_context(|| format!("the ledger in {} failed the full verification", args.data.display()))?;
        println!("verified: {report}");
    }
    block_on(serve_ledger(ledger, &args, options, async {}))
}

/// Serves `ledger` on the addresses of `args` until Ctrl-C; `stopped` runs after the server.
async fn serve_ledger(
    ledger: Arc<Ledger<SledStore>>,
    args: &ServeArgs,
    options: crate::rpc::server::ServeOptions,
    stopped: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let tls = options.tls.is_some();
    {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let committed = ledger.committed();
        tracing::info!(ledger = %committed.head.name, size = committed.head.size, addr = %listener.local_addr()?, "serving");
        println!(
            "serving ledger {} ({} entries) on {}{}\n  log key: {}",
            committed.head.name,
            committed.head.size,
            listener.local_addr()?,
            if tls { " with TLS" } else { "" },
            ledger.verifier()
        );
        if let Some(http) = args.http_addr {
            println!("  metrics: http://{http}/metrics");
        }
        let sequencer = crate::ledger::Sequencer::start(ledger.clone(), crate::ledger::sequencer::DEFAULT_MAX_BATCH);
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let served =
            crate::rpc::server::serve_with(ledger, sequencer, Arc::new(SystemClock), listener, options, shutdown).await;
        stopped.await;
        served
    }
}

/// `serve --log URL`: a node of a ledger replicated through PostgreSQL ([`crate::replication`]).
fn serve_replicated(args: ServeArgs, mut options: crate::rpc::server::ServeOptions, url: &str) -> anyhow::Result<()> {
    use crate::replication::{Node, NodeConfig};
    let dir = DataDir(args.data.clone());
    let signer = dir.signer().with_context(|| {
        format!(
            "{} must hold the log's key: copy log.key from the directory `greenledger init --log` created",
            dir.log_key().display()
        )
    })?;
    let advertise = args.advertise.clone().unwrap_or_else(|| format!("http://{}", args.addr));
    block_on(async move {
        let store = Arc::new(dir.open_store()?);
        let clock = Arc::new(SystemClock);
        let ledger = if crate::store::Store::get(&*store, crate::store::keys::HEAD)?.is_some() {
            Ledger::open(store, signer, clock)
                .with_context(|| format!("the ledger in {} failed its integrity check", args.data.display()))?
        } else {
            Ledger::create_replica(store, signer, clock)?
        };
        let mut config = NodeConfig::new(url, &advertise);
        config.lease_ttl = args.lease_ttl;
        let node = Node::new(config);
        let ledger = Arc::new(ledger.with_sink(node.sink()));
        node.check_joined(&ledger).await?;
        println!("node of the replicated log in {url} (advertised as {advertise}; the lease decides who leads)");
        options.leader = Some(node.clone());
        // One published state for all nodes, in the log's database; only the leader publishes.
        let replayed = ledger.clone();
        let state =
            crate::replication::publish::PgPublishState::new(url).with_ceiling(move || replayed.committed().head.size);
        options.publish = Some(publish_options(&args));
        options.publish_state = Some(Arc::new(state));
        options.publish_gate = Some(crate::replication::publish::leader_gate(&node));
        tokio::spawn(node.clone().run(ledger.clone()));
        serve_ledger(ledger, &args, options, node.stop()).await
    })
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the secret key (0600).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let k = Keypair::random();
    write_key(&args.out, &k)?;
    println!("{}", k.account());
    Ok(())
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Directory for the demo ledger.
    #[arg(long, default_value = "greenledger-demo")]
    pub data: PathBuf,
    /// Remove an earlier demo ledger in DIR first (only a directory the demo created).
    #[arg(long)]
    pub reset: bool,
}
