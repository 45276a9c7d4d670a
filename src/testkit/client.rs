//! Client helpers for tools and tests: connect, and stream commands that must all be accepted.

use crate::rpc::pb::ledger_client::LedgerClient;
use crate::rpc::{convert, pb};
use anyhow::{bail, Context as _};
use greenledger_core::crypto::Keypair;
use greenledger_core::{AccountId, Command, SignedCommand};
use tonic::transport::Channel;

pub type Client = LedgerClient<Channel>;

/// Connects to `endpoint` (`http://host:port`) with TCP_NODELAY, taking responses up to 4 MiB.
pub async fn connect(endpoint: &str) -> anyhow::Result<Client> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("cannot connect to {endpoint}"))?;
    Ok(LedgerClient::new(channel).max_decoding_message_size(4 << 20).max_encoding_message_size(1 << 20))
}

/// Streams `commands` in order through one `SubmitBatch` call; every one must be accepted.
/// A refusal is an error naming the command's position and kind.
pub async fn submit_all(client: &mut Client, commands: &[SignedCommand]) -> anyhow::Result<Vec<pb::Receipt>> {
    let msgs: Vec<pb::SignedCommand> = commands.iter().map(convert::signed_to_pb).collect();
    let mut results = client.submit_batch(tokio_stream::iter(msgs)).await?.into_inner();
    let mut out = Vec::with_capacity(commands.len());
    while let Some(r) = results.message().await? {
        match r.result {
            Some(pb::submit_result::Result::Receipt(rc)) => out.push(rc),
            Some(pb::submit_result::Result::Refusal(f)) => {
                let kind = commands.get(r.position as usize).map_or("?", |c| c.body.command.kind());
                bail!("command {} ({kind}) refused: {}", r.position, f.message)
            }
            None => bail!("command {}: empty result", r.position),
        }
    }
    if out.len() != commands.len() {
        bail!("{} results for {} commands", out.len(), commands.len());
    }
    Ok(out)
}

/// The bundles `account` holds, as served.
pub async fn holdings(client: &mut Client, account: &AccountId) -> anyhow::Result<Vec<pb::Bundle>> {
    Ok(client.get_holdings(pb::AccountRequest { account: account.0.to_vec() }).await?.into_inner().bundles)
}

/// A client that signs for the ledger `name` with nonces from its own counter.
pub struct Signing {
    pub client: Client,
    pub name: String,
    nonce: u64,
}

impl Signing {
    /// Nonces handed out start after `nonce`.
    pub fn new(client: Client, name: &str, nonce: u64) -> Signing {
        Signing { client, name: name.into(), nonce }
    }

    pub fn sign(&mut self, who: &Keypair, command: Command) -> SignedCommand {
        self.nonce += 1;
        who.sign(&self.name, self.nonce, command)
    }

    /// Signs each `(who, command)` and streams them through [`submit_all`].
    pub async fn all_ok(&mut self, commands: Vec<(&Keypair, Command)>) -> anyhow::Result<Vec<pb::Receipt>> {
        let signed: Vec<SignedCommand> = commands.into_iter().map(|(k, c)| self.sign(k, c)).collect();
        submit_all(&mut self.client, &signed).await
    }

    /// Signs and submits one command through `Submit`.
    pub async fn submit(&mut self, who: &Keypair, command: Command) -> Result<pb::Receipt, tonic::Status> {
        let signed = self.sign(who, command);
        self.client.submit(convert::signed_to_pb(&signed)).await.map(|r| r.into_inner())
    }

    pub async fn holdings(&mut self, who: &Keypair) -> anyhow::Result<Vec<pb::Bundle>> {
        holdings(&mut self.client, &who.account()).await
    }
}
