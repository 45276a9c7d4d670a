//! The table of hostile requests, by concern; each case names the status code and message
//! fragment it must get.

mod commands;
mod requests;

use crate::fixture::{Fixture, REPLAYED_NONCE};
use crate::wire::Req;
use greenledger::ledger::ManualClock;
use greenledger::rpc::convert::signed_to_pb;
use greenledger::rpc::pb;
use greenledger::testkit::{hour, wind, LEDGER, MWH};
use greenledger_core::calendar::unix;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::{AccountId, BundleId, Command, SerialRange, SignedCommand, Wh};
use prost::Message;
use std::sync::Arc;
use tonic::Code;

pub enum Expect {
    Refused(Code, &'static str),
    /// Accepted; `grows` says whether the log gets a new entry (false for a duplicate).
    Accepted {
        grows: bool,
    },
}

pub struct Case {
    pub name: &'static str,
    pub req: Req,
    pub expect: Expect,
    /// Runs before the "before" snapshot (e.g. moves the clock).
    pub prep: Option<Box<dyn Fn()>>,
}

pub fn case(name: &'static str, req: Req, code: Code, fragment: &'static str) -> Case {
    Case { name, req, expect: Expect::Refused(code, fragment), prep: None }
}

/// What the cases share: the fixture, the consumer's active serials and helpers that build
/// commands and requests.
pub struct Cx<'a> {
    pub w: &'a Fixture,
    pub start: u64,
    pub end: u64,
    /// The first serial of the consumer's active bundle.
    pub one: SerialRange,
    /// A well-formed, signed reading.
    pub good: pb::SignedCommand,
    pub long_ascii: String,
    pub long_unicode: String,
    pub huge_text: String,
    /// A reading signed with the meter's [`REPLAYED_NONCE`].
    pub replay_nonce: SignedCommand,
    /// A reading of the meter signed by the stranger.
    pub forged: SignedCommand,
    /// A reading signed for another ledger.
    pub other_ledger: SignedCommand,
    /// A reading whose signer is the identity point.
    pub weak_signer: SignedCommand,
}

impl Cx<'_> {
    pub fn gen(&self, n: u64, wh: u64) -> Command {
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(n), energy: Wh(wh) })
    }
    pub fn retire(&self, serials: SerialRange, bundle: BundleId, beneficiary: &str, purpose: &str) -> Command {
        greenledger::testkit::retire(bundle, serials, beneficiary, purpose, hour(0))
    }
    pub fn transfer(&self, serials: SerialRange, to: AccountId) -> Command {
        greenledger::testkit::transfer(self.w.active, serials, to)
    }
    /// The good message with `f` applied, as bytes.
    pub fn with(&self, f: &dyn Fn(&mut pb::SignedCommand)) -> Vec<u8> {
        let mut c = self.good.clone();
        f(&mut c);
        c.encode_to_vec()
    }
    pub fn body_with(&self, f: &dyn Fn(&mut pb::CommandBody)) -> Vec<u8> {
        self.with(&|c| f(c.body.as_mut().unwrap()))
    }
    pub fn signed(&self, who: &Keypair, c: Command) -> Req {
        msg(self.w.bytes(who, c))
    }
}

pub const SUBMIT: &str = "/greenledger.v1.Ledger/Submit";

pub fn pb(c: &SignedCommand) -> Vec<u8> {
    signed_to_pb(c).encode_to_vec()
}

pub fn msg(b: Vec<u8>) -> Req {
    Req::Msg(SUBMIT, b)
}

/// Every case, the accepted ones last: they change the state the refusals rely on.
pub fn cases(w: &Fixture, clock: Arc<ManualClock>) -> Vec<Case> {
    use Code::*;
    let a = w.active_serials;
    let (start, end) = (a.start.0, a.end.0);
    let one = SerialRange::new(start, start + 1);
    let good = signed_to_pb(&w.sign(&w.meter, greenledger::testkit::post_generation(wind(), hour(10), MWH)));
    let m = &w.meter;
    let gen = |n: u64| greenledger::testkit::post_generation(wind(), hour(n), MWH);
    let replayed = w.sign(m, gen(11));
    let replay_nonce = m.sign(LEDGER, REPLAYED_NONCE, w.sign(m, gen(12)).body.command);
    let mut forged = w.sign(m, gen(10));
    forged.signature = w.stranger.sign(LEDGER, forged.body.nonce, forged.body.command.clone()).signature;
    let other_ledger = m.sign("other.ledger.example", 9_999, gen(10));
    let weak_signer = {
        let mut c = w.sign(m, gen(10));
        let mut identity = [0u8; 32];
        identity[0] = 1; // the identity point: a small-order, weak key
        c.body.signer = AccountId(identity);
        c
    };
    let cx = Cx {
        w,
        start,
        end,
        one,
        good,
        long_ascii: "x".repeat(300),
        long_unicode: "绿".repeat(100),
        huge_text: "y".repeat(2 << 20),
        replay_nonce,
        forged,
        other_ledger,
        weak_signer,
    };
    let mut out = Vec::new();
    for section in [
        requests::wire_and_signatures,
        commands::malformed,
        commands::amounts,
        commands::intervals,
        requests::ownership_text_queries,
    ] {
        out.extend(section(&cx));
    }
    // Accepted requests last: they change the state the refusals above rely on.
    out.push(Case {
        name: "a fresh reading is accepted",
        req: msg(pb(&replayed)),
        expect: Expect::Accepted { grows: true },
        prep: None,
    });
    out.push(Case {
        name: "identical resubmission is a duplicate",
        req: msg(pb(&replayed)),
        expect: Expect::Accepted { grows: false },
        prep: None,
    });
    out.push(Case {
        name: "Unicode beneficiary and purpose within limits",
        req: cx.signed(&w.consumer, cx.retire(one, w.active, "绿电 Zürich 工厂 🌱", "RE100 报告 2026 — Scope 2")),
        expect: Expect::Accepted { grows: true },
        prep: None,
    });
    let later = SerialRange::new(start + 1, start + 2);
    let expired = cx.signed(&w.consumer, cx.retire(later, w.active, "b", "p"));
    out.push(Case {
        name: "retire expired certificates",
        req: expired,
        expect: Expect::Refused(FailedPrecondition, "rule 6 (no use after expiry)"),
        prep: Some(Box::new(move || clock.set(unix(2027, 6, 1, 0, 0, 0)))),
    });

    out
}
