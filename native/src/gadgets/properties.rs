//! Malicious-witness properties of every gadget, over random parameters and
//! values: an honest witness satisfies, and each attack of its kind — another
//! output, a forged bit compensated elsewhere so sums still match, a remainder
//! shifted by the divisor, a value aliased by 2^bits, another ReLU output, a
//! packed value moved between slots, a non-zero padding, another maximum,
//! another argmax choice, another product sum, another table value — is
//! rejected.
//!
//! [`PROPERTY_TESTED`] lists the gadget modules covered here; a test fails
//! when a file in `gadgets/` is missing from it, so a new gadget cannot land
//! without its properties.

use ark_bn254::Fr;
use ark_ff::UniformRand;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::affine::{affine_with, rescale, Term};
use super::argmax::{argmax, argmax_with};
use super::bilinear::bilinear_with;
use super::function::{function, function_with, Table};
use super::gather::{gather, gather_with};
use super::linear::linear;
use super::max::{max, max_with};
use super::pack::pack_public;
use super::poseidon::{poseidon, poseidon_gadget, MAX_INPUTS};
use super::range::{range_check_signed, signed_value};
use super::relu::relu_with;
use super::{pow2, Value};
use crate::program::TensorSpec;
use crate::r1cs::{ConstraintSystem, Lc, Var};

/// Gadget modules (files of `gadgets/`) whose properties are tested here.
const PROPERTY_TESTED: &[&str] = &[
    "affine", "argmax", "bilinear", "commit", "function", "gather", "linear", "max", "pack", "poseidon", "range",
    "relu",
];

/// Files of `gadgets/` that hold generated data, not a gadget.
const DATA_FILES: &[&str] = &["poseidon_constants"];

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
        .filter(|m| m != "mod" && m != "properties" && !DATA_FILES.contains(&m.as_str()))
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

#[test]
fn affine_rejects_another_quotient_over_random_terms_of_mixed_widths() {
    let mut rng = rng(5);
    for _ in 0..CASES {
        // Values of several widths, terms that may repeat one, weights and a bias.
        let n = rng.gen_range(1..6usize);
        let inputs: Vec<(i128, u32)> = (0..n)
            .map(|_| {
                let bits = rng.gen_range(2..20u32);
                (random_signed(&mut rng, bits), bits)
            })
            .collect();
        let t = rng.gen_range(0..8usize);
        let terms: Vec<(usize, i64)> = (0..t).map(|_| (rng.gen_range(0..n), rng.gen_range(-1000..1000))).collect();
        let bias = rng.gen_range(-100_000..100_000i64);
        let acc = terms.iter().map(|(i, w)| *w as i128 * inputs[*i].0).sum::<i128>() + bias as i128;
        let shift = rng.gen_range(0..12u32);
        let (q, rem) = (acc.div_euclid(1 << shift), acc.rem_euclid(1 << shift));
        let bits = 40;
        let build = |q: Fr, rem: Fr| {
            let mut cs = ConstraintSystem::new();
            let x: Vec<Value> = inputs.iter().map(|(v, b)| signed_value(&mut cs, *v, *b)).collect();
            let ts: Vec<Term> = terms.iter().map(|(i, w)| (&x[*i], *w, Fr::from(*w))).collect();
            affine_with(&mut cs, ts, bias, shift, bits, q, rem);
            cs.first_unsatisfied()
        };
        assert_eq!(build(Fr::from(q), Fr::from(rem)), None, "honest acc {acc} shift {shift}");
        // q + k with rem - k 2^shift balances the rescale row exactly.
        for k in [1i128, -1, rng.gen_range(2..1 << 20), 1i128 << bits] {
            let forged = build(Fr::from(q + k), Fr::from(rem) - Fr::from(k) * pow2(shift));
            assert!(forged.is_some(), "acc {acc}: q + {k} (shift {shift}) accepted");
        }
    }
}

