//! Gadgets: each one emits its constraints and assigns its witness in the same
//! call, so the two cannot drift apart. Honest values are computed by the
//! caller-facing functions; the low-level functions take the values of their
//! free variables explicitly so tests can feed a malicious witness through the
//! very same constraint code.
//!
//! In a structure-only system ([`ConstraintSystem::structure_only`], used by
//! setup) every value is zero and the honest-path range errors are skipped:
//! the constraints built are the same as for any honest input.
//!
//! Invariant: every [`Value`] is range-checked to its tensor's width where it
//! is made (input, rescale, max, argmax) or is a copy of one (gather, relu's
//! `x` or 0), which the max, argmax and function gadgets rely on.
//!
//! [`ConstraintSystem::structure_only`]: crate::r1cs::ConstraintSystem::structure_only

pub mod affine;
pub mod argmax;
pub mod bilinear;
pub mod commit;
pub mod function;
pub mod gather;
pub mod linear;
pub mod max;
pub mod pack;
pub mod poseidon;
#[rustfmt::skip]
mod poseidon_constants;
pub mod range;
pub mod relu;

#[cfg(test)]
mod properties;

use ark_bn254::Fr;

use crate::r1cs::{Lc, Var};

/// One quantized value in the circuit: its variable, its integer value, and a
/// linear combination equal to 1 when the value is >= 0 and 0 otherwise
/// (taken from the value's range check, so ReLU costs one constraint).
#[derive(Clone, Debug)]
pub struct Value {
    pub var: Var,
    pub val: i128,
    pub sign: Lc,
}

pub fn fr(v: i128) -> Fr {
    Fr::from(v)
}

/// 2^k as a field element.
pub fn pow2(k: u32) -> Fr {
    let mut x = Fr::from(1u64);
    let two = Fr::from(2u64);
    for _ in 0..k {
        x *= two;
    }
    x
}
