use super::*;
use proptest::prelude::*;

// ---- Naive reference, straight from the RFC 6962 section 2.1 definitions.

fn mth(d: &[Vec<u8>]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => leaf_hash(&d[0]),
        n => {
            let k = naive_k(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn naive_k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = naive_k(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = naive_k(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn proof(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    subproof(m, d, true)
}

fn leaves(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
}

fn tree_of(d: &[Vec<u8>]) -> MemTree {
    let mut t = MemTree::new();
    for l in d {
        t.push(l);
    }
    t
}

#[test]
fn split_point_is_largest_power_below() {
    for n in 2u64..2000 {
        let k = split_point(n);
        assert!(k.is_power_of_two() && k < n && 2 * k >= n, "n={n} k={k}");
    }
    assert_eq!(split_point(u64::MAX), 1 << 63);
    assert_eq!(split_point((1 << 63) + 1), 1 << 63);
    assert_eq!(split_point(1 << 63), 1 << 62);
}

#[test]
fn node_keys_round_trip_and_sort() {
    let ids = [
        NodeId { level: 0, index: 0 },
        NodeId { level: 0, index: 1 },
        NodeId { level: 0, index: 256 },
        NodeId { level: 1, index: 0 },
        NodeId { level: 1, index: 7 },
        NodeId { level: 63, index: 1 },
    ];
    for w in ids.windows(2) {
        assert!(w[0].to_key() < w[1].to_key());
        assert!(w[0] < w[1]);
    }
    for id in ids {
        assert_eq!(NodeId::from_key(&id.to_key()), Some(id));
    }
    assert_eq!(NodeId::from_key(&[0u8; 8]), None);
    assert_eq!(NodeId::from_key(&[0u8; 10]), None);
    let mut k = NodeId { level: 64, index: 0 }.to_key();
    assert_eq!(NodeId::from_key(&k), None);
    k = NodeId { level: 63, index: 2 }.to_key();
    assert_eq!(NodeId::from_key(&k), None);
    k = NodeId { level: 0, index: u64::MAX }.to_key();
    assert!(NodeId::from_key(&k).is_some());
}

#[test]
fn empty_tree() {
    let t = MemTree::new();
    assert_eq!(t.size(), 0);
    assert_eq!(t.root(), empty_root());
    assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert!(matches!(t.inclusion_proof(0, 0), Err(TreeError::IndexOutOfRange { index: 0, size: 0 })));
}

#[test]
fn storage_is_about_two_nodes_per_leaf() {
    let d = leaves(1000);
    let t = tree_of(&d);
    // One node per complete perfect subtree: n + n/2 + n/4 + ...
    let expected: u64 = (0..64).map(|l| 1000u64 >> l).sum();
    assert_eq!(t.stored_nodes() as u64, expected);
    assert!(t.stored_nodes() < 2000);
}

#[test]
fn append_nodes_reports_completed_subtrees() {
    let mut t = MemTree::new();
    for i in 0..8u64 {
        let n = append_nodes(i, leaf_hash(&[i as u8]), &t).unwrap();
        assert_eq!(n.len(), 1 + i.trailing_ones() as usize);
        assert_eq!(n[0].0, NodeId::leaf(i));
        t.push(&[i as u8]);
    }
    let n = append_nodes(7, leaf_hash(b"x"), &t).unwrap();
    let ids: Vec<NodeId> = n.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        vec![
            NodeId { level: 0, index: 7 },
            NodeId { level: 1, index: 3 },
            NodeId { level: 2, index: 1 },
            NodeId { level: 3, index: 0 },
        ]
    );
    assert!(matches!(append_nodes(u64::MAX, [0; 32], &t), Err(TreeError::Full { .. })));
}

#[test]
fn stored_matches_naive_for_all_small_trees() {
    let all = leaves(70);
    let t = tree_of(&all);
    for n in 1..=70usize {
        let d = &all[..n];
        let root_n = mth(d);
        assert_eq!(t.root_at(n as u64).unwrap(), root_n, "root {n}");
        assert_eq!(tree_of(d).root(), root_n, "fresh root {n}");
        for m in 0..n {
            let p = t.inclusion_proof(m as u64, n as u64).unwrap();
            assert_eq!(p, path(m, d), "PATH({m}, D[{n}])");
            verify_inclusion(m as u64, n as u64, &leaf_hash(&d[m]), &p, &root_n)
                .unwrap_or_else(|e| panic!("inclusion {m} in {n}: {e}"));
        }
        for m in 1..=n {
            let p = t.consistency_proof(m as u64, n as u64).unwrap();
            assert_eq!(p, proof(m, d), "PROOF({m}, D[{n}])");
            let root_m = mth(&d[..m]);
            verify_consistency(m as u64, n as u64, &root_m, &root_n, &p)
                .unwrap_or_else(|e| panic!("consistency {m} -> {n}: {e}"));
        }
    }
}

#[test]
fn reads_beyond_the_tree_fail() {
    let t = tree_of(&leaves(5));
    assert!(matches!(t.root_at(6), Err(TreeError::Read(_))));
    assert!(matches!(t.inclusion_proof(0, 6), Err(TreeError::Read(_))));
    assert!(matches!(t.consistency_proof(3, 6), Err(TreeError::Read(_))));
    assert!(matches!(t.consistency_proof(0, 3), Err(TreeError::BadSizes { first: 0, second: 3 })));
    assert!(matches!(t.consistency_proof(4, 3), Err(TreeError::BadSizes { .. })));
    assert!(matches!(subtree_hash(1, 3, &t), Err(TreeError::UnalignedRange { start: 1, end: 3 })));
    assert!(matches!(subtree_hash(3, 2, &t), Err(TreeError::UnalignedRange { .. })));
    assert_eq!(subtree_hash(2, 2, &t).unwrap(), empty_root());
}

#[test]
fn subtree_hash_matches_naive_on_aligned_ranges() {
    let d = leaves(40);
    let t = tree_of(&d);
    for start in 0..40usize {
        for end in start + 1..=40 {
            let p = (end - start).next_power_of_two();
            if start.is_multiple_of(p) {
                assert_eq!(subtree_hash(start as u64, end as u64, &t).unwrap(), mth(&d[start..end]));
            }
        }
    }
}

#[test]
fn overlay_batches_appends() {
    let d = leaves(37);
    let mut base = tree_of(&d[..20]);
    let mut ov = Overlay::new(&base);
    let mut size = 20;
    for l in &d[20..] {
        size = ov.append(size, leaf_hash(l)).unwrap();
    }
    assert_eq!(root(size, &ov).unwrap(), mth(&d));
    let fresh = ov.into_nodes();
    // Insertion order is append order: each leaf, then what it completes.
    assert_eq!(fresh[0].0, NodeId::leaf(20));
    let mut full = tree_of(&d);
    for (id, h) in &fresh {
        assert_eq!(full.node(*id).unwrap(), *h);
    }
    for l in &d[20..] {
        base.push(l);
    }
    assert_eq!(base, full);
    full.push(b"more");
    assert_ne!(base, full);
}

fn all_rejections_inclusion(t: &MemTree, index: u64, size: u64) {
    let root = t.root_at(size).unwrap();
    let leaf = t.node(NodeId::leaf(index)).unwrap();
    let p = t.inclusion_proof(index, size).unwrap();
    assert_eq!(verify_inclusion(index, size, &leaf, &p, &root), Ok(()));

    let mut bad_root = root;
    bad_root[0] ^= 1;
    assert!(matches!(verify_inclusion(index, size, &leaf, &p, &bad_root), Err(ProofError::RootMismatch { .. })));
    let mut bad_leaf = leaf;
    bad_leaf[31] ^= 0x80;
    assert!(verify_inclusion(index, size, &bad_leaf, &p, &root).is_err());
    // Wrong index (same proof).
    for other in [index + 1, index.wrapping_sub(1), index ^ 1] {
        if other < size && other != index {
            assert!(
                verify_inclusion(other, size, &leaf, &p, &root).is_err(),
                "index {other} accepted for {index} in {size}"
            );
        }
    }
    assert!(matches!(verify_inclusion(size, size, &leaf, &p, &root), Err(ProofError::IndexOutOfRange { .. })));
    // (A different size is not tested: the same path can be a valid proof
    // for a bigger tree, e.g. leaf 0 in sizes 3 and 4, with another root.)
    // Truncated / extended.
    if !p.is_empty() {
        assert!(matches!(
            verify_inclusion(index, size, &leaf, &p[..p.len() - 1], &root),
            Err(ProofError::WrongLength { .. })
        ));
    }
    let mut longer = p.clone();
    longer.push([7; 32]);
    assert!(matches!(verify_inclusion(index, size, &leaf, &longer, &root), Err(ProofError::WrongLength { .. })));
    // Flipped byte anywhere.
    for i in 0..p.len() {
        let mut q = p.clone();
        q[i][i % 32] ^= 0x10;
        assert!(verify_inclusion(index, size, &leaf, &q, &root).is_err());
    }
}

fn all_rejections_consistency(t: &MemTree, first: u64, second: u64) {
    let r1 = t.root_at(first).unwrap();
    let r2 = t.root_at(second).unwrap();
    let p = t.consistency_proof(first, second).unwrap();
    assert_eq!(verify_consistency(first, second, &r1, &r2, &p), Ok(()));
    let mut b1 = r1;
    b1[5] ^= 4;
    let mut b2 = r2;
    b2[9] ^= 4;
    assert!(verify_consistency(first, second, &b1, &r2, &p).is_err());
    assert!(verify_consistency(first, second, &r1, &b2, &p).is_err());
    if !p.is_empty() {
        assert!(verify_consistency(first, second, &r1, &r2, &p[..p.len() - 1]).is_err());
    }
    let mut longer = p.clone();
    longer.push([1; 32]);
    assert!(verify_consistency(first, second, &r1, &r2, &longer).is_err());
    for i in 0..p.len() {
        let mut q = p.clone();
        q[i][31 - i % 32] ^= 1;
        assert!(verify_consistency(first, second, &r1, &r2, &q).is_err());
    }
    if first > 1 {
        let r0 = t.root_at(first - 1).unwrap();
        assert!(verify_consistency(first - 1, second, &r0, &r2, &p).is_err());
    }
    if second > first {
        let r3 = t.root_at(second - 1).unwrap();
        assert!(verify_consistency(first, second - 1, &r1, &r3, &p).is_err());
    }
    assert!(matches!(verify_consistency(0, second, &r1, &r2, &p), Err(ProofError::BadSizes { .. })));
    assert!(matches!(verify_consistency(second + 1, second, &r1, &r2, &p), Err(ProofError::BadSizes { .. })));
}

#[test]
fn verifiers_reject_tampering() {
    let t = tree_of(&leaves(70));
    for size in 1..=70u64 {
        for index in 0..size {
            all_rejections_inclusion(&t, index, size);
        }
        for first in 1..=size {
            all_rejections_consistency(&t, first, size);
        }
    }
}

#[test]
fn equal_sizes_need_equal_roots() {
    let t = tree_of(&leaves(9));
    let r = t.root();
    assert_eq!(t.consistency_proof(9, 9).unwrap(), Vec::<Hash>::new());
    assert_eq!(verify_consistency(9, 9, &r, &r, &[]), Ok(()));
    let mut other = r;
    other[0] ^= 1;
    assert!(matches!(verify_consistency(9, 9, &r, &other, &[]), Err(ProofError::RootMismatch { .. })));
    assert!(matches!(verify_consistency(9, 9, &r, &r, &[r]), Err(ProofError::WrongLength { expected: 0, got: 1 })));
}

#[test]
fn proof_error_messages_name_the_values() {
    let e = verify_inclusion(5, 3, &[0; 32], &[], &[0; 32]).unwrap_err();
    assert_eq!(e.to_string(), "leaf index 5 is not below tree size 3");
    let e = verify_inclusion(0, 1, &[0; 32], &[], &[1; 32]).unwrap_err();
    assert!(e.to_string().contains(&hex::encode([1u8; 32])), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_sizes_match_naive(
        n in 1usize..3000,
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        let d = leaves(n);
        let t = tree_of(&d);
        let root_n = mth(&d);
        prop_assert_eq!(t.root(), root_n);

        let m = (a % n as u64) as usize;
        let p = t.inclusion_proof(m as u64, n as u64).unwrap();
        prop_assert_eq!(&p, &path(m, &d));
        prop_assert!(verify_inclusion(m as u64, n as u64, &leaf_hash(&d[m]), &p, &root_n).is_ok());

        let first = 1 + (b % n as u64) as usize;
        let c = t.consistency_proof(first as u64, n as u64).unwrap();
        prop_assert_eq!(&c, &proof(first, &d));
        let root_first = mth(&d[..first]);
        prop_assert!(verify_consistency(first as u64, n as u64, &root_first, &root_n, &c).is_ok());
        // And from a smaller stored prefix of the same tree.
        prop_assert_eq!(t.root_at(first as u64).unwrap(), root_first);
    }

    #[test]
    fn random_tampering_is_rejected(
        n in 2u64..2000,
        a in any::<u64>(),
        b in any::<u64>(),
        byte in 0usize..32,
        bit in 0u8..8,
    ) {
        let mut t = MemTree::new();
        for i in 0..n {
            t.push(&i.to_be_bytes());
        }
        let root = t.root();
        let index = a % n;
        let leaf = leaf_hash(&index.to_be_bytes());
        let mut p = t.inclusion_proof(index, n).unwrap();
        prop_assert!(verify_inclusion(index, n, &leaf, &p, &root).is_ok());
        let which = (b as usize) % p.len();
        p[which][byte] ^= 1 << bit;
        prop_assert!(verify_inclusion(index, n, &leaf, &p, &root).is_err());

        let first = 1 + b % (n - 1);
        let r1 = t.root_at(first).unwrap();
        let mut c = t.consistency_proof(first, n).unwrap();
        prop_assert!(verify_consistency(first, n, &r1, &root, &c).is_ok());
        let which = (a as usize) % c.len();
        c[which][byte] ^= 1 << bit;
        prop_assert!(verify_consistency(first, n, &r1, &root, &c).is_err());
    }
}
