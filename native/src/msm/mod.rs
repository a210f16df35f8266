//! Multi-scalar multiplication: `sum_i scalars[i] * bases[i]`.
//!
//! [`msm`] is Pippenger's bucket method with three refinements, one file each:
//!
//! * **Scalars are sorted by size first** (`bands.rs`). A zkml witness is
//!   mostly range-check bits and small integers; each scalar is folded to
//!   `±k` with `k <= (r-1)/2`, `±1` terms go to a plain sum of points, and the
//!   rest are split into bands by bit length, each with its own window plan
//!   (`plan.rs`), so a 16-bit band runs two windows over its points, not twenty.
//! * **Signed windows** (`digits.rs`). Each window's digit lies in
//!   `[-2^(c-1), 2^(c-1)]` (Booth recoding, computed independently per window),
//!   which halves the buckets: negating an affine point is free.
//! * **Batch-affine bucket accumulation** (`buckets.rs`, on `batch_add.rs`).
//!   Bucket additions are queued and done together, sharing one field
//!   inversion; doublings, cancellations and overflowing queues go to Jacobian
//!   buckets, so skewed digits stay correct and at worst cost classic Pippenger.
//!
//! `pippenger.rs` ties them together: rayon tasks are (band, group of windows,
//! chunk of points). [`fixed_base_batch`] (`fixed_base.rs`) multiplies one base
//! by many scalars (key generation) with a table of signed-digit multiples.
//!
//! The digits and the window plan are `pub(crate)` so that another backend can
//! share them: `cuda::plan`'s CPU model of the GPU MSM takes its digits from
//! `digits`, so the `zk_msm_digits` kernel is held to the same definition.
//!
//! The affine arithmetic needs to build points from coordinates, which
//! `CurveGroup` alone cannot do, so [`msm`] is available for the groups of
//! short-Weierstrass curves ([`MsmCurve`]), BN254's G1 and G2 among them.

use ark_ec::short_weierstrass::{Projective, SWCurveConfig};
use ark_ec::CurveGroup;

mod bands;
mod batch_add;
mod buckets;
pub(crate) mod digits;
mod field_ops;
mod fixed_base;
#[cfg(target_arch = "x86_64")]
mod fq_adx;
mod jacobian;
mod pippenger;
pub(crate) mod plan;

pub use fixed_base::fixed_base_batch;

/// Groups [`msm`] runs on: every short-Weierstrass curve's projective group.
pub trait MsmCurve: CurveGroup {
    /// [`msm`] without the length check; implementations may assume equal
    /// lengths.
    #[doc(hidden)]
    fn msm_same_length(bases: &[Self::Affine], scalars: &[Self::ScalarField]) -> Self;
}

impl<P: SWCurveConfig> MsmCurve for Projective<P> {
    fn msm_same_length(bases: &[Self::Affine], scalars: &[P::ScalarField]) -> Self {
        pippenger::pippenger(bases, scalars, true)
    }
}

/// `sum_i scalars[i] * bases[i]`; the identity for empty input.
///
/// Identity bases are allowed. Runs on rayon's current thread pool.
///
/// # Panics
/// If `bases.len() != scalars.len()`: a mismatch means the caller paired the
/// wrong vectors, and silently truncating would produce a wrong proof.
pub fn msm<G: MsmCurve>(bases: &[G::Affine], scalars: &[G::ScalarField]) -> G {
    check_lengths(bases.len(), scalars.len());
    G::msm_same_length(bases, scalars)
}

/// [`msm`] without sorting the scalars by size: every non-zero scalar goes
/// through the same full-width windows. Same result as [`msm`]; only for
/// `bench/msm_ntt.rs` (feature `bench-internals`), to show what the split is
/// worth.
#[cfg(any(test, feature = "bench-internals"))]
pub fn msm_without_size_split<P: SWCurveConfig>(
    bases: &[ark_ec::short_weierstrass::Affine<P>],
    scalars: &[P::ScalarField],
) -> Projective<P> {
    check_lengths(bases.len(), scalars.len());
    pippenger::pippenger(bases, scalars, false)
}

fn check_lengths(bases: usize, scalars: usize) {
    assert_eq!(bases, scalars, "msm: {bases} bases but {scalars} scalars");
}

#[cfg(test)]
mod tests;