#[test]
fn linear_rejects_every_single_variable_change() {
    let mut rng = rng(6);
    for _ in 0..CASES / 4 {
        let (rows, k, n) = (rng.gen_range(1..3usize), rng.gen_range(1..4usize), rng.gen_range(1..4usize));
        let bits = rng.gen_range(2..10u32);
        let shift = rng.gen_range(0..5u32);
        let weight: Vec<i64> = (0..n * k).map(|_| rng.gen_range(-4..5)).collect();
        let bias: Vec<i64> = (0..n).map(|_| rng.gen_range(-16..17)).collect();
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> =
            (0..rows * k).map(|_| random_signed(&mut rng, bits)).map(|v| signed_value(&mut cs, v, bits)).collect();
        let out = TensorSpec { name: "y".into(), shape: vec![rows, n], scale: 0, bits: bits + 6 };
        linear(&mut cs, &x, &weight, k, &bias, shift, &out, "t").unwrap();
        assert_eq!(cs.first_unsatisfied(), None);
        for i in 0..cs.num_private() {
            let v = Var::Private(i as u32);
            let honest = cs.value(v);
            for delta in [Fr::from(1u64), -Fr::from(1u64), Fr::rand(&mut rng)] {
                cs.set_value(v, honest + delta);
                assert!(cs.first_unsatisfied().is_some(), "variable {i} changed by {delta} accepted");
            }
            cs.set_value(v, honest);
        }
    }
}

#[test]
fn gather_rejects_a_non_zero_padding_and_values_moved_between_outputs() {
    let mut rng = rng(7);
    for _ in 0..CASES {
        let bits = rng.gen_range(2..30u32);
        let n = rng.gen_range(1..6usize);
        let o = rng.gen_range(2..8usize);
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> =
            (0..n).map(|_| random_signed(&mut rng, bits)).map(|v| signed_value(&mut cs, v, bits)).collect();
        pack_public(&mut cs, &x, bits);
        let xr: Vec<&Value> = x.iter().collect();
        let mut index: Vec<i64> = (0..o).map(|_| rng.gen_range(-1..n as i64)).collect();
        index[0] = -1;
        // Padding: any value but zero breaks the pin.
        let mut forged = ConstraintSystem::new();
        let fx: Vec<Value> = x.iter().map(|v| signed_value(&mut forged, v.val, bits)).collect();
        gather_with(&mut forged, &fx.iter().collect::<Vec<_>>(), &index, Fr::rand(&mut rng));
        assert!(forged.first_unsatisfied().is_some(), "a random padding value accepted");
        // Published with two different values exchanged: the packing of y
        // refers to x's variables, which the input packing pins.
        let y = gather(&mut cs, &xr, &index);
        let packed = pack_public(&mut cs, &y, bits);
        assert_eq!(cs.first_unsatisfied(), None);
        let (a, b) = (rng.gen_range(0..o), rng.gen_range(0..o));
        if y[a].val == y[b].val {
            continue;
        }
        let mut vals: Vec<i128> = y.iter().map(|v| v.val).collect();
        vals.swap(a, b);
        let per = (crate::program::PACK_BITS / bits) as usize;
        for (e, chunk) in vals.chunks(per).enumerate() {
            let claim: Fr = chunk
                .iter()
                .enumerate()
                .map(|(t, v)| Fr::from(v + (1i128 << (bits - 1))) * pow2(bits * t as u32))
                .sum();
            cs.set_value(packed[e], claim);
        }
        assert!(cs.first_unsatisfied().is_some(), "outputs {a} and {b} exchanged accepted");
    }
}

