//! Linear layer with constant weights plus the rescale that follows it.
//!
//! The weighted sum costs nothing by itself: it is a linear combination that
//! sits inside the rescale constraint
//!     acc = 2^shift * q + rem,   q signed `bits`-wide,   0 <= rem < 2^shift,
//! which makes q = floor(acc / 2^shift). Both q and rem are range-checked, and
//! program validation keeps |acc| < 2^120 and shift + bits < 200, so the identity
//! holds over the integers, not just modulo r.

use ark_bn254::Fr;

use super::range::{alloc_bits, range_check_signed, recompose};
use super::{pow2, Value};
use crate::error::{Error, Result};
use crate::program::TensorSpec;
use crate::r1cs::{ConstraintSystem, Lc, Var};

/// Enforce `acc = 2^shift * q + rem` with the given witness values for q and rem.
/// Returns q and its sign bit (1 iff q >= 0).
pub fn rescale(cs: &mut ConstraintSystem, acc: Lc, q_val: Fr, rem_val: Fr, shift: u32, bits: u32) -> (Var, Lc) {
    let q = cs.alloc_private(q_val);
    let q_bits = range_check_signed(cs, q, bits);
    let rem_bits = alloc_bits(cs, rem_val, shift);
    cs.enforce_zero(acc - Lc::term(q, pow2(shift)) - recompose(&rem_bits));
    (q, Lc::var(*q_bits.last().expect("bits >= 2")))
}

