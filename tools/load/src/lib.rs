//! greenledger-load as a library: the load run and its checks ([`load`]), the in-process fill
//! of a large ledger ([`fill`]) and the machine's limits ([`limits`]). The binary
//! `greenledger-load` parses arguments and calls these; `tests/smoke.rs` runs a small load.
#![forbid(unsafe_code)]

pub mod fill;
pub mod lag;
pub mod limits;
pub mod load;
pub mod tiles;