#[test]
fn max_rejects_every_other_output() {
    let mut rng = rng(8);
    for _ in 0..CASES {
        let bits = rng.gen_range(2..24u32);
        let t = rng.gen_range(1..7usize);
        let mut vals: Vec<i128> = (0..t).map(|_| random_signed(&mut rng, bits)).collect();
        if t > 1 && rng.gen() {
            vals[t - 1] = vals[0]; // a tie
        }
        let honest = *vals.iter().max().unwrap();
        let half = 1i128 << (bits - 1);
        let mut claims = vec![
            honest,
            honest + 1,
            honest - 1,
            honest + (1 << bits),
            honest - (1 << bits),
            random_signed(&mut rng, bits),
            -half,
            half - 1,
        ];
        claims.extend(vals.iter().copied());
        for y in claims {
            let mut cs = ConstraintSystem::new();
            let x: Vec<Value> = vals.iter().map(|v| signed_value(&mut cs, *v, bits)).collect();
            max_with(&mut cs, &x.iter().collect::<Vec<_>>(), Fr::from(y), y, bits);
            assert_eq!(cs.first_unsatisfied().is_none(), y == honest, "max({vals:?}) = {y} (bits {bits})");
        }
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> = vals.iter().map(|v| signed_value(&mut cs, *v, bits)).collect();
        max_with(&mut cs, &x.iter().collect::<Vec<_>>(), Fr::rand(&mut rng), 0, bits);
        assert!(cs.first_unsatisfied().is_some(), "max({vals:?}) = random accepted");
        // A difference bit made non-boolean and compensated by its neighbour.
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> = vals.iter().map(|v| signed_value(&mut cs, *v, bits)).collect();
        let first = cs.num_private();
        max(&mut cs, &x.iter().collect::<Vec<_>>(), bits);
        assert_eq!(cs.first_unsatisfied(), None);
        if bits > 1 {
            // y, its bits, then `bits` bits per difference.
            let d = rng.gen_range(0..t);
            let i = rng.gen_range(0..bits - 1);
            let at = |j: u32| Var::Private((first + 1 + bits as usize * (1 + d)) as u32 + j);
            let s = Fr::rand(&mut rng);
            let (bi, bj) = (cs.value(at(i)), cs.value(at(i + 1)));
            cs.set_value(at(i), bi + s + s);
            cs.set_value(at(i + 1), bj - s);
            assert!(cs.first_unsatisfied().is_some(), "compensated bit {i} of difference {d} accepted");
        }
    }
}

#[test]
fn argmax_rejects_every_other_choice_and_maximum() {
    let mut rng = rng(9);
    for _ in 0..CASES {
        let bits = rng.gen_range(2..16u32);
        let t = rng.gen_range(1..7usize);
        let mut vals: Vec<i128> = (0..t).map(|_| random_signed(&mut rng, bits)).collect();
        if t > 2 && rng.gen() {
            let (a, b) = (rng.gen_range(0..t), rng.gen_range(0..t));
            vals[a] = vals[b]; // ties, perhaps of the maximum
        }
        let mut columns: Vec<u64> = Vec::new();
        let mut c = 0u64;
        for _ in 0..t {
            c += rng.gen_range(0..3) + u64::from(!columns.is_empty());
            columns.push(c);
        }
        let bits_out = (64 - c.leading_zeros() + 1).max(2);
        let max = *vals.iter().max().unwrap();
        let first = vals.iter().position(|v| *v == max).unwrap();
        for m in [max, max + 1, max - 1, random_signed(&mut rng, bits)] {
            for chosen in 0..t {
                let mut cs = ConstraintSystem::new();
                let x: Vec<Value> = vals.iter().map(|v| signed_value(&mut cs, *v, bits)).collect();
                let entries: Vec<(u64, &Value)> = columns.iter().copied().zip(&x).collect();
                argmax_with(&mut cs, &entries, Fr::from(m), chosen, bits, bits_out);
                let honest = m == max && chosen == first;
                assert_eq!(cs.first_unsatisfied().is_none(), honest, "{vals:?}: m {m}, chosen {chosen}");
            }
        }
        // A slack bit made non-boolean and compensated by its neighbour.
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> = vals.iter().map(|v| signed_value(&mut cs, *v, bits)).collect();
        let entries: Vec<(u64, &Value)> = columns.iter().copied().zip(&x).collect();
        let start = cs.num_private();
        let y = argmax(&mut cs, &entries, bits, bits_out);
        assert_eq!((cs.first_unsatisfied(), y.val), (None, columns[first] as i128));
        // m, its bits, then per entry: first_t and `bits` slack bits.
        let d = rng.gen_range(0..t);
        let i = rng.gen_range(0..bits - 1);
        let at = |j: u32| Var::Private((start + 1 + bits as usize + d * (1 + bits as usize) + 1) as u32 + j);
        let s = Fr::rand(&mut rng);
        let (bi, bj) = (cs.value(at(i)), cs.value(at(i + 1)));
        cs.set_value(at(i), bi + s + s);
        cs.set_value(at(i + 1), bj - s);
        assert!(cs.first_unsatisfied().is_some(), "compensated slack bit {i} of entry {d} accepted");
    }
}

