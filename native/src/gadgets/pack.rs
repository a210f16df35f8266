//! Packing many range-checked values into one public field element.
//!
//! Element j = sum_t (x_{jk+t} + 2^(bits-1)) * 2^(bits*t) for k = floor(252/bits)
//! values. Every x is already range-checked, so each shifted value is in
//! [0, 2^bits) and the sum is below 2^252 < r: the packing is injective, and it
//! costs one linear constraint per element.

use ark_bn254::Fr;

use super::{pow2, Value};
use crate::program::PACK_BITS;
use crate::r1cs::{ConstraintSystem, Lc, Var};

/// The packed elements of `values` as linear combinations of their
/// variables (no constraint is added).
pub fn packed_lcs(values: &[Value], bits: u32) -> Vec<Lc> {
    let per_element = (PACK_BITS / bits) as usize;
    let (offset, step) = (pow2(bits - 1), pow2(bits));
    values
        .chunks(per_element)
        .map(|chunk| {
            let mut lc = Lc::zero();
            let mut k = Fr::from(1u64);
            for v in chunk {
                lc.push(v.var, k);
                lc.push(Var::One, offset * k);
                k *= step;
            }
            lc
        })
        .collect()
}

/// The packed elements of the integers `values` (b = `bits`), computed natively.
pub fn packed_elements(values: &[i64], bits: u32) -> Vec<Fr> {
    let per_element = (PACK_BITS / bits) as usize;
    let (offset, step) = (pow2(bits - 1), pow2(bits));
    values
        .chunks(per_element)
        .map(|chunk| {
            let mut acc = Fr::from(0u64);
            let mut k = Fr::from(1u64);
            for v in chunk {
                acc += (Fr::from(*v) + offset) * k;
                k *= step;
            }
            acc
        })
        .collect()
}

pub fn pack_public(cs: &mut ConstraintSystem, values: &[Value], bits: u32) -> Vec<Var> {
    packed_lcs(values, bits)
        .into_iter()
        .map(|lc| {
            let p = cs.alloc_public(cs.eval(&lc));
            cs.enforce_zero(Lc::var(p) - lc);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::range::signed_value;

    #[test]
    fn packs_extremes_and_rejects_a_changed_public_value() {
        let mut cs = ConstraintSystem::new();
        let vals: Vec<Value> = [-128i128, 127, 0, -1].iter().map(|v| signed_value(&mut cs, *v, 8)).collect();
        let p = pack_public(&mut cs, &vals, 8);
        assert_eq!(p.len(), 1);
        // (0) + 255*2^8 + 128*2^16 + 127*2^24
        let expect = 255u64 * 256 + 128 * 65536 + 127 * (1 << 24);
        assert_eq!(cs.value(p[0]), Fr::from(expect));
        assert_eq!(cs.first_unsatisfied(), None);
        cs.set_value(p[0], Fr::from(expect + 1));
        assert!(cs.first_unsatisfied().is_some());
    }

    #[test]
    fn splits_into_elements_of_floor_252_over_bits() {
        let mut cs = ConstraintSystem::new();
        let vals: Vec<Value> = (0..40).map(|v| signed_value(&mut cs, v, 16)).collect();
        assert_eq!(pack_public(&mut cs, &vals, 16).len(), 3); // 15 + 15 + 10
        assert_eq!(cs.first_unsatisfied(), None);
    }

    #[test]
    fn an_aliasing_witness_is_rejected() {
        // Without the range check, x0 = 256 - 128 and x1 = -1 would pack like
        // x0 = -128, x1 = 0. The range check on x0 refuses it.
        let mut honest = ConstraintSystem::new();
        let a = signed_value(&mut honest, -128, 8);
        let b = signed_value(&mut honest, 0, 8);
        let p_honest = pack_public(&mut honest, &[a, b], 8);
        let mut evil = ConstraintSystem::new();
        let a = signed_value(&mut evil, 128, 8);
        let b = signed_value(&mut evil, -1, 8);
        let p_evil = pack_public(&mut evil, &[a, b], 8);
        assert_eq!(honest.value(p_honest[0]), evil.value(p_evil[0]));
        assert!(evil.first_unsatisfied().is_some());
    }
}
