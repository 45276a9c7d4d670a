//! An in-process ledger with the cast registered: the fixture of most tests.

use super::cast::{log_signer_for, Cast, LEDGER};
use super::fixtures::{self, clock_start, hour, wind, WIND_CAPACITY_W};
use crate::ledger::{Clock, Ledger, ManualClock, Outcome, Receipt, Refused};
use crate::store::{MemStore, Store};
use greenledger_core::crypto::Keypair;
use greenledger_core::state::{Bundle, BundleState};
use greenledger_core::{AccountId, Command, DeviceId, Policy, SignedCommand, Timestamp};
use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Everything a store holds, key to value.
pub type Snapshot = BTreeMap<Vec<u8>, Vec<u8>>;

/// Everything `store` holds.
pub fn snapshot_of<S: Store + ?Sized>(store: &S) -> Snapshot {
    store.scan(&[], &[0xff; 8], usize::MAX).expect("the store can be read").into_iter().collect()
}

/// A new ledger on `store` whose genesis (nonce 0) the cast's operator signs.
pub fn create_ledger<S: Store>(store: Arc<S>, cast: &Cast, policy: Policy, clock: Arc<dyn Clock>) -> Ledger<S> {
    let signer = log_signer_for(&policy.name);
    let name = policy.name.clone();
    let genesis = cast.operator.sign(&name, 0, fixtures::genesis(policy));
    Ledger::create(store, signer, genesis, clock).expect("genesis accepted")
}

/// How to build a [`World`]: the policy and the devices (all owned by the cast's generator).
pub struct Builder {
    policy: Policy,
    devices: Vec<(DeviceId, u64)>,
}

impl Builder {
    /// Changes the policy (the standard one is [`fixtures::policy`] of [`LEDGER`]).
    pub fn policy(mut self, change: impl FnOnce(&mut Policy)) -> Builder {
        change(&mut self.policy);
        self
    }

    /// Registers these wind devices `(id, capacity in W)` instead of the standard `WIND-1`.
    pub fn devices(mut self, devices: &[(&str, u64)]) -> Builder {
        self.devices = devices.iter().map(|(id, w)| (DeviceId((*id).into()), *w)).collect();
        self
    }

    /// The world on a fresh in-memory store.
    pub fn build(self) -> World<MemStore> {
        self.build_on(Arc::new(MemStore::new()))
    }

    /// The world on `store`, which must be empty.
    pub fn build_on<S: Store>(self, store: Arc<S>) -> World<S> {
        let cast = Cast::new();
        let clock = Arc::new(ManualClock::new(clock_start()));
        let name = self.policy.name.clone();
        let ledger = Arc::new(create_ledger(store.clone(), &cast, self.policy, clock.clone()));
        let w = World { ledger, store, clock, cast, name, nonce: AtomicU64::new(1) };
        let mut setup: Vec<SignedCommand> =
            w.cast.registrations().into_iter().map(|c| w.sign(&w.operator, c)).collect();
        for (device, capacity) in self.devices {
            setup.push(w.sign(&w.operator, fixtures::register_device(device, w.generator.account(), capacity)));
        }
        w.ok_all(setup);
        w
    }
}

/// A ledger on store `S` (the in-memory one unless named) with a manual clock at
/// [`clock_start`], the [`Cast`] registered and, unless the [`Builder`] says otherwise, the
/// standard device `WIND-1` (10 MW, owned by the generator). Setting up takes the operator's
/// nonces 2 onwards; [`World::sign`] hands out fresh nonces from one counter.
///
/// The cast's keys are reachable directly (`world.meter`) through `Deref`.
pub struct World<S: Store = MemStore> {
    pub ledger: Arc<Ledger<S>>,
    pub store: Arc<S>,
    pub clock: Arc<ManualClock>,
    pub cast: Cast,
    name: String,
    nonce: AtomicU64,
}

impl<S: Store> Deref for World<S> {
    type Target = Cast;
    fn deref(&self) -> &Cast {
        &self.cast
    }
}

impl Default for World<MemStore> {
    fn default() -> Self {
        World::new()
    }
}

impl World<MemStore> {
    /// The standard world: [`LEDGER`], 1 MWh certificates, `WIND-1`, in memory.
    pub fn new() -> World<MemStore> {
        World::builder().build()
    }

    /// The standard world with another policy.
    pub fn with_policy(policy: Policy) -> World<MemStore> {
        World::builder().policy(|p| *p = policy).build()
    }

    pub fn builder() -> Builder {
        Builder { policy: fixtures::policy(LEDGER), devices: vec![(wind(), WIND_CAPACITY_W)] }
    }
}

impl<S: Store> World<S> {
    /// The standard world on `store` (e.g. a `SledStore` in a temporary directory).
    pub fn on(store: Arc<S>) -> World<S> {
        World::builder().build_on(store)
    }

