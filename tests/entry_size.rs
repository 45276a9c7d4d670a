//! An entry bundle (C2SP tlog-tiles) prefixes each entry with a `uint16` length, so the ledger
//! refuses a command the rules accept but whose log entry would be longer, naming the size and
//! the limit, and leaves the ledger untouched; the next command is accepted as usual. (A command
//! the rules refuse gets the rules' refusal.)

use greenledger::ledger::Refused;
use greenledger::testkit::World;
use greenledger_core::command::register_park::{RegisterPark, Site};
use greenledger_core::command::RegisterAccount;
use greenledger_core::crypto::Keypair;
use greenledger_core::{Command, ParkId, Refusal, Role, Roles, Timestamp};

#[test]
fn a_command_too_large_for_an_entry_bundle_is_refused_and_changes_nothing() {
    let mut world = World::new();
    // A park of 1,000 registered consumers, each site with a long province name: the rules accept
    // it, but its entry is over 65,535 bytes.
    let keys: Vec<Keypair> = (0..1000u32)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..4].copy_from_slice(&i.to_be_bytes());
            Keypair::from_seed(seed)
        })
        .collect();
    let registrations = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            world.sign(
                &world.operator,
                Command::RegisterAccount(RegisterAccount {
                    account: k.account(),
                    name: format!("Factory {i}"),
                    roles: Roles::of(&[Role::Consumer]),
                }),
            )
        })
        .collect();
    world.ok_all(registrations);
    let before = world.snapshot();
    let size = world.ledger.size();
    let members: Vec<Site> =
        keys.iter().enumerate().map(|(i, k)| Site { account: k.account(), province: format!("{i:0>60}") }).collect();
    let park = Command::RegisterPark(RegisterPark {
        park: ParkId("BIG-PARK".into()),
        name: "A park too large for one entry".into(),
        province: "Jiangsu".into(),
        since: Timestamp(0),
        members,
    });
    let operator = world.operator.clone();
    match world.refused(&operator, park) {
        Refused::Rule(Refusal::EntryTooLarge { bytes, max }) => {
            assert!(bytes > 65_535, "{bytes}");
            assert_eq!(max, 65_535);
        }
        other => panic!("expected entry-too-large, got {other}"),
    }
    assert_eq!(world.ledger.size(), size);
    assert_eq!(world.snapshot(), before, "nothing changed");
    world.generation(0, 1_000_000);
    assert_eq!(world.ledger.size(), size + 1);
}
