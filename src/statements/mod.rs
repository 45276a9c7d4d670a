//! Statements computed from a running ledger: the records are gathered through its queries
//! ([`load`]), the figures by the pure accounting of [`greenledger_core::accounting`], and the
//! result is signed with the ledger's log key at a settled head.

pub mod load;
pub mod park_product;

use crate::ledger::queries::QueryError;
use crate::ledger::{Head, Ledger};
use crate::store::Store;
use greenledger_core::accounting::cancellation::{certificate, Certificate};
use greenledger_core::accounting::factors::Factors;
use greenledger_core::accounting::hourly::{statement, Statement};
use greenledger_core::accounting::park::{park_statement, ParkInput, ParkStatement};
use greenledger_core::accounting::signed::{
    cancellation_json, consumption_json, park_json, statement_text, At, Signed, StatementError,
};
use greenledger_core::accounting::{AccountingError, Period, HOUR};
use greenledger_core::log::note::NoteError;
use greenledger_core::types::{AccountId, Interval};
use load::{account_records, cancellation_records};

/// Attempts to read a statement without holding writers back before reading it while they wait.
const OPTIMISTIC_ATTEMPTS: usize = 3;

/// Why a statement could not be made from the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Statement(#[from] StatementError),
}

impl From<AccountingError> for ReportError {
    fn from(e: AccountingError) -> Self {
        ReportError::Statement(e.into())
    }
}

impl From<NoteError> for ReportError {
    fn from(e: NoteError) -> Self {
        ReportError::Statement(e.into())
    }
}

fn at(head: &Head) -> At {
    At::new(head.size, &head.root)
}

/// Signs the statement `json` with the log key of `ledger`.
pub fn sign_with_ledger<S: Store>(json: &str, ledger: &Ledger<S>) -> Result<String, ReportError> {
    Ok(ledger.sign_note(&statement_text(json)?)?)
}

/// Runs `f` on a state of the ledger that matches a committed head: first without holding
/// writers back (checking afterwards that no batch was committed meanwhile), then, if the ledger
/// keeps changing, while writers wait.
fn at_settled_head<S: Store, T>(
    ledger: &Ledger<S>,
    f: impl Fn() -> Result<T, ReportError>,
) -> Result<(Head, T), ReportError> {
    for _ in 0..OPTIMISTIC_ATTEMPTS {
        let before = ledger.committed().head;
        let out = f()?;
        // A batch written while `f` read has updated the committed head before the writer lock
        // is free again, so an unchanged head means `f` saw exactly the state at `before`.
        if ledger.with_settled_head(|h| *h == before) {
            return Ok((before, out));
        }
    }
    ledger.with_settled_head(|h| Ok((h.clone(), f()?)))
}

/// The consumption statement of `account` over `[from, to)`, signed by the ledger.
pub fn consumption_signed<S: Store>(
    ledger: &Ledger<S>,
    account: &AccountId,
    from: u64,
    to: u64,
) -> Result<(Statement, Signed), ReportError> {
    let period = Period::new(from, to)?;
    let (head, s) = at_settled_head(ledger, || {
        let records = account_records(ledger, account, period.interval)?;
        Ok(statement(&records, from, to)?)
    })?;
    let json = consumption_json(&head.name, &at(&head), &s);
    let note = sign_with_ledger(&json, ledger)?;
    Ok((s, Signed { json, note }))
}

/// The cancellation certificate (注销证明) of `beneficiary` for the reporting period starting in
/// `year`, signed by the ledger.
pub fn cancellation_signed<S: Store>(
    ledger: &Ledger<S>,
    beneficiary: &AccountId,
    year: i64,
) -> Result<(Certificate, Signed), ReportError> {
    let (head, c) = at_settled_head(ledger, || Ok(certificate(&cancellation_records(ledger, beneficiary, year)?)?))?;
    let json = cancellation_json(&head.name, &at(&head), &c);
    let note = sign_with_ledger(&json, ledger)?;
    Ok((c, Signed { json, note }))
}

/// The park statement of `members` (members over the whole period, all with the location factor
/// of `factors`: the first form, without a park on the ledger) over `period` (or, when `None`,
/// over the members' metered span), with the member statements it adds up, signed by the ledger.
/// A park registered on the ledger: [`park_product::park_from_ledger_signed`].
pub fn park_signed<S: Store>(
    ledger: &Ledger<S>,
    name: &str,
    members: &[AccountId],
    period: Option<(u64, u64)>,
    factors: &Factors,
) -> Result<(ParkStatement, Vec<Statement>, Signed), ReportError> {
    let (head, (p, statements)) = at_settled_head(ledger, || {
        let interval = match period {
            Some((from, to)) => Interval::new(from, to),
            None => metered_span(ledger, members)?.ok_or_else(|| {
                ReportError::Statement(StatementError::Format(
                    "no member has metered consumption; give the period".into(),
                ))
            })?,
        };
        let period = Period::new(interval.start.0, interval.end.0)?;
        let zone = ledger.meta()?.policy_at(period.interval.start).zone.clone();
        let input = ParkInput::from_accounts(name, members, factors, zone);
        let records = input
            .accounts()
            .iter()
            .map(|m| account_records(ledger, m, period.interval))
            .collect::<Result<Vec<_>, _>>()?;
        if records.len() != members.len() {
            return Err(AccountingError::MemberTwice { park: name.to_string(), account: "a member".into() }.into());
        }
        Ok(park_statement(&input, &records, period.interval.start.0, period.interval.end.0)?)
    })?;
    let json = park_json(&head.name, &at(&head), &p, &statements);
    let note = sign_with_ledger(&json, ledger)?;
    Ok((p, statements, Signed { json, note }))
}

/// The smallest span of whole hours covering every member's metered consumption, if any.
pub fn metered_span<S: Store>(ledger: &Ledger<S>, members: &[AccountId]) -> Result<Option<Interval>, QueryError> {
    let mut span: Option<(u64, u64)> = None;
    for m in members {
        if let Some(i) = ledger.account(m)?.metered {
            span = Some(match span {
                None => (i.start.0, i.end.0),
                Some((s, e)) => (s.min(i.start.0), e.max(i.end.0)),
            });
        }
    }
    Ok(span.map(|(s, e)| Interval::new(s / HOUR * HOUR, e.div_ceil(HOUR) * HOUR)))
}
