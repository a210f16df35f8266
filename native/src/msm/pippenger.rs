//! The variable-base MSM: Pippenger's bucket method over size bands.
//!
//! The scalars are sorted into bands ([`Split`]), each band gets a window plan
//! ([`WindowPlan`]), and rayon tasks are (band, group of windows, chunk of
//! points). A task turns each scalar into signed digits and adds its base to
//! the digits' buckets ([`Buckets`]); the `±1` terms are summed as a tree on
//! the side. The window sums are then combined per band by Horner's rule.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ff::{AdditiveGroup, PrimeField, Zero};
use rayon::prelude::*;
use std::ops::Range;

use super::bands::{BigIntOf, Split, Term};
use super::batch_add::sum_points;
use super::buckets::Buckets;
use super::digits::signed_digit;
#[cfg(target_arch = "x86_64")]
use super::field_ops::Adx;
use super::field_ops::{FieldOps, Portable};
use super::plan::WindowPlan;

/// `sum_i scalars[i] * bases[i]` for equal-length inputs. `by_size: false`
/// puts every non-zero scalar in one full-width band (what the split buys).
/// Uses the BMI2/ADX multiplication where it applies (BN254 G1 on a CPU that
/// has them), checked here once per call.
pub(super) fn pippenger<P: SWCurveConfig>(
    bases: &[Affine<P>],
    scalars: &[P::ScalarField],
    by_size: bool,
) -> Projective<P> {
    #[cfg(target_arch = "x86_64")]
    if let Some(adx) = Adx::for_field::<P::BaseField>() {
        return pippenger_with(bases, scalars, by_size, adx);
    }
    pippenger_with(bases, scalars, by_size, Portable)
}

/// [`pippenger`] with the field multiplication `ops`.
pub(super) fn pippenger_with<P: SWCurveConfig, M: FieldOps>(
    bases: &[Affine<P>],
    scalars: &[P::ScalarField],
    by_size: bool,
    ops: M,
) -> Projective<P> {
    debug_assert_eq!(bases.len(), scalars.len());
    let threads = rayon::current_num_threads();
    let chunk = (bases.len() / (4 * threads)).max(1 << 12);
    let split = Split::concat(
        bases
            .par_chunks(chunk)
            .zip(scalars.par_chunks(chunk))
            .enumerate()
            .map(|(c, (b, s))| Split::of(b, s, c * chunk, by_size))
            .collect(),
    );

    struct Task {
        band: usize,
        windows: Range<usize>,
        points: Range<usize>,
    }
    let mut tasks: Vec<Task> = Vec::new();
    let mut plans = Vec::new();
    for (band, terms) in split.bands.iter().enumerate() {
        if terms.is_empty() {
            continue;
        }
        let bits = if by_size { split.band_bits[band] } else { P::ScalarField::MODULUS_BIT_SIZE - 1 };
        let plan = WindowPlan::new(terms.len(), bits as usize, threads);
        let per_chunk = terms.len().div_ceil(plan.chunks);
        for windows in &plan.groups {
            for start in (0..terms.len()).step_by(per_chunk) {
                let points = start..terms.len().min(start + per_chunk);
                tasks.push(Task { band, windows: windows.clone(), points });
            }
        }
        plans.push((band, plan));
    }

    let (unit_sum, group_sums) = rayon::join(
        || sum_points(&split.unit, ops),
        || {
            tasks
                .par_iter()
                .map(|t| {
                    let plan = &plans.iter().find(|(b, _)| *b == t.band).expect("planned band").1;
                    group_sum(bases, &split.bands[t.band][t.points.clone()], plan, t.windows.clone(), ops)
                })
                .collect::<Vec<_>>()
        },
    );

    let mut total = unit_sum;
    for (band, plan) in &plans {
        let mut sums = vec![Projective::<P>::zero(); plan.widths.len()];
        for (t, group) in tasks.iter().zip(&group_sums) {
            if t.band == *band {
                for (w, s) in t.windows.clone().zip(group) {
                    sums[w] += s;
                }
            }
        }
        // sum_w sums[w] * 2^offset[w], Horner from the top window down.
        let mut acc = Projective::<P>::zero();
        for (s, &width) in sums.iter().zip(&plan.widths).rev() {
            for _ in 0..width {
                acc.double_in_place();
            }
            acc += s;
        }
        total += acc;
    }
    total
}

/// For each window `w` of `windows`: `sum_t d_{t,w} * (±bases[t.index])`.
fn group_sum<P: SWCurveConfig, M: FieldOps>(
    bases: &[Affine<P>],
    terms: &[Term<BigIntOf<P>>],
    plan: &WindowPlan,
    windows: Range<usize>,
    ops: M,
) -> Vec<Projective<P>> {
    let layout: Vec<(usize, usize)> = windows.clone().map(|w| (plan.offsets[w], plan.widths[w])).collect();
    let mut buckets = Buckets::<P, M>::new(layout.len(), plan.buckets, plan.batch, ops);
    for t in terms {
        for (slot, &(offset, width)) in layout.iter().enumerate() {
            let d = signed_digit(t.k.as_ref(), offset, width);
            if d == 0 {
                continue;
            }
            let p = bases[t.index];
            let p = if (d < 0) != t.negate { -p } else { p };
            buckets.add(slot * plan.buckets + d.unsigned_abs() as usize - 1, p);
        }
    }
    buckets.finish()
}
