//! Linear layer with constant weights (a matrix applied to each row of the
//! input) plus the rescale that follows it: every output value is one
//! [`affine`](super::affine) combination of its input row, so the weighted
//! sum is free and each output costs `bits + shift` booleans + 2.

use super::affine::{affine, FieldWeights};
use super::Value;
use crate::error::Result;
use crate::program::{Elem, TensorSpec};
use crate::r1cs::ConstraintSystem;
use ark_bn254::Fr;

/// y[r, n] = floor((sum_k weight[n, k] * x[r, k] + bias[n]) / 2^shift) for
/// every row r of `x` (rows of `k` values). `weight` is row-major [N, K]
/// with N = `bias.len()`. `context` names the instruction in a range error.
#[allow(clippy::too_many_arguments)]
pub fn linear<T: Elem>(
    cs: &mut ConstraintSystem,
    x: &[Value],
    weight: &[T],
    k: usize,
    bias: &[i64],
    shift: u32,
    out: &TensorSpec,
    context: &str,
) -> Result<Vec<Value>> {
    assert!(k > 0 && weight.len() == k * bias.len() && x.len().is_multiple_of(k), "validated: weight is [N, K]");
    // Field weights only where the rows' structure is kept (a witness-only
    // system takes the integer dot product, see `affine`).
    let w = cs.needs_structure().then(|| FieldWeights::new(weight));
    let mut y = Vec::with_capacity(x.len() / k * bias.len());
    for row in x.chunks(k) {
        for (n, b) in bias.iter().enumerate() {
            let terms = row.iter().enumerate().map(|(j, x)| {
                let i = n * k + j;
                let wf = w.as_ref().map_or_else(Fr::default, |w| w.get(i).1);
                (x, weight[i].into(), wf)
            });
            y.push(affine(cs, terms, *b, shift, out, context)?);
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::gadgets::range::signed_value;
    use crate::r1cs::Var;
    use ark_bn254::Fr;

    fn spec(bits: u32) -> TensorSpec {
        TensorSpec { name: "y".into(), shape: vec![1, 1], scale: 0, bits }
    }

    #[test]
    fn honest_floor_satisfies_for_negative_and_positive_accumulators() {
        for (x0, x1) in [(10, 3), (-10, 3), (0, 0), (-1, 1), (100, -100)] {
            let mut cs = ConstraintSystem::new();
            let a = signed_value(&mut cs, x0, 8);
            let b = signed_value(&mut cs, x1, 8);
            let y = linear(&mut cs, &[a, b], &[3, -5], 2, &[7], 3, &spec(16), "test").unwrap();
            let acc = 3 * x0 - 5 * x1 + 7;
            assert_eq!(y[0].val, acc.div_euclid(8));
            assert_eq!(cs.first_unsatisfied(), None);
            assert_eq!(cs.value(y[0].var), Fr::from(acc.div_euclid(8)));
        }
    }

    #[test]
    fn several_rows_and_outputs_are_laid_out_row_major() {
        // x = [[1, 2], [3, 4]], weight = [[1, 0], [0, 1], [1, 1]], bias [0, 10, -1].
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> = [1, 2, 3, 4].iter().map(|v| signed_value(&mut cs, *v, 8)).collect();
        let y = linear(&mut cs, &x, &[1, 0, 0, 1, 1, 1], 2, &[0, 10, -1], 0, &spec(8), "t").unwrap();
        assert_eq!(y.iter().map(|v| v.val).collect::<Vec<_>>(), vec![1, 12, 2, 3, 14, 6]);
        assert_eq!(cs.first_unsatisfied(), None);
    }

    #[test]
    fn honest_path_reports_out_of_range_instead_of_building_a_bad_witness() {
        let mut cs = ConstraintSystem::new();
        let a = signed_value(&mut cs, 100, 8);
        let b = signed_value(&mut cs, -100, 8);
        let err = linear(&mut cs, &[a, b], &[3, -5], 2, &[7], 3, &spec(7), "instruction 0 (linear)").unwrap_err();
        assert!(matches!(err, Error::OutOfRange(ref m) if m.contains("outside its 7-bit range")), "{err}");
    }

    #[test]
    fn flipped_remainder_bit_is_rejected() {
        let mut cs = ConstraintSystem::new();
        let a = signed_value(&mut cs, 9, 8);
        let b = signed_value(&mut cs, 1, 8);
        let y = linear(&mut cs, &[a, b], &[3, -5], 2, &[7], 3, &spec(16), "t").unwrap();
        // acc = 29 = 8*3 + 5; q, then its 16 range bits, then the remainder bits.
        let Var::Private(q) = y[0].var else { unreachable!() };
        let rem0 = Var::Private(q + 1 + 16);
        let v = cs.value(rem0);
        cs.set_value(rem0, Fr::from(1u64) - v);
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn an_output_moved_with_a_compensating_remainder_is_rejected() {
        // Claim q + 1 for one output and push its lowest remainder bit down by
        // 2^shift so the rescale row still balances: booleanity catches it.
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> = [9, 1].iter().map(|v| signed_value(&mut cs, *v, 8)).collect();
        let y = linear(&mut cs, &x, &[3, -5], 2, &[7], 3, &spec(16), "t").unwrap();
        let Var::Private(q) = y[0].var else { unreachable!() };
        let (qv, rem0) = (cs.value(y[0].var), Var::Private(q + 1 + 16));
        cs.set_value(y[0].var, qv + Fr::from(1u64));
        let r = cs.value(rem0);
        cs.set_value(rem0, r - Fr::from(8u64));
        assert!(cs.first_unsatisfied().is_some());
    }
}
