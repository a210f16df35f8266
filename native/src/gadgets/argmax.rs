//! Argmax: the column of the first maximum among T' >= 1 entries
//! `(column_t, x_t)` (columns increasing, values sharing one width `bits`):
//!     m signed `bits`-wide (range check: bits + 1 constraints);
//!     first_t boolean (1 each), sum_t first_t = 1 (1): one entry is chosen;
//!     before_t = 1 - sum_{s <= t} first_s (a linear combination: 1 exactly
//!         for the entries before the chosen one, 0 from it on);
//!     for each t: m - x_t - before_t = sum_i 2^i b_{t,i} with `bits` boolean
//!         b_{t,i} (bits + 1 each): m >= x_t, and m > x_t before the chosen one;
//!     first_t * (m - x_t) = 0 (1 each): the chosen entry equals m;
//!     y = sum_t column_t first_t, range-checked to the output's width
//!         (bits_out + 2).
//! So m is the maximum, the chosen entry is the first one equal to it, and y
//! its column. Every x_t is range-checked where it was made, so
//! m - x_t - before_t lies in (-2^bits - 1, 2^bits) over the integers and its
//! decomposition cannot wrap around the field. Cost per value:
//! `(T' + 1)(bits + 1) + 2 T' + bits_out + 3`.

use ark_bn254::Fr;
use ark_ff::{One, Zero};

use super::range::{alloc_bits, range_check_signed, recompose};
use super::Value;
use crate::r1cs::{ConstraintSystem, Lc};

/// The argmax with the witness values of its free choices given explicitly:
/// `m_val` for the maximum and `chosen` (a position in `entries`) for the
/// entry it picks; the bits, the selectors and y follow from them. Tests feed
/// wrong ones through the same constraints.
pub fn argmax_with(
    cs: &mut ConstraintSystem,
    entries: &[(u64, &Value)],
    m_val: Fr,
    chosen: usize,
    bits: u32,
    bits_out: u32,
) -> Value {
    assert!(!entries.is_empty(), "validated: an argmax row has at least one entry");
    let m = cs.alloc_private(m_val);
    range_check_signed(cs, m, bits);
    let mut chosen_so_far = Lc::zero();
    let mut pick = Lc::zero();
    let mut y_val = Fr::zero();
    for (t, (column, x)) in entries.iter().enumerate() {
        let f_val = if t == chosen { Fr::one() } else { Fr::zero() };
        let first = cs.alloc_private(f_val);
        cs.enforce(Lc::var(first), Lc::var(first), Lc::var(first));
        chosen_so_far = chosen_so_far + Lc::var(first);
        let before = Lc::one() - chosen_so_far.clone();
        let d = Lc::var(m) - Lc::var(x.var);
        let slack = d.clone() - before;
        let slack_val = cs.eval(&slack);
        let slack_bits = alloc_bits(cs, slack_val, bits);
        cs.enforce_zero(slack - recompose(&slack_bits));
        cs.enforce(Lc::var(first), d, Lc::zero());
        pick.push(first, Fr::from(*column));
        y_val += cs.value(first) * Fr::from(*column);
    }
    cs.enforce_zero(chosen_so_far - Lc::one());
    let y = cs.alloc_private(y_val);
    let y_bits = range_check_signed(cs, y, bits_out);
    cs.enforce_zero(Lc::var(y) - pick);
    let val = entries.get(chosen).map_or(0, |(c, _)| *c as i128);
    Value { var: y, val, sign: Lc::var(*y_bits.last().expect("bits >= 2")) }
}

/// y = the column of the first entry equal to the maximum (ONNX's tie rule).
/// The result is a column below 2^(bits_out - 1) (validated), so there is no
/// range error to report.
pub fn argmax(cs: &mut ConstraintSystem, entries: &[(u64, &Value)], bits: u32, bits_out: u32) -> Value {
    let max = entries.iter().map(|(_, x)| x.val).max().expect("validated: an argmax row has at least one entry");
    let chosen = entries.iter().position(|(_, x)| x.val == max).expect("the maximum is one of them");
    argmax_with(cs, entries, Fr::from(max), chosen, bits, bits_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::range::signed_value;

    fn values(cs: &mut ConstraintSystem, vals: &[i128], bits: u32) -> Vec<Value> {
        vals.iter().map(|v| signed_value(cs, *v, bits)).collect()
    }

    fn entries<'a>(columns: &[u64], x: &'a [Value]) -> Vec<(u64, &'a Value)> {
        columns.iter().copied().zip(x).collect()
    }

    #[test]
    fn honest_argmax_takes_the_first_maximum_and_its_column() {
        for (vals, columns, want) in [
            (vec![3, -7, 3, 1], vec![0, 1, 2, 3], 0),
            (vec![-7, 3, 3], vec![0, 2, 5], 2),
            (vec![-128, -128], vec![1, 3], 1),
            (vec![5], vec![6], 6),
            (vec![-1, 127, -128, 127], vec![0, 1, 2, 3], 1),
        ] {
            let mut cs = ConstraintSystem::new();
            let x = values(&mut cs, &vals, 8);
            let rows = cs.num_constraints();
            let y = argmax(&mut cs, &entries(&columns, &x), 8, 4);
            let t = vals.len();
            assert_eq!(cs.num_constraints() - rows, (t + 1) * 9 + 2 * t + 4 + 3);
            assert_eq!((y.val, cs.value(y.var)), (want, Fr::from(want)));
            assert_eq!(cs.first_unsatisfied(), None, "{vals:?}");
        }
    }

    #[test]
    fn every_other_choice_or_maximum_is_rejected() {
        let vals = [3i128, -7, 3, 1];
        let columns = [0u64, 1, 2, 3];
        for m in [3i128, 4, 2, 127] {
            for chosen in 0..4 {
                let mut cs = ConstraintSystem::new();
                let x = values(&mut cs, &vals, 8);
                argmax_with(&mut cs, &entries(&columns, &x), Fr::from(m), chosen, 8, 4);
                let honest = m == 3 && chosen == 0;
                assert_eq!(cs.first_unsatisfied().is_none(), honest, "m {m}, chosen {chosen}");
            }
        }
        // y moved to another column with everything else honest.
        let mut cs = ConstraintSystem::new();
        let x = values(&mut cs, &vals, 8);
        let y = argmax(&mut cs, &entries(&columns, &x), 8, 4);
        cs.set_value(y.var, Fr::from(2u64));
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn structure_only_assigns_zeros() {
        let mut cs = ConstraintSystem::structure_only();
        let x = values(&mut cs, &[0, 0], 6);
        let y = argmax(&mut cs, &entries(&[0, 1], &x), 6, 3);
        assert_eq!(y.val, 0);
        assert_eq!(cs.value(y.var), Fr::zero());
    }
}
