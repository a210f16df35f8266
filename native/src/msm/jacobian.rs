//! Jacobian point additions whose field multiplications come from a
//! [`FieldOps`], for the bucket reduction (`buckets.rs`), which otherwise
//! spends as much time in arkworks' `+=` as the batches spend in theirs.
//!
//! The formulas are the "add-2007-bl" and "madd-2007-bl" additions of the
//! Explicit-Formulas Database for short-Weierstrass curves in Jacobian
//! coordinates (additions do not involve the curve's `a`). Equal inputs go to
//! arkworks' doubling, opposite ones give the identity. With [`FieldOps`]'s
//! arkworks arithmetic (`Portable`) they are arkworks' `+=` itself, so the
//! portable path (G2, CPUs without ADX) adds points exactly as before.
//! Results equal arkworks' sums as points (Jacobian coordinates are not
//! unique: they may differ by a scaling).

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ff::{AdditiveGroup, Field, Zero};

use super::field_ops::FieldOps;

/// `p += q` for an affine `q` (7 multiplications and 4 squarings).
#[inline]
pub(super) fn add_affine<P: SWCurveConfig, M: FieldOps>(p: &mut Projective<P>, q: &Affine<P>, ops: M) {
    if q.infinity {
        return;
    }
    if M::ARKWORKS {
        *p += q;
        return;
    }
    if p.is_zero() {
        *p = Projective::new_unchecked(q.x, q.y, P::BaseField::ONE);
        return;
    }
    let z1z1 = ops.square(&p.z);
    let u2 = ops.mul(&q.x, &z1z1);
    let s2 = ops.mul(&q.y, &ops.mul(&p.z, &z1z1));
    if p.x == u2 {
        if p.y == s2 {
            p.double_in_place();
        } else {
            *p = Projective::zero();
        }
        return;
    }
    let h = u2 - p.x;
    let hh = ops.square(&h);
    let i = hh.double().double();
    let j = ops.mul(&h, &i);
    let r = (s2 - p.y).double();
    let v = ops.mul(&p.x, &i);
    let x3 = ops.square(&r) - j - v.double();
    let y3 = ops.mul(&r, &(v - x3)) - ops.mul(&p.y, &j).double();
    let z3 = ops.square(&(p.z + h)) - z1z1 - hh;
    *p = Projective::new_unchecked(x3, y3, z3);
}

/// `p += q` (11 multiplications and 5 squarings).
#[inline]
pub(super) fn add<P: SWCurveConfig, M: FieldOps>(p: &mut Projective<P>, q: &Projective<P>, ops: M) {
    if q.is_zero() {
        return;
    }
    if M::ARKWORKS {
        *p += q;
        return;
    }
    if p.is_zero() {
        *p = *q;
        return;
    }
    let z1z1 = ops.square(&p.z);
    let z2z2 = ops.square(&q.z);
    let u1 = ops.mul(&p.x, &z2z2);
    let u2 = ops.mul(&q.x, &z1z1);
    let s1 = ops.mul(&p.y, &ops.mul(&q.z, &z2z2));
    let s2 = ops.mul(&q.y, &ops.mul(&p.z, &z1z1));
    if u1 == u2 {
        if s1 == s2 {
            p.double_in_place();
        } else {
            *p = Projective::zero();
        }
        return;
    }
    let h = u2 - u1;
    let i = ops.square(&h.double());
    let j = ops.mul(&h, &i);
    let r = (s2 - s1).double();
    let v = ops.mul(&u1, &i);
    let x3 = ops.square(&r) - j - v.double();
    let y3 = ops.mul(&r, &(v - x3)) - ops.mul(&s1, &j).double();
    let z3 = ops.mul(&(ops.square(&(p.z + q.z)) - z1z1 - z2z2), &h);
    *p = Projective::new_unchecked(x3, y3, z3);
}
