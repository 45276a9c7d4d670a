//! greenledger's verifier for the browser: the same [`greenledger_core`] code that
//! `greenledger verify` and `greenledger verify-statement` run, exported as plain C-ABI functions
//! of a WebAssembly module (no wasm-bindgen, no JS glue).
//!
//! Calling convention: the page asks for memory with [`alloc`], copies UTF-8 text in, calls
//! [`verify_proof`] or [`verify_statement`] and gets a pointer to a result: a little-endian `u32`
//! length, then that many bytes of JSON, `{"ok":true,"lines":[...]}` or
//! `{"ok":false,"check":"..."}` (the failing check's message). It frees the inputs and the result
//! (length + 4 bytes) with [`dealloc`].
//!
//! [`proof_result`] and [`statement_result`] are the safe halves, tested natively.

use greenledger_core::accounting::signed::open_statement;
use greenledger_core::log::NoteVerifier;
use greenledger_core::proof::verify_json;
use serde_json::{json, Value};

/// Verifies a claim proof bundle (JSON) with the ledger's log key; no witnesses required.
pub fn proof_result(bundle: &str, log_key: &str) -> Value {
    match verify_json(bundle, log_key, &[], 0) {
        Ok(v) => json!({"ok": true, "lines": v.describe()}),
        Err(e) => json!({"ok": false, "check": e.to_string()}),
    }
}

/// Verifies a signed statement (C2SP note) with the ledger's log key.
pub fn statement_result(note: &str, log_key: &str) -> Value {
    let verifier = match NoteVerifier::parse(log_key.trim()) {
        Ok(v) => v,
        Err(e) => return json!({"ok": false, "check": format!("the given log key is not a valid verifier key: {e}")}),
    };
    match open_statement(note, &verifier) {
        Ok(v) => {
            let mut lines = vec![format!("the statement is signed by the log key of {}", verifier.name())];
            for field in ["kind", "ledger", "checkpoint_size", "period", "year", "holder", "beneficiary"] {
                if let Some(x) = v.get(field) {
                    lines.push(format!("{field}: {x}"));
                }
            }
            json!({"ok": true, "lines": lines, "statement": v})
        }
        Err(e) => json!({"ok": false, "check": e.to_string()}),
    }
}

/// Memory for `len` bytes that the caller fills and later frees with [`dealloc`].
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len.max(1));
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Frees memory from [`alloc`] or a result (its length + 4).
///
/// # Safety
/// `ptr` must come from [`alloc`] with the same `len`, or be a result with `len` = length + 4.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    // SAFETY: the caller hands back a buffer this module allocated with capacity `len.max(1)`.
    unsafe { drop(Vec::from_raw_parts(ptr, 0, len.max(1))) }
}

/// # Safety
/// `ptr..ptr+len` must be memory of this module (from [`alloc`]).
unsafe fn text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, Value> {
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    std::str::from_utf8(bytes).map_err(|e| json!({"ok": false, "check": format!("the input is not UTF-8: {e}")}))
}

fn result(v: Value) -> *mut u8 {
    let body = v.to_string().into_bytes();
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    let len = out.len();
    let p = alloc(len);
    // SAFETY: `p` has room for `len` bytes and does not overlap `out`.
    unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), p, len) };
    p
}

/// Verifies the proof bundle at `ptr` with the log key at `key_ptr`; returns a result pointer.
///
/// # Safety
/// Both ranges must be memory of this module (from [`alloc`]).
#[no_mangle]
pub unsafe extern "C" fn verify_proof(ptr: *const u8, len: usize, key_ptr: *const u8, key_len: usize) -> *mut u8 {
    // SAFETY: guaranteed by the caller.
    let (bundle, key) = unsafe { (text(ptr, len), text(key_ptr, key_len)) };
    result(match (bundle, key) {
        (Ok(b), Ok(k)) => proof_result(b, k),
        (Err(e), _) | (_, Err(e)) => e,
    })
}

/// Verifies the signed statement note at `ptr` with the log key at `key_ptr`; returns a result
/// pointer.
///
/// # Safety
/// Both ranges must be memory of this module (from [`alloc`]).
#[no_mangle]
pub unsafe extern "C" fn verify_statement(ptr: *const u8, len: usize, key_ptr: *const u8, key_len: usize) -> *mut u8 {
    // SAFETY: guaranteed by the caller.
    let (note, key) = unsafe { (text(ptr, len), text(key_ptr, key_len)) };
    result(match (note, key) {
        (Ok(n), Ok(k)) => statement_result(n, k),
        (Err(e), _) | (_, Err(e)) => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_with_the_check() {
        let r = proof_result("{", "k");
        assert_eq!(r["ok"], false);
        assert!(r["check"].as_str().unwrap().contains("not a valid claim proof"), "{r}");
        let r = statement_result("x", "not a key");
        assert_eq!(r["ok"], false);
    }

    #[test]
    fn the_c_abi_round_trips() {
        let (b, k) = (b"{", b"key");
        unsafe {
            let (bp, kp) = (alloc(b.len()), alloc(k.len()));
            std::ptr::copy_nonoverlapping(b.as_ptr(), bp, b.len());
            std::ptr::copy_nonoverlapping(k.as_ptr(), kp, k.len());
            let r = verify_proof(bp, b.len(), kp, k.len());
            let n = u32::from_le_bytes(std::slice::from_raw_parts(r, 4).try_into().unwrap()) as usize;
            let body = std::str::from_utf8(std::slice::from_raw_parts(r.add(4), n)).unwrap();
            assert!(body.starts_with("{\"check\"") || body.contains("\"ok\":false"), "{body}");
            dealloc(r, n + 4);
            dealloc(bp, b.len());
            dealloc(kp, k.len());
        }
    }
}
