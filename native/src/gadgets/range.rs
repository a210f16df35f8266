//! Bit decomposition and range checks.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, BigInteger, One, PrimeField};

use super::{pow2, Value};
use crate::r1cs::{ConstraintSystem, Lc, Var};

/// Allocate `n` variables holding the low `n` bits of `value` (its canonical
/// integer form) and constrain each to be 0 or 1 (`b * b = b`).
pub fn alloc_bits(cs: &mut ConstraintSystem, value: Fr, n: u32) -> Vec<Var> {
    let repr = value.into_bigint();
    (0..n)
        .map(|i| {
            let bit = if repr.get_bit(i as usize) { Fr::one() } else { Fr::from(0u64) };
            let b = cs.alloc_private(bit);
            cs.enforce(b.into(), b.into(), b.into());
            b
        })
        .collect()
}

/// sum_i 2^i * bits[i]
pub fn recompose(bits: &[Var]) -> Lc {
    let mut lc = Lc::zero();
    let mut k = Fr::one();
    for b in bits {
        lc.push(*b, k);
        k.double_in_place();
    }
    lc
}

/// Constrain `x` to a signed `bits`-wide integer: x + 2^(bits-1) = sum 2^i b_i
/// with every b_i boolean. Returns the bits; the top one is 1 iff x >= 0.
pub fn range_check_signed(cs: &mut ConstraintSystem, x: Var, bits: u32) -> Vec<Var> {
    let offset = pow2(bits - 1);
    let shifted = cs.value(x) + offset;
    let b = alloc_bits(cs, shifted, bits);
    cs.enforce_zero(Lc::var(x) + Lc::constant(offset) - recompose(&b));
    b
}

/// A private, range-checked quantized value (model inputs). The caller has
/// already checked `val` against the range; the constraints enforce it anyway.
pub fn signed_value(cs: &mut ConstraintSystem, val: i128, bits: u32) -> Value {
    let var = cs.alloc_private(Fr::from(val));
    let b = range_check_signed(cs, var, bits);
    Value { var, val, sign: Lc::var(*b.last().expect("bits >= 2")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r1cs::ConstraintSystem;

    #[test]
    fn in_range_values_satisfy_at_both_ends() {
        for v in [-128i128, -1, 0, 1, 127] {
            let mut cs = ConstraintSystem::new();
            let x = signed_value(&mut cs, v, 8);
            assert_eq!(cs.first_unsatisfied(), None, "value {v}");
            assert_eq!(cs.eval(&x.sign), if v >= 0 { Fr::one() } else { Fr::from(0u64) });
        }
    }

    #[test]
    fn out_of_range_value_is_rejected() {
        // The gadget assigns the low bits; the recomposition then cannot match.
        for v in [-129i128, 128, 1 << 40, -(1 << 40)] {
            let mut cs = ConstraintSystem::new();
            signed_value(&mut cs, v, 8);
            assert!(cs.first_unsatisfied().is_some(), "value {v} accepted");
        }
    }

    #[test]
    fn flipped_bit_is_rejected() {
        for i in 0..8 {
            let mut cs = ConstraintSystem::new();
            let x = cs.alloc_private(Fr::from(37u64));
            let bits = range_check_signed(&mut cs, x, 8);
            let v = cs.value(bits[i]);
            cs.set_value(bits[i], Fr::one() - v);
            assert!(cs.first_unsatisfied().is_some(), "flipping bit {i} went unnoticed");
        }
    }

    #[test]
    fn non_boolean_bit_is_rejected() {
        // 2 in the lowest bit and 0 in the next still recomposes 37+128 = 165 = 0b10100101
        // if the adversary compensates; booleanity must catch it.
        let mut cs = ConstraintSystem::new();
        let x = cs.alloc_private(Fr::from(37u64));
        let bits = range_check_signed(&mut cs, x, 8);
        // 165 = 1 + 4 + 32 + 128; rewrite bit0=1,bit1=0 as bit0=-1, bit1=1: -1 + 2 = 1.
        cs.set_value(bits[0], -Fr::one());
        cs.set_value(bits[1], Fr::one());
        assert!(cs.first_unsatisfied().is_some());
    }
}
