//! Keys and command signatures: signing, single and batch verification.
//!
//! Verification turns a [`SignedCommand`] into an [`Authenticated`] one; the rules only ever see
//! authenticated commands, so a forgotten signature check cannot compile.

use crate::codec;
use crate::command::{Command, CommandBody, SignedCommand};
use crate::types::{AccountId, Timestamp};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};

/// An account's signing key.
#[derive(Clone)]
pub struct Keypair(SigningKey);

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "Keypair({})", self.account().short())
    }
}

impl Keypair {
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Keypair {
        Keypair(SigningKey::generate(rng))
    }
    /// A random key from the operating system's generator.
    #[cfg(feature = "os-rng")]
    pub fn random() -> Keypair {
        Keypair::generate(&mut rand_core::OsRng)
    }
    /// Deterministic key from a 32-byte seed (tests, demos).
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair(SigningKey::from_bytes(&seed))
    }
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }
    pub fn account(&self) -> AccountId {
        AccountId(self.0.verifying_key().to_bytes())
    }
    /// Signs a command without a validity window for the ledger called `ledger_name`: its nonce
    /// is remembered for ever and must never be used again by this signer.
    pub fn sign(&self, ledger_name: &str, nonce: u64, command: Command) -> SignedCommand {
        self.sign_body(ledger_name, CommandBody { signer: self.account(), nonce, command, expires: None })
    }

    /// Signs a windowed command: the ledger accepts it only up to the time `expires` (at most
    /// [`crate::rules::MAX_VALIDITY`] ahead of its clock), and forgets the nonce once that time
    /// has passed. The nonce must not be used again by this signer with the same `expires`.
    pub fn sign_until(&self, ledger_name: &str, nonce: u64, expires: Timestamp, command: Command) -> SignedCommand {
        self.sign_body(ledger_name, CommandBody { signer: self.account(), nonce, command, expires: Some(expires) })
    }

    /// Signs `body` (whose signer should be this key's account) for the ledger `ledger_name`.
    pub fn sign_body(&self, ledger_name: &str, body: CommandBody) -> SignedCommand {
        let signature = self.0.sign(&codec::signing_bytes(ledger_name, &body)).to_bytes();
        SignedCommand { body, signature }
    }
    /// Key file text: a label line and the hex seed.
    pub fn to_file_text(&self) -> String {
        format!("greenledger secret key v1\n{}\n", hex::encode(self.seed()))
    }
    pub fn from_file_text(text: &str) -> Result<Keypair, SignatureError> {
        let mut lines = text.lines();
        if lines.next() != Some("greenledger secret key v1") {
            return Err(SignatureError::BadKeyFile("first line must be 'greenledger secret key v1'"));
        }
        let seed = lines
            .next()
            .and_then(|l| hex::decode(l.trim()).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(SignatureError::BadKeyFile("second line must be 64 hex digits"))?;
        Ok(Keypair::from_seed(seed))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signer {0} is not a valid Ed25519 public key")]
    BadKey(String),
    #[error("rule 10 (authentic commands): the signature does not verify for signer {signer} on ledger {ledger}")]
    BadSignature { signer: String, ledger: String },
    #[error("bad key file: {0}")]
    BadKeyFile(&'static str),
}

/// A command whose signature has been verified, with its identity hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    signed: SignedCommand,
    hash: [u8; 32],
}

impl Authenticated {
    pub fn signed(&self) -> &SignedCommand {
        &self.signed
    }
    pub fn body(&self) -> &CommandBody {
        &self.signed.body
    }
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }
    pub fn into_signed(self) -> SignedCommand {
        self.signed
    }
}

fn key_of(signer: &AccountId) -> Result<VerifyingKey, SignatureError> {
    // Performance: decompressing a public key (a field square root) was about a quarter of the
    // sequencer's verification time in a profile of the load generator's mix, where a few
    // signers (meter operators, trading platforms, generators) sign most commands. Valid keys are
    // cached; the result is the same as decompressing again.
    if let Some(key) = KEY_CACHE.lock().ok().and_then(|c| c.get(&signer.0).copied()) {
        return Ok(key);
    }
    let key = VerifyingKey::from_bytes(&signer.0).map_err(|_| SignatureError::BadKey(signer.short()))?;
    if key.is_weak() {
        return Err(SignatureError::BadKey(signer.short()));
    }
    if let Ok(mut cache) = KEY_CACHE.lock() {
        if cache.len() >= KEY_CACHE_MAX {
            cache.clear();
        }
        cache.insert(signer.0, key);
    }
    Ok(key)
}

