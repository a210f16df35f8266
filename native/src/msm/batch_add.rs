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
/// pairs to the complete Jacobian formulas.
/// `ops` does the multiplications.
pub(super) fn add_distinct_x<P: SWCurveConfig, M: FieldOps>(
    lhs: &mut [Affine<P>],
    rhs: &[Affine<P>],
    scratch: &mut Vec<P::BaseField>,
    ops: M,
) {
    debug_assert_eq!(lhs.len(), rhs.len());
    // scratch[i] = prod_{j < i} (x_rhs_j - x_lhs_j)
    scratch.clear();
    let mut product = P::BaseField::ONE;
    for (l, r) in lhs.iter().zip(rhs) {
        debug_assert!(!l.infinity && !r.infinity && l.x != r.x);
        scratch.push(product);
        product = ops.mul(&product, &(r.x - l.x));
    }
    let Some(mut inverse) = product.inverse() else {
        unreachable!("add_distinct_x: a pair with equal x coordinates slipped through")
    };
    for ((l, r), prefix) in lhs.iter_mut().zip(rhs).zip(scratch.iter()).rev() {
        // inverse = 1 / prod_{j <= i}; times the prefix it is 1 / dx_i.
        let dx = r.x - l.x;
        let dx_inv = ops.mul(&inverse, prefix);
        inverse = ops.mul(&inverse, &dx);
        let lambda = ops.mul(&(r.y - l.y), &dx_inv);
        let x = ops.square(&lambda) - l.x - r.x;
        l.y = ops.mul(&lambda, &(l.x - x)) - l.y;
        l.x = x;
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
