//! Verifying inclusion and consistency proofs (RFC 9162 sections 2.1.3.2 and 2.1.4.2): no
//! storage needed.

use super::*;

/// Why a proof did not verify.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("bad tree sizes for a consistency proof: first {first}, second {second} (need 0 < first <= second)")]
    BadSizes { first: u64, second: u64 },
    #[error("proof has {got} hashes, expected {expected}")]
    WrongLength { expected: usize, got: usize },
    #[error("{which} mismatch: expected {expected}, proof gives {computed}")]
    RootMismatch {
        /// Which root: "root", "first root" or "second root".
        which: &'static str,
        /// The root the caller supplied, hex.
        expected: String,
        /// The root recomputed from the proof, hex.
        computed: String,
    },
}

fn check_root(which: &'static str, expected: &Hash, computed: &Hash) -> Result<(), ProofError> {
    if expected == computed {
        Ok(())
    } else {
        Err(ProofError::RootMismatch { which, expected: hex::encode(expected), computed: hex::encode(computed) })
    }
}

/// Verify that `leaf_hash` is leaf `index` of the tree of `size` leaves with
/// root `root`, using the algorithm of RFC 9162 section 2.1.3.2.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_ranges(index, size).len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            // Unreachable given the length check; kept as the RFC's guard.
            return Err(ProofError::WrongLength { expected, got: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    check_root("root", root, &r)
}

/// Verify that the tree of `second` leaves with root `second_root` extends the
/// tree of `first` leaves with root `first_root`, using the algorithm of
/// RFC 9162 section 2.1.4.2. Requires `0 < first <= second`; when
/// `first == second` the proof must be empty and the roots equal.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::BadSizes { first, second });
    }
    let expected = consistency_ranges(first, second).len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    if first == second {
        return check_root("second root", second_root, first_root);
    }
    // If `first` is a power of two the old root is itself a node on the path
    // and the proof omits it; put it back in front.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);

    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength { expected, got: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    check_root("first root", first_root, &fr)?;
    check_root("second root", second_root, &sr)
}
