//! Affine combination of arbitrary values with constant weights, plus the
//! rescale that follows it:
//!     acc = sum_t w_t * x_t + bias,   y = floor(acc / 2^shift).
//!
//! The weighted sum costs nothing by itself: it is a linear combination that
//! sits inside the rescale constraint
//!     acc = 2^shift * q + rem,   q signed `bits`-wide,   0 <= rem < 2^shift,
//! which makes q = floor(acc / 2^shift). Both q and rem are range-checked, and
//! program validation keeps |acc| < 2^120 and shift <= 120 (bits <= 64), so
//! the identity holds over the integers, not just modulo r. Cost per output
//! value: `bits + shift` booleans + 2 (q's recomposition and the rescale).

use ark_bn254::Fr;

use super::range::{alloc_bits, range_check_signed, recompose};
use super::{pow2, Value};
use crate::error::{Error, Result};
use crate::program::{Elem, TensorSpec};
use crate::r1cs::{ConstraintSystem, Lc, Var};

/// One term of the sum: the value, its weight, and the weight as a field
/// element (converted once per instruction by the caller).
pub type Term<'a> = (&'a Value, i64, Fr);

/// Constant weights as field elements. Weights within a span of fewer than
/// min(2^16, their count) values (quantized weights of a large layer nearly
/// always are) come from a table of that span, converted once; others are
/// converted once when there are at most
/// 2^22 of them (128 MiB), else at each use, so a huge weight constant never
/// needs four times its size again.
pub struct FieldWeights<'a, T: Elem> {
    w: &'a [T],
    fr: Converted,
}

enum Converted {
    /// Fr of `min + i` at i.
    Table {
        min: i64,
        fr: Vec<Fr>,
    },
    All(Vec<Fr>),
    None,
}

impl<'a, T: Elem> FieldWeights<'a, T> {
    pub fn new(w: &'a [T]) -> Self {
        let (min, max) = w.iter().fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min((*v).into()), hi.max((*v).into())));
        let fr = if w.is_empty() {
            Converted::None
        } else if (max as i128 - min as i128) < (1 << 16).min(w.len() as i128) {
            Converted::Table { min, fr: (min..=max).map(Fr::from).collect() }
        } else if w.len() <= 1 << 22 {
            Converted::All(w.iter().map(|v| Fr::from(Into::<i64>::into(*v))).collect())
        } else {
            Converted::None
        };
        FieldWeights { w, fr }
    }

    /// (weight, weight as a field element) at position `i`.
    pub fn get(&self, i: usize) -> (i64, Fr) {
        let w: i64 = self.w[i].into();
        let f = match &self.fr {
            Converted::Table { min, fr } => fr[(w - min) as usize],
            Converted::All(fr) => fr[i],
            Converted::None => Fr::from(w),
        };
        (w, f)
    }
}

/// Enforce `acc = 2^shift * q + rem` with the given witness values for q and rem.
/// Returns q and its sign bit (1 iff q >= 0).
pub fn rescale(cs: &mut ConstraintSystem, acc: Lc, q_val: Fr, rem_val: Fr, shift: u32, bits: u32) -> (Var, Lc) {
    rescale_known(cs, acc, None, q_val, rem_val, shift, bits)
}

/// [`rescale`] with the accumulator's value when the gadget knows it (see
/// [`ConstraintSystem::enforce_zero_known`]): the same row.
fn rescale_known(
    cs: &mut ConstraintSystem,
    acc: Lc,
    acc_value: Option<Fr>,
    q_val: Fr,
    rem_val: Fr,
    shift: u32,
    bits: u32,
) -> (Var, Lc) {
    let q = cs.alloc_private(q_val);
    let q_bits = range_check_signed(cs, q, bits);
    let rem_bits = alloc_bits(cs, rem_val, shift);
    let rest = -Lc::term(q, pow2(shift)) - recompose(&rem_bits);
    match acc_value {
        Some(v) => cs.enforce_zero_known(acc, v, rest),
        None => cs.enforce_zero(acc + rest),
    }
    (q, Lc::var(*q_bits.last().expect("bits >= 2")))
}

/// The accumulator as a linear combination, and its integer value.
fn accumulate<'a>(terms: impl IntoIterator<Item = Term<'a>>, bias: i64) -> (Lc, i128) {
    let terms = terms.into_iter();
    let mut acc = Lc(Vec::with_capacity(terms.size_hint().0 + 1));
    let mut acc_val = bias as i128;
    for (x, w, w_fr) in terms {
        acc.push(x.var, w_fr);
        acc_val += w as i128 * x.val;
    }
    acc.push(Var::One, Fr::from(bias));
    (acc, acc_val)
}

/// The constraints of one output with the witness values of its free
/// variables (q and the remainder) given explicitly: the low-level function
/// that tests feed a malicious witness through.
pub fn affine_with<'a>(
    cs: &mut ConstraintSystem,
    terms: impl IntoIterator<Item = Term<'a>>,
    bias: i64,
    shift: u32,
    bits: u32,
    q_val: Fr,
    rem_val: Fr,
) -> (Var, Lc) {
    let (acc, _) = accumulate(terms, bias);
    rescale(cs, acc, q_val, rem_val, shift, bits)
}

