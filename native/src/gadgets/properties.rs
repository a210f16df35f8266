//! Malicious-witness properties of every gadget, over random parameters and
//! values: an honest witness satisfies, and each attack of its kind — another
//! output, a forged bit compensated elsewhere so sums still match, a remainder
//! shifted by the divisor, a value aliased by 2^bits, another ReLU output, a
//! packed value moved between slots — is rejected.
//!
//! [`PROPERTY_TESTED`] lists the gadget modules covered here; a test fails
//! when a file in `gadgets/` is missing from it, so a new gadget cannot land
//! without its properties.

use ark_bn254::Fr;
use ark_ff::UniformRand;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::linear::rescale;
use super::pack::pack_public;
use super::range::{range_check_signed, signed_value};
use super::relu::relu_with;
use super::{pow2, Value};
use crate::r1cs::{ConstraintSystem, Lc};

/// Gadget modules (files of `gadgets/`) whose properties are tested here.
const PROPERTY_TESTED: &[&str] = &["linear", "pack", "range", "relu"];

const CASES: usize = 200;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn random_signed(rng: &mut ChaCha20Rng, bits: u32) -> i128 {
    let half = 1i128 << (bits - 1);
    rng.gen_range(-half..half)
}

#[test]
fn every_gadget_module_has_malicious_witness_properties() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gadgets");
    let mut modules: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string())
        .filter(|m| m != "mod" && m != "properties")
        .collect();
    modules.sort();
    assert_eq!(modules, PROPERTY_TESTED, "gadgets without malicious-witness properties (add them here)");
}

#[test]
fn range_check_rejects_compensated_non_boolean_bits_and_aliases() {
    let mut rng = rng(1);
    for _ in 0..CASES {
        let bits = rng.gen_range(2..=48u32);
        let v = random_signed(&mut rng, bits);
        let mut cs = ConstraintSystem::new();
        let x = cs.alloc_private(Fr::from(v));
        let b = range_check_signed(&mut cs, x, bits);
        assert_eq!(cs.first_unsatisfied(), None);
        // b_i + 2t and b_{i+1} - t: the recomposition is unchanged, only
        // booleanity can notice.
        let i = rng.gen_range(0..bits as usize - 1);
        let t = Fr::rand(&mut rng);
        let (bi, bj) = (cs.value(b[i]), cs.value(b[i + 1]));
        cs.set_value(b[i], bi + t + t);
        cs.set_value(b[i + 1], bj - t);
        assert!(cs.first_unsatisfied().is_some(), "bits {bits}, value {v}: compensated bit {i} accepted");
        // A value aliased by a multiple of 2^bits (same low bits) is out of range.
        let k = rng.gen_range(1..1000i128) * if rng.gen() { 1 } else { -1 };
        let mut cs = ConstraintSystem::new();
        signed_value(&mut cs, v + k * (1i128 << bits), bits);
        assert!(cs.first_unsatisfied().is_some(), "bits {bits}: {v} + {k}*2^{bits} accepted");
    }
}

#[test]
fn rescale_rejects_any_other_quotient_with_a_compensating_remainder() {
    let mut rng = rng(2);
    for _ in 0..CASES {
        let shift = rng.gen_range(0..24u32);
        let bits = rng.gen_range(2..24u32);
        let q = random_signed(&mut rng, bits);
        let rem = if shift == 0 { 0 } else { rng.gen_range(0..1i128 << shift) };
        let acc = q * (1i128 << shift) + rem;
        let build = |q_val: Fr, rem_val: Fr| {
            let mut cs = ConstraintSystem::new();
            rescale(&mut cs, Lc::constant(Fr::from(acc)), q_val, rem_val, shift, bits);
            cs.first_unsatisfied()
        };
        assert_eq!(build(Fr::from(q), Fr::from(rem)), None, "honest q {q} rem {rem} shift {shift}");
        // q + k with rem - k 2^shift keeps acc = 2^shift q + rem exact in the
        // field; the range checks on q and rem must refuse it.
        for k in [1i128, -1, rng.gen_range(2..1 << 20), -(1i128 << bits)] {
            let forged = build(Fr::from(q + k), Fr::from(rem) - Fr::from(k) * pow2(shift));
            assert!(forged.is_some(), "q {q} + {k}, shift {shift}, bits {bits} accepted");
        }
    }
}

#[test]
fn relu_rejects_every_other_output() {
    let mut rng = rng(3);
    for _ in 0..CASES {
        let bits = rng.gen_range(2..32u32);
        let v = random_signed(&mut rng, bits);
        let honest = v.max(0);
        for y in [honest, v, -honest, honest + 1, honest - 1, rng.gen_range(-1000..1000)] {
            let mut cs = ConstraintSystem::new();
            let x = signed_value(&mut cs, v, bits);
            relu_with(&mut cs, &x, Fr::from(y));
            assert_eq!(cs.first_unsatisfied().is_none(), y == honest, "relu({v}) = {y}");
        }
        let mut cs = ConstraintSystem::new();
        let x = signed_value(&mut cs, v, bits);
        relu_with(&mut cs, &x, Fr::rand(&mut rng));
        assert!(cs.first_unsatisfied().is_some(), "relu({v}) = random accepted");
    }
}

#[test]
fn packing_rejects_values_moved_between_slots() {
    let mut rng = rng(4);
    for _ in 0..CASES {
        let bits = rng.gen_range(2..40u32);
        let n = rng.gen_range(2..8usize);
        let vals: Vec<i128> = (0..n).map(|_| random_signed(&mut rng, bits)).collect();
        let mut cs = ConstraintSystem::new();
        let values: Vec<Value> = vals.iter().map(|v| signed_value(&mut cs, *v, bits)).collect();
        let packed = pack_public(&mut cs, &values, bits);
        assert_eq!(cs.first_unsatisfied(), None);
        // x_t + 2^bits with x_{t+1} - 1 leaves the packed sum unchanged when
        // both share an element: only the range checks can notice.
        let t = rng.gen_range(0..n - 1);
        let (a, b) = (values[t].var, values[t + 1].var);
        let (va, vb) = (cs.value(a), cs.value(b));
        cs.set_value(a, va + pow2(bits));
        cs.set_value(b, vb - Fr::from(1u64));
        assert!(cs.first_unsatisfied().is_some(), "bits {bits}: slot {t} aliased into {}", t + 1);
        // Another public value for the same private values.
        cs.set_value(a, va);
        cs.set_value(b, vb);
        let p = packed[rng.gen_range(0..packed.len())];
        let vp = cs.value(p);
        cs.set_value(p, vp + Fr::rand(&mut rng));
        assert!(cs.first_unsatisfied().is_some(), "a changed public element was accepted");
    }
}