/// y[r, n] = floor((sum_k weight[n][k] * x[r, k] + bias[n]) / 2^shift) for every row r.
/// `context` names the instruction and tensor in a range error.
pub fn linear(
    cs: &mut ConstraintSystem,
    x: &[Value],
    weight: &[Vec<i64>],
    bias: &[i64],
    shift: u32,
    out: &TensorSpec,
    context: &str,
) -> Result<Vec<Value>> {
    let k_in = weight.first().map_or(0, |r| r.len());
    let w_fr: Vec<Vec<Fr>> = weight.iter().map(|row| row.iter().map(|w| Fr::from(*w)).collect()).collect();
    let divisor = 1i128 << shift;
    let mut y = Vec::with_capacity(x.len() / k_in.max(1) * weight.len());
    for row in x.chunks(k_in) {
        for (n, w_row) in weight.iter().enumerate() {
            let mut acc = Lc(Vec::with_capacity(k_in + 1));
            let mut acc_val = bias[n] as i128;
            for ((xv, w), wf) in row.iter().zip(w_row).zip(&w_fr[n]) {
                acc.push(xv.var, *wf);
                acc_val += *w as i128 * xv.val;
            }
            acc.push(Var::One, Fr::from(bias[n]));
            let q = acc_val.div_euclid(divisor);
            let rem = acc_val.rem_euclid(divisor);
            if q < out.min() || q > out.max() {
                return Err(Error::OutOfRange(format!(
                    "{context}: value {q} of tensor '{}' (about {:.4}) is outside its {}-bit range [{}, {}]; \
                     this input drives the model beyond the range it was calibrated for \
                     (recompile with calibration data that covers it, or more --bits)",
                    out.name,
                    q as f64 / 2f64.powi(out.scale),
                    out.bits,
                    out.min(),
                    out.max()
                )));
            }
            let (var, sign) = rescale(cs, acc, Fr::from(q), Fr::from(rem), shift, out.bits);
            y.push(Value { var, val: q, sign });
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::range::signed_value;

    fn spec(bits: u32) -> TensorSpec {
        TensorSpec { name: "y".into(), shape: vec![1, 1], scale: 0, bits }
    }

    /// One neuron: acc = 3*x0 - 5*x1 + 7, rescaled by 2^3, 8-bit output.
    fn neuron(cs: &mut ConstraintSystem, x0: i128, x1: i128) -> (Lc, i128) {
        let a = signed_value(cs, x0, 8);
        let b = signed_value(cs, x1, 8);
        let acc = Lc::term(a.var, Fr::from(3u64)) + Lc::term(b.var, -Fr::from(5u64)) + Lc::constant(Fr::from(7u64));
        (acc, 3 * x0 - 5 * x1 + 7)
    }

    #[test]
    fn honest_floor_satisfies_for_negative_and_positive_accumulators() {
        for (x0, x1) in [(10, 3), (-10, 3), (0, 0), (-1, 1), (100, -100)] {
            let mut cs = ConstraintSystem::new();
            let a = signed_value(&mut cs, x0, 8);
            let b = signed_value(&mut cs, x1, 8);
            let y = linear(&mut cs, &[a, b], &[vec![3, -5]], &[7], 3, &spec(16), "test").unwrap();
            let acc = 3 * x0 - 5 * x1 + 7;
            assert_eq!(y[0].val, acc.div_euclid(8));
            assert_eq!(cs.first_unsatisfied(), None);
            assert_eq!(cs.value(y[0].var), Fr::from(acc.div_euclid(8)));
        }
    }

    #[test]
    fn another_output_with_adjusted_remainder_is_rejected() {
        // The adversary claims q+1 (or q-1) and moves the remainder by 2^shift to
        // keep acc = 8q + rem: rem then leaves [0, 8) and its bits cannot hold it.
        for delta in [-1i128, 1, 5] {
            let mut cs = ConstraintSystem::new();
            let (acc, acc_val) = neuron(&mut cs, -10, 3);
            let q = acc_val.div_euclid(8) + delta;
            let rem = acc_val - 8 * q;
            rescale(&mut cs, acc, Fr::from(q), Fr::from(rem), 3, 16);
            assert!(cs.first_unsatisfied().is_some(), "q off by {delta} accepted");
        }
    }

    #[test]
    fn another_output_with_honest_remainder_is_rejected() {
        let mut cs = ConstraintSystem::new();
        let (acc, acc_val) = neuron(&mut cs, 20, -3);
        rescale(&mut cs, acc, Fr::from(acc_val.div_euclid(8) + 1), Fr::from(acc_val.rem_euclid(8)), 3, 16);
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn output_outside_its_range_is_rejected() {
        // acc = 3*100 - 5*(-100) + 7 = 807; 807 / 8 = 100 does not fit 7 bits [-64, 63].
        let mut cs = ConstraintSystem::new();
        let (acc, acc_val) = neuron(&mut cs, 100, -100);
        rescale(&mut cs, acc, Fr::from(acc_val.div_euclid(8)), Fr::from(acc_val.rem_euclid(8)), 3, 7);
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn honest_path_reports_out_of_range_instead_of_building_a_bad_witness() {
        let mut cs = ConstraintSystem::new();
        let a = signed_value(&mut cs, 100, 8);
        let b = signed_value(&mut cs, -100, 8);
        let err = linear(&mut cs, &[a, b], &[vec![3, -5]], &[7], 3, &spec(7), "instruction 0").unwrap_err();
        assert!(matches!(err, Error::OutOfRange(ref m) if m.contains("outside its 7-bit range")), "{err}");
    }

    #[test]
    fn flipped_remainder_bit_is_rejected() {
        let mut cs = ConstraintSystem::new();
        let a = signed_value(&mut cs, 9, 8);
        let b = signed_value(&mut cs, 1, 8);
        let y = linear(&mut cs, &[a, b], &[vec![3, -5]], &[7], 3, &spec(16), "t").unwrap();
        // acc = 29 = 8*3 + 5; the remainder bits are the last three variables.
        let Var::Private(q) = y[0].var else { unreachable!() };
        let rem0 = Var::Private(q + 1 + 16);
        let v = cs.value(rem0);
        cs.set_value(rem0, Fr::from(1u64) - v);
        assert!(cs.first_unsatisfied().is_some());
    }
}