/// The error for a value that does not fit its tensor on the honest path.
/// `context` names the instruction ("instruction 3 (affine)").
pub fn out_of_range(context: &str, out: &TensorSpec, q: i128) -> Error {
    Error::OutOfRange(format!(
        "{context}: value {q} of tensor '{}' (about {:.4}) is outside its {}-bit range [{}, {}]; \
         this input drives the model beyond the range it was calibrated for \
         (recompile with calibration data that covers it, or more --bits)",
        out.name,
        q as f64 / 2f64.powi(out.scale),
        out.bits,
        out.min(),
        out.max()
    ))
}

/// y = floor(acc / 2^shift) for an accumulator `acc` (a linear combination)
/// whose honest integer value is `acc_val`, range-checked to `out`'s bits:
/// the honest path shared by every gadget that ends in a rescale. A y
/// outside the range is an [`Error::OutOfRange`] naming `context` and the
/// tensor; in a structure-only system nothing is evaluated (y is 0) and no
/// error is raised.
pub fn floor_value(
    cs: &mut ConstraintSystem,
    acc: Lc,
    acc_val: i128,
    shift: u32,
    out: &TensorSpec,
    context: &str,
) -> Result<Value> {
    let (q, rem) = if cs.is_structure_only() {
        (0, 0)
    } else {
        let (q, rem) = (acc_val >> shift, acc_val & ((1i128 << shift) - 1));
        if q < out.min() || q > out.max() {
            return Err(out_of_range(context, out, q));
        }
        (q, rem)
    };
    // The accumulator's value is acc_val (each gadget computes it from the
    // values its combination's variables hold).
    let known = (!cs.is_structure_only()).then(|| Fr::from(acc_val));
    let (var, sign) = rescale_known(cs, acc, known, Fr::from(q), Fr::from(rem), shift, out.bits);
    Ok(Value { var, val: q, sign })
}

/// [`affine`] with committed weights: each weight w_t and the bias are
/// private values (range-checked where they were made), so each product
/// w_t * x_t costs one constraint, p_t = w_t * x_t, and the rescale takes
/// sum_t p_t + bias. Program validation bounds |acc| by the weights' widths,
/// so the rescale identity still holds over the integers.
pub fn affine_committed<'a>(
    cs: &mut ConstraintSystem,
    terms: impl IntoIterator<Item = (&'a Value, &'a Value)>,
    bias: &Value,
    shift: u32,
    out: &TensorSpec,
    context: &str,
) -> Result<Value> {
    let mut acc = Lc::var(bias.var);
    let mut acc_val = bias.val;
    for (x, w) in terms {
        let p_val = x.val * w.val;
        let p = cs.alloc_private(super::fr(p_val));
        cs.enforce(Lc::var(w.var), Lc::var(x.var), Lc::var(p));
        acc.push(p, Fr::from(1u64));
        acc_val += p_val;
    }
    floor_value(cs, acc, acc_val, shift, out, context)
}

