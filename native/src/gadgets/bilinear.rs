//! Sum of products of values plus the rescale that follows it:
//!     acc = sum_t a_t * b_t + bias,   y = floor(acc / 2^shift).
//!
//! Each product is one constraint (`a_t * b_t = p_t`, p_t a new variable);
//! the sum is a free linear combination inside the rescale constraint
//! (gadgets/affine.rs). Program validation keeps |acc| < 2^120 from the
//! factors' widths, so the rescale identity holds over the integers. Cost
//! per output value over T' products: `T' + bits + shift + 2`.

use ark_bn254::Fr;

use super::affine::{floor_value, rescale};
use super::Value;
use crate::error::Result;
use crate::program::TensorSpec;
use crate::r1cs::{ConstraintSystem, Lc, Var};

/// The products' constraints and the accumulator as a linear combination.
fn products(cs: &mut ConstraintSystem, pairs: &[(&Value, &Value)], bias: i64) -> Lc {
    let mut acc = Lc(Vec::with_capacity(pairs.len() + 1));
    for (a, b) in pairs {
        let p_val = cs.value(a.var) * cs.value(b.var);
        let p = cs.alloc_private(p_val);
        cs.enforce(Lc::var(a.var), Lc::var(b.var), Lc::var(p));
        acc.push(p, Fr::from(1u64));
    }
    acc.push(Var::One, Fr::from(bias));
    acc
}

/// The constraints of one output with the witness values of its free
/// variables (q and the remainder; each product follows from its factors)
/// given explicitly, for malicious-witness tests.
pub fn bilinear_with(
    cs: &mut ConstraintSystem,
    pairs: &[(&Value, &Value)],
    bias: i64,
    shift: u32,
    bits: u32,
    q_val: Fr,
    rem_val: Fr,
) -> (Var, Lc) {
    let acc = products(cs, pairs, bias);
    rescale(cs, acc, q_val, rem_val, shift, bits)
}

/// y = floor((sum_t a_t * b_t + bias) / 2^shift), range-checked to `out`'s
/// bits; an out-of-range y is an error naming `context` on the honest path
/// (see [`floor_value`]).
pub fn bilinear(
    cs: &mut ConstraintSystem,
    pairs: &[(&Value, &Value)],
    bias: i64,
    shift: u32,
    out: &TensorSpec,
    context: &str,
) -> Result<Value> {
    let acc_val = pairs.iter().map(|(a, b)| a.val * b.val).sum::<i128>() + bias as i128;
    let acc = products(cs, pairs, bias);
    floor_value(cs, acc, acc_val, shift, out, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::gadgets::range::signed_value;

    fn spec(bits: u32) -> TensorSpec {
        TensorSpec { name: "y".into(), shape: vec![1], scale: 0, bits }
    }

    #[test]
    fn honest_products_floor_with_squares_and_one_constraint_each() {
        for (a, b, c) in [(3i128, -5i128, 7i128), (-128, -128, 127), (0, 9, -1), (127, 127, -128)] {
            let mut cs = ConstraintSystem::new();
            let x = [signed_value(&mut cs, a, 8), signed_value(&mut cs, b, 8), signed_value(&mut cs, c, 8)];
            let rows = cs.num_constraints();
            // a*b + c*c + a*c - 3, shift 2.
            let y =
                bilinear(&mut cs, &[(&x[0], &x[1]), (&x[2], &x[2]), (&x[0], &x[2])], -3, 2, &spec(16), "t").unwrap();
            assert_eq!(cs.num_constraints() - rows, 3 + 16 + 2 + 2);
            assert_eq!(y.val, (a * b + c * c + a * c - 3).div_euclid(4));
            assert_eq!(cs.first_unsatisfied(), None);
        }
    }

    #[test]
    fn another_quotient_or_product_is_rejected() {
        let acc = 3 * -5 + 7 * 7 + 1;
        for (q, rem) in [(acc / 2 + 1, acc % 2 - 2), (acc / 2 - 1, acc % 2 + 2), (acc / 2 + 1, acc % 2)] {
            let mut cs = ConstraintSystem::new();
            let x = [signed_value(&mut cs, 3, 8), signed_value(&mut cs, -5, 8), signed_value(&mut cs, 7, 8)];
            bilinear_with(&mut cs, &[(&x[0], &x[1]), (&x[2], &x[2])], 1, 1, 12, Fr::from(q), Fr::from(rem));
            assert!(cs.first_unsatisfied().is_some(), "q {q} rem {rem} accepted");
        }
        // A product moved by one with the quotient adjusted to match.
        let mut cs = ConstraintSystem::new();
        let x = [signed_value(&mut cs, 3, 8), signed_value(&mut cs, -5, 8)];
        let before = cs.num_private();
        let y = bilinear(&mut cs, &[(&x[0], &x[1])], 1, 0, &spec(12), "t").unwrap();
        let p = Var::Private(before as u32);
        let (pv, yv) = (cs.value(p), cs.value(y.var));
        cs.set_value(p, pv + Fr::from(1u64));
        cs.set_value(y.var, yv + Fr::from(1u64));
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn honest_path_reports_out_of_range() {
        let mut cs = ConstraintSystem::new();
        let x = [signed_value(&mut cs, 100, 8), signed_value(&mut cs, 100, 8)];
        let err = bilinear(&mut cs, &[(&x[0], &x[1])], 0, 4, &spec(8), "instruction 2 (bilinear)").unwrap_err();
        assert!(
            matches!(err, Error::OutOfRange(ref m) if m.starts_with("instruction 2 (bilinear): value 625 of tensor 'y'")),
            "{err}"
        );
    }
}
