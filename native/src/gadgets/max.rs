//! Max of T' >= 1 values sharing one signed width `bits`:
//!     y signed `bits`-wide (range check: bits + 1 constraints),
//!     for each t: d_t = y - x_t = sum_i 2^i b_{t,i} with `bits` boolean
//!         b_{t,i} (bits + 1 constraints), so 0 <= y - x_t < 2^bits: y >= x_t,
//!     prod_t d_t = 0 as a chain of products (T' - 1 constraints; for T' = 1
//!         one constraint d_1 = 0), so y equals one of the x_t.
//!
//! Every x_t is range-checked (each value is, where it is made), so
//! y - x_t lies in (-2^bits, 2^bits) over the integers and its decomposition
//! cannot wrap around the field: y >= every x_t and y is one of them, i.e. the
//! maximum. y's sign bit comes from its own range check.

use ark_bn254::Fr;

use super::range::{alloc_bits, range_check_signed, recompose};
use super::Value;
use crate::r1cs::{ConstraintSystem, Lc};

/// The max with the witness value of y given explicitly (the bits of each
/// d_t and the partial products follow from it), so tests can feed a wrong
/// one through the same constraints. `val` is what the returned value
/// reports as its integer.
pub fn max_with(cs: &mut ConstraintSystem, x: &[&Value], y_val: Fr, val: i128, bits: u32) -> Value {
    assert!(!x.is_empty(), "validated: a max row has at least one entry");
    let y = cs.alloc_private(y_val);
    let y_bits = range_check_signed(cs, y, bits);
    let mut diffs = Vec::with_capacity(x.len());
    for xt in x {
        let d = Lc::var(y) - Lc::var(xt.var);
        let d_val = cs.eval(&d);
        let d_bits = alloc_bits(cs, d_val, bits);
        cs.enforce_zero(d.clone() - recompose(&d_bits));
        diffs.push(d);
    }
    let (last, rest) = diffs.split_last().expect("non-empty");
    if rest.is_empty() {
        cs.enforce_zero(last.clone());
    } else {
        // p_1 = d_1, p_t = p_{t-1} * d_t (allocated for 1 < t < T'), and
        // p_{T'-1} * d_{T'} = 0.
        let mut prod = rest[0].clone();
        for d in &rest[1..] {
            let p_val = cs.eval(&prod) * cs.eval(d);
            let p = cs.alloc_private(p_val);
            cs.enforce(prod, d.clone(), Lc::var(p));
            prod = Lc::var(p);
        }
        cs.enforce(prod, last.clone(), Lc::zero());
    }
    Value { var: y, val, sign: Lc::var(*y_bits.last().expect("bits >= 2")) }
}

/// y = max_t x_t. The honest result is one of the inputs, so it always fits
/// their (shared) width: there is no range error to report.
pub fn max(cs: &mut ConstraintSystem, x: &[&Value], bits: u32) -> Value {
    let val = x.iter().map(|v| v.val).max().expect("validated: a max row has at least one entry");
    max_with(cs, x, Fr::from(val), val, bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::range::signed_value;
    use ark_ff::One;

    fn values(cs: &mut ConstraintSystem, vals: &[i128], bits: u32) -> Vec<Value> {
        vals.iter().map(|v| signed_value(cs, *v, bits)).collect()
    }

    #[test]
    fn honest_max_satisfies_with_ties_extremes_and_one_entry() {
        for vals in [vec![3, -7, 3, 1], vec![-128, -128], vec![127, -128, 0], vec![-5], vec![0, 0, 0, 0, 0]] {
            let mut cs = ConstraintSystem::new();
            let x = values(&mut cs, &vals, 8);
            let rows = cs.num_constraints();
            let y = max(&mut cs, &x.iter().collect::<Vec<_>>(), 8);
            let t = vals.len();
            let products = if t == 1 { 1 } else { t - 1 };
            assert_eq!(cs.num_constraints() - rows, 9 + t * 9 + products, "{vals:?}");
            assert_eq!(y.val, *vals.iter().max().unwrap());
            assert_eq!(cs.value(y.var), Fr::from(y.val));
            assert_eq!(cs.eval(&y.sign), if y.val >= 0 { Fr::one() } else { Fr::from(0u64) });
            assert_eq!(cs.first_unsatisfied(), None, "{vals:?}");
        }
    }

    #[test]
    fn every_other_output_is_rejected() {
        let vals = [3i128, -7, 3, 1, -128];
        // y + 1, y - 1, a non-maximal element, a value above the max, the
        // smallest value, and values beyond the range (aliases).
        for y in [4i128, 2, 1, -7, -128, 100, 127, 3 + 256, 3 - 256] {
            let mut cs = ConstraintSystem::new();
            let x = values(&mut cs, &vals, 8);
            max_with(&mut cs, &x.iter().collect::<Vec<_>>(), Fr::from(y), y, 8);
            assert!(cs.first_unsatisfied().is_some(), "max = {y} accepted");
        }
        let mut cs = ConstraintSystem::new();
        let x = values(&mut cs, &vals, 8);
        max_with(&mut cs, &x.iter().collect::<Vec<_>>(), Fr::from(3), 3, 8);
        assert_eq!(cs.first_unsatisfied(), None);
    }

    #[test]
    fn a_single_entry_must_be_copied_exactly() {
        for y in [-4i128, -6, 0, 122] {
            let mut cs = ConstraintSystem::new();
            let x = values(&mut cs, &[-5], 8);
            max_with(&mut cs, &[&x[0]], Fr::from(y), y, 8);
            assert!(cs.first_unsatisfied().is_some(), "max(-5) = {y} accepted");
        }
    }

    #[test]
    fn a_compensated_difference_bit_is_rejected() {
        // d = y - x_t recomposes from b_i + 2s and b_{i+1} - s: only
        // booleanity notices.
        let mut cs = ConstraintSystem::new();
        let x = values(&mut cs, &[3, -7], 8);
        let rows_before = cs.num_private();
        max(&mut cs, &[&x[0], &x[1]], 8);
        // y, its 8 bits, then d_1's 8 bits, then d_2's 8 bits (d_2 = 10).
        let d2 = |i: u32| crate::r1cs::Var::Private((rows_before + 1 + 8 + 8) as u32 + i);
        let s = Fr::from(5u64);
        let (b0, b1) = (cs.value(d2(0)), cs.value(d2(1)));
        cs.set_value(d2(0), b0 + s + s);
        cs.set_value(d2(1), b1 - s);
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn structure_only_assigns_zeros_and_raises_nothing() {
        let mut cs = ConstraintSystem::structure_only();
        let x = values(&mut cs, &[0, 0, 0], 6);
        let y = max(&mut cs, &x.iter().collect::<Vec<_>>(), 6);
        assert_eq!(y.val, 0);
        assert_eq!(cs.num_constraints(), 3 * 7 + 7 + 3 * 7 + 2);
    }
}
