//! The CPU MSM's cost model: how a band of scalars is cut into windows, and
//! the windows into rayon tasks.
//!
//! Window widths are chosen by a rough cost in nanoseconds per point and per
//! bucket. Windows with few buckets are accumulated together in one task, so
//! that their affine batches stay large without piling onto the same buckets;
//! then window groups and point chunks are sized for a few tasks per thread.

use std::ops::Range;

// Rough costs on x86-64 for BN254 G1, in nanoseconds, for choosing window
// sizes. The ratios matter, not the values: an affine addition in a batch is
// about half a mixed Jacobian one, but every batch also pays one field
// inversion, so batches must be large.
const AFFINE_ADD_NS: usize = 150;
const INVERSION_NS: usize = 4000;
const MIXED_ADD_NS: usize = 240;
/// One bucket of the running-sum reduction: a mixed and a full addition.
const BUCKET_REDUCTION_NS: usize = 540;

pub(crate) const MAX_WINDOW: usize = 16;
/// Largest batch of affine additions sharing one inversion.
pub(crate) const MAX_BATCH: usize = 512;
/// Windows are processed together until they hold this many buckets, so that
/// windows with few buckets still fill large batches without collisions.
const GROUP_BUCKETS: usize = 4096;

/// How a band of `m` scalars of at most `bits` bits is cut into windows, and
/// the windows into tasks.
pub(crate) struct WindowPlan {
    /// Bit offset and width of each window, low to high; the widths add up to
    /// `bits + 1` so that the top window's signed digit never carries out.
    pub(crate) offsets: Vec<usize>,
    pub(crate) widths: Vec<usize>,
    /// Buckets per window: `2^(widest - 1)`.
    pub(crate) buckets: usize,
    /// Windows that one task accumulates together, sharing its batches.
    pub(crate) groups: Vec<Range<usize>>,
    /// Number of point chunks each group is split into for parallelism.
    pub(crate) chunks: usize,
    /// Affine batch size; 0 for Jacobian-only buckets.
    pub(crate) batch: usize,
}

/// Affine batch size for a group of `buckets` buckets, or 0 when batches
/// that small would not repay their inversion (use Jacobian buckets then).
fn batch_size(buckets: usize) -> usize {
    // A few pending additions per bucket keeps collisions rare.
    let batch = (buckets / 8).min(MAX_BATCH);
    if batch > 0 && AFFINE_ADD_NS + INVERSION_NS / batch < MIXED_ADD_NS {
        batch
    } else {
        0
    }
}

impl WindowPlan {
    /// The plan for `m` scalars of at most `bits` bits on `threads` threads.
    pub(crate) fn new(m: usize, bits: usize, threads: usize) -> Self {
        let total = bits + 1;
        // (windows, buckets per window, windows per group) for width c.
        let shape = |c: usize| {
            let windows = total.div_ceil(c);
            let buckets = 1usize << (c - 1);
            (windows, buckets, GROUP_BUCKETS.div_ceil(buckets).min(windows))
        };
        let cost = |c: usize| {
            let (windows, buckets, group) = shape(c);
            let add = match batch_size(group * buckets) {
                0 => MIXED_ADD_NS,
                batch => AFFINE_ADD_NS + INVERSION_NS / batch,
            };
            windows * (m * add + buckets * BUCKET_REDUCTION_NS)
        };
        let c = (2..=MAX_WINDOW.min(total)).min_by_key(|&c| cost(c)).unwrap_or(total);
        let (windows, _, mut group) = shape(c);

        // Even widths: a thin top window would crowd its points into a few buckets.
        let (narrow, extra) = (total / windows, total % windows);
        let widths: Vec<usize> = (0..windows).map(|w| narrow + usize::from(w < extra)).collect();
        let offsets = widths
            .iter()
            .scan(0, |o, &w| {
                let offset = *o;
                *o += w;
                Some(offset)
            })
            .collect();
        let buckets = 1usize << (widths[0] - 1);

        // Aim for a few tasks per thread: first by making window groups
        // smaller (smaller batches), then by splitting the points, which costs
        // one more bucket reduction per chunk and so is only for long windows.
        let want = 2 * threads;
        group = group.min(windows.div_ceil(want)).max(1);
        let chunks = want.div_ceil(windows.div_ceil(group)).min(m / (8 * buckets)).max(1);
        let groups = (0..windows).step_by(group).map(|w| w..windows.min(w + group)).collect();
        let batch = batch_size(group * buckets);
        Self { offsets, widths, buckets, groups, chunks, batch }
    }
}