    /// The ledger name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn next_nonce(&self) -> u64 {
        self.nonce.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Signs `command` by `who` with a fresh nonce, without a validity window.
    pub fn sign(&self, who: &Keypair, command: Command) -> SignedCommand {
        who.sign(&self.name, self.next_nonce(), command)
    }

    /// Signs `command` by `who` with a fresh nonce and a validity window that ends at `expires`.
    pub fn sign_until(&self, who: &Keypair, expires: Timestamp, command: Command) -> SignedCommand {
        who.sign_until(&self.name, self.next_nonce(), expires, command)
    }

    /// Signs `command` by `who` with a fresh nonce and a validity window that ends `seconds`
    /// after the clock's time now.
    pub fn sign_valid_for(&self, who: &Keypair, seconds: u64, command: Command) -> SignedCommand {
        self.sign_until(who, Timestamp(self.clock.now().0 + seconds), command)
    }

    /// Signs `command` by `who` with a fresh nonce.
    pub fn signed(&mut self, who: &Keypair, command: Command) -> SignedCommand {
        self.sign(who, command)
    }

    pub fn submit(&mut self, who: &Keypair, command: Command) -> Outcome {
        let signed = self.sign(who, command);
        self.submit_signed(signed)
    }

    pub fn submit_signed(&mut self, signed: SignedCommand) -> Outcome {
        self.ledger.submit_batch(vec![signed]).expect("storage works").pop().expect("one outcome")
    }

    /// Submits signed commands as one batch and insists that every one is accepted.
    pub fn ok_all(&self, commands: Vec<SignedCommand>) -> Vec<Receipt> {
        let kinds: Vec<&str> = commands.iter().map(|c| c.body.command.kind()).collect();
        let outcomes = self.ledger.submit_batch(commands).expect("storage works");
        outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| o.unwrap_or_else(|e| panic!("command {i} ({}) refused: {e}", kinds[i])))
            .collect()
    }

    /// Submits and insists on acceptance.
    pub fn ok(&mut self, who: &Keypair, command: Command) -> Receipt {
        let kind = command.kind();
        match self.submit(who, command) {
            Ok(r) => r,
            Err(e) => panic!("{kind} refused: {e}"),
        }
    }

    /// Submits, insists on refusal, and checks that nothing in the store changed.
    pub fn refused(&mut self, who: &Keypair, command: Command) -> Refused {
        let before = self.snapshot();
        let kind = command.kind();
        let out = self.submit(who, command);
        assert_eq!(self.snapshot(), before, "a refused {kind} changed the store");
        match out {
            Err(e) => e,
            Ok(r) => panic!("{kind} was accepted: {:?}", r.summary),
        }
    }

    /// Everything the store holds.
    pub fn snapshot(&self) -> Snapshot {
        snapshot_of(self.store.as_ref())
    }

    /// Posts a generation reading of `wh` for hour `n` of `WIND-1`.
    pub fn generation(&mut self, n: u64, wh: u64) -> Receipt {
        let m = self.meter.clone();
        self.ok(&m, fixtures::post_generation(wind(), hour(n), wh))
    }

    /// Posts a consumption reading of `wh` for hour `n` of `who`.
    pub fn consumption(&mut self, who: AccountId, n: u64, wh: u64) -> Receipt {
        let m = self.meter.clone();
        self.ok(&m, fixtures::post_consumption(who, hour(n), wh))
    }

    /// Issues the certificates of hour `n` of `WIND-1` to the generator.
    pub fn issue(&mut self, n: u64) -> Receipt {
        let g = self.generator.clone();
        self.ok(&g, fixtures::issue(wind(), hour(n)))
    }

    /// Bundles held by an account.
    pub fn holdings(&self, who: &Keypair) -> Vec<Bundle> {
        self.ledger.holdings(&who.account()).expect("holdings")
    }

    /// The only active bundle of an account.
    pub fn only_bundle(&self, who: &Keypair) -> Bundle {
        let mut b: Vec<_> = self.holdings(who).into_iter().filter(|b| b.state == BundleState::Active).collect();
        assert_eq!(b.len(), 1, "expected exactly one active bundle, got {b:?}");
        b.pop().expect("one bundle")
    }

    /// The real gRPC server for this ledger on `127.0.0.1:0`, its clock the world's.
    pub async fn serve(&self) -> crate::rpc::server::Running {
        let clock: Arc<dyn Clock> = self.clock.clone();
        crate::rpc::server::spawn(self.ledger.clone(), clock, "127.0.0.1:0").await.expect("server starts")
    }

    /// What a test of the `greenledger` command line needs: the clock moved to `now`, the key
    /// files `keys` (file name, key) written into `dir`, and the ledger served.
    pub async fn serve_for_cli(
        &self,
        now: u64,
        dir: &std::path::Path,
        keys: &[(&str, &Keypair)],
    ) -> crate::rpc::server::Running {
        for (name, key) in keys {
            crate::cli::client::write_key(&dir.join(name), key).expect("key file written");
        }
        self.clock.set(now);
        self.serve().await
    }
}