/// y = floor((sum_t w_t * x_t + bias) / 2^shift), range-checked to `out`'s
/// bits (see [`floor_value`] for the honest-path error and structure-only
/// mode).
pub fn affine<'a>(
    cs: &mut ConstraintSystem,
    terms: impl IntoIterator<Item = Term<'a>>,
    bias: i64,
    shift: u32,
    out: &TensorSpec,
    context: &str,
) -> Result<Value> {
    let (acc, acc_val) = if cs.needs_structure() {
        accumulate(terms, bias)
    } else {
        // Witness only: the rescale row needs the accumulator's value, not
        // its terms (each x's variable holds x.val, the invariant of
        // `Value`), so a layer's millions of weight coefficients become one
        // integer dot product.
        let acc_val = terms.into_iter().fold(bias as i128, |s, (x, w, _)| s + w as i128 * x.val);
        (Lc::constant(Fr::from(acc_val)), acc_val)
    };
    floor_value(cs, acc, acc_val, shift, out, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::range::signed_value;

    fn spec(bits: u32) -> TensorSpec {
        TensorSpec { name: "y".into(), shape: vec![1], scale: 0, bits }
    }

    fn terms<'a>(x: &'a [Value], w: &[i64]) -> Vec<Term<'a>> {
        x.iter().zip(w).map(|(x, w)| (x, *w, Fr::from(*w))).collect()
    }

    #[test]
    fn honest_affine_floors_over_inputs_of_different_widths_and_repeats() {
        for (a, b, c) in [(10, 3, -100), (-10, 3, 2000), (0, 0, 0), (-1, 7, -2048), (100, -8, 2047), (-128, 7, 5)] {
            let mut cs = ConstraintSystem::new();
            let x = [signed_value(&mut cs, a, 8), signed_value(&mut cs, b, 4), signed_value(&mut cs, c, 12)];
            // x0 appears twice: 3*x0 - 5*x1 + 2*x2 - x0 + 7.
            let ts = vec![
                (&x[0], 3, Fr::from(3)),
                (&x[1], -5, -Fr::from(5)),
                (&x[2], 2, Fr::from(2)),
                (&x[0], -1, -Fr::from(1)),
            ];
            let y = affine(&mut cs, ts, 7, 3, &spec(16), "t").unwrap();
            let acc = 3 * a - 5 * b + 2 * c - a + 7;
            assert_eq!(y.val, acc.div_euclid(8));
            assert_eq!(cs.value(y.var), Fr::from(acc.div_euclid(8)));
            assert_eq!(cs.first_unsatisfied(), None);
        }
    }

    #[test]
    fn no_terms_leaves_the_bias_and_shift_zero_is_exact() {
        let mut cs = ConstraintSystem::new();
        let y = affine(&mut cs, [], -9, 2, &spec(8), "t").unwrap();
        assert_eq!(y.val, -3);
        let x = [signed_value(&mut cs, -5, 8)];
        let z = affine(&mut cs, terms(&x, &[3]), 1, 0, &spec(8), "t").unwrap();
        assert_eq!(z.val, -14);
        assert_eq!(cs.first_unsatisfied(), None);
    }

    #[test]
    fn another_quotient_with_adjusted_remainder_is_rejected() {
        // The adversary claims q +- 1 and moves the remainder by 2^shift to
        // keep acc = 8q + rem: rem then leaves [0, 8) and its bits cannot hold it.
        let (a, b) = (-10i128, 3i128);
        let acc = 3 * a - 5 * b + 7;
        for delta in [-1i128, 1, 5] {
            let mut cs = ConstraintSystem::new();
            let x = [signed_value(&mut cs, a, 8), signed_value(&mut cs, b, 8)];
            let q = acc.div_euclid(8) + delta;
            affine_with(&mut cs, terms(&x, &[3, -5]), 7, 3, 16, Fr::from(q), Fr::from(acc - 8 * q));
            assert!(cs.first_unsatisfied().is_some(), "q off by {delta} accepted");
        }
        // And the honest pair through the same function satisfies.
        let mut cs = ConstraintSystem::new();
        let x = [signed_value(&mut cs, a, 8), signed_value(&mut cs, b, 8)];
        affine_with(&mut cs, terms(&x, &[3, -5]), 7, 3, 16, Fr::from(acc.div_euclid(8)), Fr::from(acc.rem_euclid(8)));
        assert_eq!(cs.first_unsatisfied(), None);
    }

    #[test]
    fn another_quotient_with_honest_remainder_is_rejected() {
        let mut cs = ConstraintSystem::new();
        let x = [signed_value(&mut cs, 20, 8), signed_value(&mut cs, -3, 8)];
        let acc = 3 * 20 + 5 * 3 + 7;
        affine_with(&mut cs, terms(&x, &[3, -5]), 7, 3, 16, Fr::from(acc / 8 + 1), Fr::from(acc % 8));
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn output_outside_its_range_is_rejected() {
        // acc = 3*100 - 5*(-100) + 7 = 807; 807 / 8 = 100 does not fit 7 bits [-64, 63].
        let mut cs = ConstraintSystem::new();
        let x = [signed_value(&mut cs, 100, 8), signed_value(&mut cs, -100, 8)];
        affine_with(&mut cs, terms(&x, &[3, -5]), 7, 3, 7, Fr::from(100), Fr::from(7));
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn honest_path_reports_out_of_range_instead_of_building_a_bad_witness() {
        let mut cs = ConstraintSystem::new();
        let x = [signed_value(&mut cs, 100, 8), signed_value(&mut cs, -100, 8)];
        let err = affine(&mut cs, terms(&x, &[3, -5]), 7, 3, &spec(7), "instruction 4 (affine)").unwrap_err();
        assert!(
            matches!(err, Error::OutOfRange(ref m) if m.starts_with("instruction 4 (affine): value 100 of tensor 'y'")
                && m.contains("outside its 7-bit range [-64, 63]")),
            "{err}"
        );
    }

    #[test]
    fn structure_only_never_evaluates_nor_fails_and_builds_the_same_rows() {
        // A bias of 2^20 at an 8-bit output: out of range for every input.
        let build = |mut cs: ConstraintSystem| {
            let x = [signed_value(&mut cs, 0, 8)];
            let r = affine(&mut cs, terms(&x, &[1]), 1 << 20, 0, &spec(8), "t");
            (r, cs)
        };
        let (r, cs) = build(ConstraintSystem::structure_only());
        assert_eq!(r.unwrap().val, 0);
        assert!((0..cs.num_private()).all(|i| cs.value(Var::Private(i as u32)) == Fr::from(0u64)));
        let (r, _) = build(ConstraintSystem::new());
        assert!(matches!(r, Err(Error::OutOfRange(_))));
    }
}