/// Most decompressed public keys kept by [`key_of`] (about 17 MB at most).
const KEY_CACHE_MAX: usize = 1 << 16;
static KEY_CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<[u8; 32], VerifyingKey>>> =
    std::sync::LazyLock::new(Default::default);

/// True when `account` is a usable Ed25519 public key (a valid point that is not of small order).
pub fn is_valid_account_key(account: &AccountId) -> bool {
    key_of(account).is_ok()
}

fn authenticated(signed: SignedCommand) -> Authenticated {
    let hash = codec::command_hash(&signed);
    Authenticated { signed, hash }
}

/// Verifies one command with strict Ed25519 verification.
pub fn verify(ledger_name: &str, signed: SignedCommand) -> Result<Authenticated, SignatureError> {
    let key = key_of(&signed.body.signer)?;
    let msg = codec::signing_bytes(ledger_name, &signed.body);
    key.verify_strict(&msg, &Signature::from_bytes(&signed.signature)).map_err(|_| SignatureError::BadSignature {
        signer: signed.body.signer.short(),
        ledger: ledger_name.to_string(),
    })?;
    Ok(authenticated(signed))
}

/// Verifies many commands at once. One batch equation checks them all; if it fails, each is
/// checked alone so that one bad signature refuses only its own command. The result is the same
/// as calling [`verify`] on each.
pub fn verify_many(ledger_name: &str, commands: Vec<SignedCommand>) -> Vec<Result<Authenticated, SignatureError>> {
    if commands.len() >= 2 {
        let prepared: Option<Vec<(Vec<u8>, Signature, VerifyingKey)>> = commands
            .iter()
            .map(|c| {
                let key = key_of(&c.body.signer).ok()?;
                // Strict verification also refuses non-canonical scalars; the batch equation
                // does too, so both paths accept the same signatures for non-weak keys.
                Some((codec::signing_bytes(ledger_name, &c.body), Signature::from_bytes(&c.signature), key))
            })
            .collect();
        if let Some(prepared) = prepared {
            let msgs: Vec<&[u8]> = prepared.iter().map(|p| p.0.as_slice()).collect();
            let sigs: Vec<Signature> = prepared.iter().map(|p| p.1).collect();
            let keys: Vec<VerifyingKey> = prepared.iter().map(|p| p.2).collect();
            if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
                return commands.into_iter().map(|c| Ok(authenticated(c))).collect();
            }
        }
    }
    commands.into_iter().map(|c| verify(ledger_name, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command as cmd;
    use crate::types::*;

    fn cmd(k: &Keypair, nonce: u64) -> SignedCommand {
        k.sign(
            "test-ledger",
            nonce,
            Command::Transfer(cmd::Transfer {
                bundle: BundleId(1),
                serials: SerialRange::new(0, 1),
                to: AccountId([1; 32]),
            }),
        )
    }

    #[test]
    fn signs_and_verifies() {
        let k = Keypair::from_seed([3; 32]);
        let c = cmd(&k, 1);
        assert!(verify("test-ledger", c.clone()).is_ok());
        assert!(matches!(verify("other-ledger", c), Err(SignatureError::BadSignature { .. })));
    }

    #[test]
    fn batch_refuses_only_the_bad_signature() {
        let k = Keypair::from_seed([4; 32]);
        let mut cmds: Vec<SignedCommand> = (0..8).map(|n| cmd(&k, n)).collect();
        cmds[5].signature[0] ^= 1;
        let results = verify_many("test-ledger", cmds);
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i != 5, "command {i}");
        }
        let good: Vec<SignedCommand> = (0..8).map(|n| cmd(&k, n)).collect();
        assert!(verify_many("test-ledger", good).iter().all(Result::is_ok));
    }

    #[test]
    fn key_file_round_trip_and_refusal() {
        let k = Keypair::from_seed([5; 32]);
        let back = Keypair::from_file_text(&k.to_file_text()).unwrap();
        assert_eq!(back.account(), k.account());
        assert!(Keypair::from_file_text("nonsense\n").is_err());
        assert!(!format!("{k:?}").contains(&hex::encode(k.seed())));
    }
}