#[test]
fn bilinear_rejects_another_quotient_over_random_products() {
    let mut rng = rng(10);
    for _ in 0..CASES {
        let n = rng.gen_range(1..5usize);
        let inputs: Vec<(i128, u32)> = (0..n)
            .map(|_| {
                let bits = rng.gen_range(2..24u32);
                (random_signed(&mut rng, bits), bits)
            })
            .collect();
        let pairs: Vec<(usize, usize)> =
            (0..rng.gen_range(0..6)).map(|_| (rng.gen_range(0..n), rng.gen_range(0..n))).collect();
        let bias = rng.gen_range(-100_000..100_000i64);
        let acc = pairs.iter().map(|(a, b)| inputs[*a].0 * inputs[*b].0).sum::<i128>() + bias as i128;
        let shift = rng.gen_range(0..16u32);
        let (q, rem) = (acc.div_euclid(1 << shift), acc.rem_euclid(1 << shift));
        let bits = 60;
        let build = |q: Fr, rem: Fr| {
            let mut cs = ConstraintSystem::new();
            let x: Vec<Value> = inputs.iter().map(|(v, b)| signed_value(&mut cs, *v, *b)).collect();
            let ps: Vec<(&Value, &Value)> = pairs.iter().map(|(a, b)| (&x[*a], &x[*b])).collect();
            bilinear_with(&mut cs, &ps, bias, shift, bits, q, rem);
            cs.first_unsatisfied()
        };
        assert_eq!(build(Fr::from(q), Fr::from(rem)), None, "honest acc {acc} shift {shift}");
        for k in [1i128, -1, rng.gen_range(2..1 << 20), 1i128 << bits] {
            let forged = build(Fr::from(q + k), Fr::from(rem) - Fr::from(k) * pow2(shift));
            assert!(forged.is_some(), "acc {acc}: q + {k} (shift {shift}) accepted");
        }
    }
}

#[test]
fn function_rejects_another_output_and_forged_input_bits_over_random_tables() {
    let mut rng = rng(11);
    for _ in 0..CASES / 2 {
        let b = rng.gen_range(2..10u32);
        let k = rng.gen_range(1..=b.min(4));
        let table: Vec<i64> = (0..3 << k).map(|_| rng.gen_range(-1000..1000)).collect();
        let t = Table::new(&table, k);
        let x = random_signed(&mut rng, b);
        let shift = rng.gen_range(0..6u32);
        let acc = t.value(x + (1 << (b - 1)), b);
        let (q, rem) = (acc.div_euclid(1 << shift), acc.rem_euclid(1 << shift));
        let bits = 40;
        let build = |q: Fr, rem: Fr| {
            let mut cs = ConstraintSystem::new();
            let xv = signed_value(&mut cs, x, b);
            function_with(&mut cs, &xv, b, &t, shift, bits, q, rem);
            cs.first_unsatisfied()
        };
        assert_eq!(build(Fr::from(q), Fr::from(rem)), None, "honest x {x} b {b} k {k}");
        for d in [1i128, -1, rng.gen_range(2..1 << 20)] {
            let forged = build(Fr::from(q + d), Fr::from(rem) - Fr::from(d) * pow2(shift));
            assert!(forged.is_some(), "x {x} b {b} k {k}: q + {d} accepted");
        }
        // u's bits: one made non-boolean and compensated by its neighbour, so
        // u still recomposes to x + 2^(b-1) and only booleanity can notice.
        if b >= 2 {
            let mut cs = ConstraintSystem::new();
            let xv = signed_value(&mut cs, x, b);
            let start = cs.num_private();
            let out = TensorSpec { name: "y".into(), shape: vec![1], scale: 0, bits };
            function(&mut cs, &xv, b, &t, shift, &out, "t").unwrap();
            assert_eq!(cs.first_unsatisfied(), None);
            let i = rng.gen_range(0..b - 1);
            let at = |j: u32| Var::Private(start as u32 + j);
            let s = Fr::rand(&mut rng);
            let (bi, bj) = (cs.value(at(i)), cs.value(at(i + 1)));
            cs.set_value(at(i), bi + s + s);
            cs.set_value(at(i + 1), bj - s);
            assert!(cs.first_unsatisfied().is_some(), "compensated bit {i} of u accepted (b {b}, k {k})");
        }
    }
}

