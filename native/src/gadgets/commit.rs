//! Salted Poseidon commitments to quantized tensors (a `hashed` model input
//! or output, docs/privacy.md).
//!
//! For values x_0..x_{N-1} of a b-bit tensor and a salt s in [0, r):
//!
//! 1. pack them as the public signals are packed (`pack.rs`): element
//!    e_j = sum_t (x_{jk+t} + 2^(b-1)) * 2^(b*t), k = floor(252 / b) values
//!    per element, m = ceil(N / k) elements. Every x is range-checked, so the
//!    packing is injective and costs nothing (a linear combination);
//! 2. chain them through circomlib's Poseidon: h = s, then for each run C of
//!    up to 5 consecutive elements, h = Poseidon([h] ++ C). Five, not more:
//!    circomlibjs's Solidity generator cannot make a Poseidon contract of
//!    more than 6 inputs, and a contract must be able to recompute this
//!    (`zkml/data/ZkmlCommitment.sol`).
//!
//! The commitment is the final h. Hiding comes from the salt (253 bits of
//! entropy when drawn uniformly below r): without it even a low-entropy
//! tensor (a digit image, a yes/no answer) cannot be found by trying values.
//! Binding comes from Poseidon's collision resistance and the injective
//! packing. Cost: the Poseidon table in `poseidon.rs` per call, one call per
//! 5 elements (a 6-input hash, t = 7: 355 constraints, 71 per packed
//! element, 2.3 per 8-bit value), plus one constraint that copies the result
//! into its public signal.

use ark_bn254::Fr;

use super::pack::{packed_elements, packed_lcs};
use super::poseidon::{poseidon, poseidon_gadget};
use super::Value;
use crate::r1cs::{ConstraintSystem, Lc, Var};

/// Packed elements per Poseidon call after the chaining value.
pub const CHUNK: usize = 5;

/// The commitment to `values` (b = `bits`) under `salt`, computed natively.
pub fn commitment(values: &[i64], bits: u32, salt: Fr) -> Fr {
    commitment_of_elements(&packed_elements(values, bits), salt)
}

/// The chain of step 2 over already packed `elements`.
pub fn commitment_of_elements(elements: &[Fr], salt: Fr) -> Fr {
    elements.chunks(CHUNK).fold(salt, |h, run| {
        let inputs: Vec<Fr> = std::iter::once(h).chain(run.iter().copied()).collect();
        poseidon(&inputs)
    })
}

/// Constrain a new public variable to the commitment of `values` under the
/// private variable `salt`, and return it.
pub fn commit_public(cs: &mut ConstraintSystem, values: &[Value], bits: u32, salt: Var) -> Var {
    commit_elements(cs, packed_lcs(values, bits), salt)
}

/// [`commit_public`] of already packed elements (the weights commitment
/// packs several constants, each at its own width, one after the other).
pub fn commit_elements(cs: &mut ConstraintSystem, elements: Vec<Lc>, salt: Var) -> Var {
    let mut h = Lc::var(salt);
    for run in elements.chunks(CHUNK) {
        let inputs: Vec<Lc> = std::iter::once(h).chain(run.iter().cloned()).collect();
        h = Lc::var(poseidon_gadget(cs, &inputs));
    }
    let public = cs.alloc_public(cs.eval(&h));
    cs.enforce_zero(Lc::var(public) - h);
    public
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::pow2;
    use crate::gadgets::range::signed_value;
    use ark_ff::{One, UniformRand};
    use rand::{Rng, SeedableRng};

    fn build(values: &[i64], bits: u32, salt: Fr) -> (ConstraintSystem, Var, Var, Vec<Value>) {
        let mut cs = ConstraintSystem::new();
        let vals: Vec<Value> = values.iter().map(|v| signed_value(&mut cs, *v as i128, bits)).collect();
        let s = cs.alloc_private(salt);
        let c = commit_public(&mut cs, &vals, bits, s);
        (cs, c, s, vals)
    }

    #[test]
    fn the_gadget_computes_the_native_commitment_for_every_chain_length() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        // 8-bit: 31 values per element; 1, 5 and 6 elements, and 15 (three calls).
        for (n, bits) in [(1usize, 8u32), (31 * 5, 8), (31 * 5 + 1, 8), (31 * 15 - 3, 8), (5, 64), (40, 2)] {
            let lim = 1i128 << (bits - 1);
            let values: Vec<i64> = (0..n).map(|_| rng.gen_range(-lim..lim) as i64).collect();
            let salt = Fr::rand(&mut rng);
            let (cs, c, _, _) = build(&values, bits, salt);
            assert_eq!(cs.first_unsatisfied(), None, "n = {n}, bits = {bits}");
            assert_eq!(cs.value(c), commitment(&values, bits, salt), "n = {n}, bits = {bits}");
        }
    }

    #[test]
    fn the_commitment_is_the_documented_chain() {
        // Two 8-bit values -> one element; one call: Poseidon([s, e0]).
        let salt = Fr::from(12345u64);
        let e0 = Fr::from((-3i64 + 128) as u64) + Fr::from((5i64 + 128) as u64) * Fr::from(256u64);
        assert_eq!(commitment(&[-3, 5], 8, salt), poseidon(&[salt, e0]));
        // 6 elements of 64-bit values (3 per element): two calls, 5 then 1.
        let values: Vec<i64> = (0..18).map(|i| i * 1_000_003 - 7).collect();
        let elements: Vec<Fr> = values
            .chunks(3)
            .map(|c| c.iter().enumerate().map(|(t, v)| (Fr::from(*v) + pow2(63)) * pow2(64 * t as u32)).sum::<Fr>())
            .collect();
        let first = poseidon(&[&[salt][..], &elements[..5]].concat());
        assert_eq!(commitment(&values, 64, salt), poseidon(&[first, elements[5]]));
    }

    #[test]
    fn another_value_or_salt_gives_another_commitment() {
        let base = commitment(&[1, 2, 3], 8, Fr::from(9u64));
        assert_ne!(base, commitment(&[1, 2, 4], 8, Fr::from(9u64)));
        assert_ne!(base, commitment(&[1, 2, 3], 8, Fr::from(10u64)));
    }

    #[test]
    fn a_wrong_witness_cannot_keep_the_commitment() {
        let values = [-128i64, 127, 0, 55, -1];
        let salt = Fr::from(77u64);
        // Changing a committed value, the salt, or the public commitment
        // itself breaks the system.
        let (mut cs, _, _, vals) = build(&values, 8, salt);
        cs.set_value(vals[3].var, Fr::from(56u64));
        assert!(cs.first_unsatisfied().is_some());
        let (mut cs, _, s, _) = build(&values, 8, salt);
        cs.set_value(s, salt + Fr::one());
        assert!(cs.first_unsatisfied().is_some());
        let (mut cs, c, _, _) = build(&values, 8, salt);
        let v = cs.value(c);
        cs.set_value(c, v + Fr::one());
        assert!(cs.first_unsatisfied().is_some());
    }
}
