//! Affine additions in batches that share one field inversion (Montgomery's
//! trick), and the tree sum of points built on them.
//!
//! An affine addition in a batch costs about 6 field multiplications instead
//! of 11 for a mixed Jacobian one, but it cannot double or cancel: callers
//! route pairs with equal x coordinates to the complete Jacobian formulas.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ff::{Field, Zero};
use rayon::prelude::*;

use super::field_ops::FieldOps;

/// `lhs[i] <- lhs[i] + rhs[i]` in affine coordinates, with one inversion for
/// the whole batch. Every pair must be two finite points with different x
/// coordinates (so neither a doubling nor a cancellation): callers route other
/// pairs to the complete Jacobian formulas. `ops` does the multiplications.
///
/// The batch is worked as two halves side by side, each with its own running
/// product, so that the out-of-order core always has two independent chains of
/// multiplications to overlap instead of one long dependent one.
pub(super) fn add_distinct_x<P: SWCurveConfig, M: FieldOps>(
    lhs: &mut [Affine<P>],
    rhs: &[Affine<P>],
    scratch: &mut Vec<P::BaseField>,
    ops: M,
) {
    debug_assert_eq!(lhs.len(), rhs.len());
    let n = lhs.len();
    // Half a is [0, h), half b is [h, n) (one longer when n is odd).
    let h = n / 2;
    // scratch[i] = product of dx_j over the j before i in i's half.
    scratch.clear();
    scratch.resize(n, P::BaseField::ONE);
    let dx = |i: usize| {
        debug_assert!(!lhs[i].infinity && !rhs[i].infinity && lhs[i].x != rhs[i].x);
        rhs[i].x - lhs[i].x
    };
    let (mut product_a, mut product_b) = (P::BaseField::ONE, P::BaseField::ONE);
    for i in 0..h {
        scratch[i] = product_a;
        product_a = ops.mul(&product_a, &dx(i));
        scratch[h + i] = product_b;
        product_b = ops.mul(&product_b, &dx(h + i));
    }
    if n % 2 == 1 {
        scratch[n - 1] = product_b;
        product_b = ops.mul(&product_b, &dx(n - 1));
    }
    let Some(inverse) = ops.mul(&product_a, &product_b).inverse() else {
        unreachable!("add_distinct_x: a pair with equal x coordinates slipped through")
    };
    // 1 / product_a and 1 / product_b.
    let (mut inverse_a, mut inverse_b) = (ops.mul(&inverse, &product_b), ops.mul(&inverse, &product_a));
    let (lhs_a, lhs_b) = lhs.split_at_mut(h);
    if n % 2 == 1 {
        let (l, r, prefix) = (&mut lhs_b[h], &rhs[n - 1], &scratch[n - 1]);
        let dx = r.x - l.x;
        let dx_inv = ops.mul(&inverse_b, prefix);
        inverse_b = ops.mul(&inverse_b, &dx);
        let lambda = ops.mul(&(r.y - l.y), &dx_inv);
        let x = ops.square(&lambda) - l.x - r.x;
        l.y = ops.mul(&lambda, &(l.x - x)) - l.y;
        l.x = x;
    }
    // One pair from each half per step, statement by statement, so that each
    // multiplication has an independent one beside it.
    for i in (0..h).rev() {
        let (la, ra, pa) = (&mut lhs_a[i], &rhs[i], &scratch[i]);
        let (lb, rb, pb) = (&mut lhs_b[i], &rhs[h + i], &scratch[h + i]);
        // inverse = 1 / prod_{j <= i}; times the prefix it is 1 / dx_i.
        let (dxa, dxb) = (ra.x - la.x, rb.x - lb.x);
        let dx_inv_a = ops.mul(&inverse_a, pa);
        let dx_inv_b = ops.mul(&inverse_b, pb);
        inverse_a = ops.mul(&inverse_a, &dxa);
        inverse_b = ops.mul(&inverse_b, &dxb);
        let lambda_a = ops.mul(&(ra.y - la.y), &dx_inv_a);
        let lambda_b = ops.mul(&(rb.y - lb.y), &dx_inv_b);
        let xa = ops.square(&lambda_a) - la.x - ra.x;
        let xb = ops.square(&lambda_b) - lb.x - rb.x;
        la.y = ops.mul(&lambda_a, &(la.x - xa)) - la.y;
        lb.y = ops.mul(&lambda_b, &(lb.x - xb)) - lb.y;
        la.x = xa;
        lb.x = xb;
    }
}

/// Sum of affine points, as a pairwise tree whose levels are batch-affine
/// additions; pairs sharing an x coordinate go through Jacobian formulas.
pub(super) fn sum_points<P: SWCurveConfig, M: FieldOps>(points: &[Affine<P>], ops: M) -> Projective<P> {
    const SEQUENTIAL_MAX: usize = 1 << 14;
    if points.len() > SEQUENTIAL_MAX {
        let chunk = (points.len() / (2 * rayon::current_num_threads())).max(SEQUENTIAL_MAX / 2);
        return points.par_chunks(chunk).map(|c| sum_points_sequential(c, ops)).sum();
    }
    sum_points_sequential(points, ops)
}

fn sum_points_sequential<P: SWCurveConfig, M: FieldOps>(points: &[Affine<P>], ops: M) -> Projective<P> {
    // Below this many pairs an inversion per level costs more than it saves.
    const MIN_PAIRS: usize = 16;
    let mut side = Projective::<P>::zero();
    let mut level: Vec<Affine<P>> = points.iter().filter(|p| !p.infinity).copied().collect();
    let (mut lhs, mut rhs, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    while level.len() / 2 >= MIN_PAIRS {
        let half = level.len() / 2;
        lhs.clear();
        rhs.clear();
        for (a, b) in level[..half].iter().zip(&level[half..2 * half]) {
            if a.x == b.x {
                side += a;
                side += b;
            } else {
                lhs.push(*a);
                rhs.push(*b);
            }
        }
        add_distinct_x(&mut lhs, &rhs, &mut scratch, ops);
        if level.len() % 2 == 1 {
            lhs.push(level[level.len() - 1]);
        }
        std::mem::swap(&mut level, &mut lhs);
    }
    level.iter().fold(side, |acc, p| acc + p)
}