#[test]
fn poseidon_rejects_another_output_and_any_forged_intermediate_over_random_inputs() {
    let mut rng = rng(12);
    for _ in 0..CASES / 10 {
        let n = rng.gen_range(1..=MAX_INPUTS);
        let inputs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let build = || {
            let mut cs = ConstraintSystem::new();
            let lcs: Vec<Lc> = inputs.iter().map(|x| Lc::var(cs.alloc_private(*x))).collect();
            let out = poseidon_gadget(&mut cs, &lcs);
            (cs, out)
        };
        let (mut cs, out) = build();
        assert_eq!(cs.value(out), poseidon(&inputs), "{n} inputs");
        assert_eq!(cs.first_unsatisfied(), None, "{n} inputs");
        cs.set_value(out, Fr::rand(&mut rng));
        assert!(cs.first_unsatisfied().is_some(), "{n} inputs: another output accepted");
        // Any one S-box intermediate (x^2, x^4 or x^5 of some round) moved by
        // a random amount.
        let (mut cs, _) = build();
        let k = rng.gen_range(n..cs.num_private() - 1) as u32;
        let v = cs.value(Var::Private(k));
        cs.set_value(Var::Private(k), v + Fr::rand(&mut rng));
        assert!(cs.first_unsatisfied().is_some(), "{n} inputs: forged intermediate {k} accepted");
    }
}

#[test]
fn commit_rejects_any_changed_value_salt_intermediate_or_commitment_over_random_tensors() {
    use super::commit::{commit_public, commitment};
    use super::range::signed_value;
    let mut rng = rng(13);
    for _ in 0..CASES / 20 {
        let bits = rng.gen_range(2..=64u32);
        let n = rng.gen_range(1..=3 * (252 / bits as usize) + 2);
        let values: Vec<i64> = (0..n).map(|_| random_signed(&mut rng, bits) as i64).collect();
        let salt = Fr::rand(&mut rng);
        let build = || {
            let mut cs = ConstraintSystem::new();
            let vals: Vec<Value> = values.iter().map(|v| signed_value(&mut cs, *v as i128, bits)).collect();
            let s = cs.alloc_private(salt);
            let c = commit_public(&mut cs, &vals, bits, s);
            (cs, vals, s, c)
        };
        let (cs, ..) = build();
        assert_eq!(cs.first_unsatisfied(), None);
        let (_, _, _, c) = build();
        assert_eq!(build().0.value(c), commitment(&values, bits, salt));
        // One committed value, the salt, the commitment, or any private
        // variable after the values' range checks, moved by a random amount.
        let (mut cs, vals, s, c) = build();
        let victim = match rng.gen_range(0..4) {
            0 => vals[rng.gen_range(0..n)].var,
            1 => s,
            2 => c,
            _ => Var::Private(rng.gen_range(s_index(s)..cs.num_private() as u32)),
        };
        let v = cs.value(victim);
        cs.set_value(victim, v + Fr::rand(&mut rng));
        assert!(cs.first_unsatisfied().is_some(), "{bits}-bit x {n}: changed {victim:?} accepted");
    }
}

fn s_index(v: Var) -> u32 {
    match v {
        Var::Private(i) => i,
        _ => unreachable!("the salt is private"),
    }
}
