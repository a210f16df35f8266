//! ReLU: y = x * sign(x), one constraint. The sign is the top bit of x's range
//! check (x + 2^(bits-1) >= 2^(bits-1) iff x >= 0), so it cannot be forged
//! without breaking that range check.

use ark_bn254::Fr;

use super::Value;
use crate::r1cs::{ConstraintSystem, Lc};

/// Enforce `y = x * sign` for a given witness value of y.
pub fn relu_with(cs: &mut ConstraintSystem, x: &Value, y_val: Fr) -> Value {
    let y = cs.alloc_private(y_val);
    cs.enforce(Lc::var(x.var), x.sign.clone(), Lc::var(y));
    // y >= 0 always, so its own sign is the constant 1.
    Value { var: y, val: x.val.max(0), sign: Lc::one() }
}

pub fn relu(cs: &mut ConstraintSystem, x: &Value) -> Value {
    relu_with(cs, x, Fr::from(x.val.max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::range::{range_check_signed, signed_value};
    use ark_ff::One;

    #[test]
    fn honest_relu_satisfies() {
        for v in [-128i128, -3, 0, 5, 127] {
            let mut cs = ConstraintSystem::new();
            let x = signed_value(&mut cs, v, 8);
            let y = relu(&mut cs, &x);
            assert_eq!(cs.value(y.var), Fr::from(v.max(0)));
            assert_eq!(cs.first_unsatisfied(), None);
            // relu of relu uses the constant sign.
            let z = relu(&mut cs, &y);
            assert_eq!(cs.value(z.var), Fr::from(v.max(0)));
            assert_eq!(cs.first_unsatisfied(), None);
        }
    }

    #[test]
    fn passing_a_negative_value_through_is_rejected() {
        let mut cs = ConstraintSystem::new();
        let x = signed_value(&mut cs, -7, 8);
        relu_with(&mut cs, &x, Fr::from(-7i64));
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn zeroing_a_positive_value_is_rejected() {
        let mut cs = ConstraintSystem::new();
        let x = signed_value(&mut cs, 7, 8);
        relu_with(&mut cs, &x, Fr::from(0u64));
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn forging_the_sign_bit_is_rejected() {
        // Claim relu(-7) = -7 by setting the sign bit to 1: the range check breaks.
        let mut cs = ConstraintSystem::new();
        let xv = cs.alloc_private(Fr::from(-7i64));
        let bits = range_check_signed(&mut cs, xv, 8);
        let x = Value { var: xv, val: -7, sign: Lc::var(bits[7]) };
        relu_with(&mut cs, &x, Fr::from(-7i64));
        cs.set_value(bits[7], Fr::one());
        assert!(cs.first_unsatisfied().is_some());
    }
}
