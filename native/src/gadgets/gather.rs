//! Gather: y[o] = x[index[o]], or the value 0 where index[o] = -1.
//!
//! Free: an output value is the input value itself (same variable, same sign
//! bit, same range check), so reshapes, transposes, slices, concatenations and
//! pads cost no constraint. Padding shares one private variable per call,
//! pinned to zero by one constraint (`zero * 1 = 0`), allocated only when some
//! index is -1. Its sign is the constant 1 (0 >= 0).

use ark_bn254::Fr;
use ark_ff::Zero;

use super::Value;
use crate::r1cs::{ConstraintSystem, Lc};

/// The gather with the witness value of its one free variable (the padding
/// zero) given explicitly, so tests can feed a wrong one. `index` entries are
/// -1 or valid positions in `x` (program validation checks them).
pub fn gather_with(cs: &mut ConstraintSystem, x: &[&Value], index: &[i64], zero_val: Fr) -> Vec<Value> {
    let mut zero: Option<Value> = None;
    let mut y = Vec::with_capacity(index.len());
    for &i in index {
        let v = if i < 0 {
            match &zero {
                Some(z) => z.clone(),
                None => {
                    let var = cs.alloc_private(zero_val);
                    cs.enforce_zero(Lc::var(var));
                    let z = Value { var, val: 0, sign: Lc::one() };
                    zero = Some(z.clone());
                    z
                }
            }
        } else {
            x[i as usize].clone()
        };
        y.push(v);
    }
    y
}

pub fn gather(cs: &mut ConstraintSystem, x: &[&Value], index: &[i64]) -> Vec<Value> {
    gather_with(cs, x, index, Fr::zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::pack::pack_public;
    use crate::gadgets::range::signed_value;
    use crate::gadgets::relu::relu;

    #[test]
    fn gathers_values_and_pads_with_one_shared_zero() {
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> = [5, -3, 7].iter().map(|v| signed_value(&mut cs, *v, 8)).collect();
        let xr: Vec<&Value> = x.iter().collect();
        let (vars, rows) = (cs.num_private(), cs.num_constraints());
        let y = gather(&mut cs, &xr, &[2, -1, 0, 0, -1, 1]);
        assert_eq!(y.iter().map(|v| v.val).collect::<Vec<_>>(), vec![7, 0, 5, 5, 0, -3]);
        assert_eq!((cs.num_private() - vars, cs.num_constraints() - rows), (1, 1));
        assert_eq!(y[1].var, y[4].var);
        assert_eq!(y[0].var, x[2].var);
        // The zero is usable downstream like any value (its sign is 1).
        relu(&mut cs, &y[1]);
        assert_eq!(cs.first_unsatisfied(), None);
    }

    #[test]
    fn without_padding_it_costs_nothing() {
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> = [1, 2].iter().map(|v| signed_value(&mut cs, *v, 8)).collect();
        let (vars, rows) = (cs.num_private(), cs.num_constraints());
        gather(&mut cs, &[&x[1], &x[0]], &[0, 1, 1]);
        assert_eq!((cs.num_private(), cs.num_constraints()), (vars, rows));
    }

    #[test]
    fn a_padding_value_other_than_zero_is_rejected() {
        for forged in [Fr::from(1u64), -Fr::from(1u64), Fr::from(1u64 << 40)] {
            let mut cs = ConstraintSystem::new();
            let x = [signed_value(&mut cs, 3, 8)];
            gather_with(&mut cs, &[&x[0]], &[0, -1], forged);
            assert!(cs.first_unsatisfied().is_some());
        }
    }

    #[test]
    fn a_gathered_value_swapped_in_the_public_output_is_rejected() {
        // x is public (packed), and so is y = gather(x): publishing y with two
        // values swapped cannot satisfy the packing of y, since y's variables
        // are x's.
        let mut cs = ConstraintSystem::new();
        let x: Vec<Value> = [5, -3, 7].iter().map(|v| signed_value(&mut cs, *v, 8)).collect();
        pack_public(&mut cs, &x, 8);
        let y = gather(&mut cs, &[&x[0], &x[1], &x[2]], &[2, 0, -1]);
        let packed = pack_public(&mut cs, &y, 8);
        assert_eq!(cs.first_unsatisfied(), None);
        let swapped = [&y[1], &y[0], &y[2]];
        let honest = cs.value(packed[0]);
        let claim: Fr =
            swapped.iter().enumerate().map(|(t, v)| Fr::from(v.val + 128) * Fr::from(1u64 << (8 * t))).sum();
        assert_ne!(claim, honest);
        cs.set_value(packed[0], claim);
        assert!(cs.first_unsatisfied().is_some());
    }
}
