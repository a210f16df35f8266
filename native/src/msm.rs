//! Multi-scalar multiplication: `sum_i scalars[i] * bases[i]`.
//!
//! [`msm`] is Pippenger's bucket method with three refinements:
//!
//! * **Scalars are sorted by size first.** A zkml witness is mostly range-check
//!   bits and small integers, and a negative value `-v` is the field element
//!   `r - v`. Each scalar `s` is replaced by `min(s, r - s)` (negating the base
//!   when it takes `r - s`), zeros and identity bases are dropped, `±1` terms go
//!   to a plain sum of points, and the rest are split into bands by bit length
//!   (up to 2, 4, 8, ..., 256 bits). Each band gets its own window plan, so a
//!   16-bit band runs two windows over its points, not twenty.
//! * **Signed windows.** Each window's digit lies in `[-2^(c-1), 2^(c-1)]`
//!   (Booth recoding, computed independently per window), which halves the
//!   buckets: negating an affine point is free.
//! * **Batch-affine bucket accumulation.** Buckets are kept in affine form and
//!   additions are queued and then done together, sharing a single field
//!   inversion (Montgomery's trick). An affine addition then costs about 6
//!   field multiplications instead of 11 for a mixed Jacobian one. A point whose
//!   bucket already has an addition pending waits in a short queue; if that
//!   overflows, or if the addition would be a doubling or a cancellation, it goes
//!   to a Jacobian "spill" bucket with complete formulas, so skewed digit
//!   distributions stay correct and at worst fall back to classic Pippenger cost.
//!
//! Rayon tasks are (band, group of windows, chunk of points). Windows with few
//! buckets are accumulated together in one task, so that their batches stay
//! large without piling onto the same buckets.
//!
//! [`fixed_base_batch`] multiplies one base by many scalars (key generation)
//! with a precomputed table of signed-digit multiples.
//!
//! The affine arithmetic needs to build points from coordinates, which
//! `CurveGroup` alone cannot do, so [`msm`] is available for the groups of
//! short-Weierstrass curves ([`MsmCurve`]), BN254's G1 and G2 among them.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::CurveGroup;
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, Zero};
use rayon::prelude::*;
use std::ops::Range;

/// Groups [`msm`] runs on: every short-Weierstrass curve's projective group.
pub trait MsmCurve: CurveGroup {
    /// [`msm`] without the length check; implementations may assume equal
    /// lengths. `by_size: false` puts every non-zero scalar in one band (for
    /// measuring what sorting by size buys).
    #[doc(hidden)]
    fn msm_same_length(bases: &[Self::Affine], scalars: &[Self::ScalarField], by_size: bool) -> Self;
}

impl<P: SWCurveConfig> MsmCurve for Projective<P> {
    fn msm_same_length(bases: &[Affine<P>], scalars: &[P::ScalarField], by_size: bool) -> Self {
        pippenger(bases, scalars, by_size)
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
    msm_checked(bases, scalars, true)
}

/// [`msm`] without sorting the scalars by size: every non-zero scalar goes
/// through the same full-width windows. For benchmarks only, to show what the
/// split is worth; same result as [`msm`].
#[doc(hidden)]
pub fn msm_without_size_split<G: MsmCurve>(bases: &[G::Affine], scalars: &[G::ScalarField]) -> G {
    msm_checked(bases, scalars, false)
}

fn msm_checked<G: MsmCurve>(bases: &[G::Affine], scalars: &[G::ScalarField], split_by_size: bool) -> G {
    assert_eq!(bases.len(), scalars.len(), "msm: {} bases but {} scalars", bases.len(), scalars.len());
    G::msm_same_length(bases, scalars, split_by_size)
}

// ---------------------------------------------------------------------------
// Scalar preparation

type BigIntOf<P> = <<P as ark_ec::CurveConfig>::ScalarField as PrimeField>::BigInt;

/// One term `±k * bases[index]` with `0 < k <= (r - 1) / 2`.
#[derive(Clone, Copy)]
struct Term<B> {
    k: B,
    index: usize,
    negate: bool,
}

/// `s` as `(k, negate)` with `s = ±k` and `k <= (r-1)/2`.
pub(crate) fn signed_magnitude<F: PrimeField>(s: &F) -> (F::BigInt, bool) {
    let k = s.into_bigint();
    if k > F::MODULUS_MINUS_ONE_DIV_TWO {
        let mut neg = F::MODULUS;
        neg.sub_with_borrow(&k);
        (neg, true)
    } else {
        (k, false)
    }
}

/// Bands by bit length of `k`: band `j` holds `2^(j-1) < bits <= 2^j`, and
/// the last band everything longer (scalar fields over 256 bits).
const BANDS: usize = 9;

fn band_of(bits: u32) -> usize {
    debug_assert!(bits >= 2);
    (((bits - 1).ilog2() + 1) as usize).min(BANDS - 1)
}

/// The non-trivial terms of an MSM, sorted by size.
struct Split<P: SWCurveConfig> {
    /// `±bases[i]` for scalars `±1`, sign applied.
    unit: Vec<Affine<P>>,
    bands: [Vec<Term<BigIntOf<P>>>; BANDS],
    /// Largest bit length seen per band.
    band_bits: [u32; BANDS],
}

impl<P: SWCurveConfig> Split<P> {
    fn empty() -> Self {
        Self { unit: Vec::new(), bands: Default::default(), band_bits: [0; BANDS] }
    }

    fn of(bases: &[Affine<P>], scalars: &[P::ScalarField], first_index: usize, by_size: bool) -> Self {
        let mut split = Self::empty();
        for (i, (base, s)) in bases.iter().zip(scalars).enumerate() {
            if base.infinity {
                continue;
            }
            let (k, negate) = signed_magnitude(s);
            let bits = k.num_bits();
            match bits {
                0 => {}
                1 if by_size => split.unit.push(if negate { -*base } else { *base }),
                _ => {
                    let band = if by_size { band_of(bits) } else { BANDS - 1 };
                    split.band_bits[band] = split.band_bits[band].max(bits);
                    split.bands[band].push(Term { k, index: first_index + i, negate });
                }
            }
        }
        split
    }

    /// Concatenates the splits of consecutive chunks, copying each term once.
    fn concat(parts: Vec<Self>) -> Self {
        let mut all = Self::empty();
        all.unit.reserve_exact(parts.iter().map(|p| p.unit.len()).sum());
        for b in 0..BANDS {
            all.bands[b].reserve_exact(parts.iter().map(|p| p.bands[b].len()).sum());
        }
        for part in parts {
            all.unit.extend_from_slice(&part.unit);
            for b in 0..BANDS {
                all.bands[b].extend_from_slice(&part.bands[b]);
                all.band_bits[b] = all.band_bits[b].max(part.band_bits[b]);
            }
        }
        all
    }
}

// ---------------------------------------------------------------------------
// The variable-base MSM

fn pippenger<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[P::ScalarField], by_size: bool) -> Projective<P> {
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
        || sum_points(&split.unit),
        || {
            tasks
                .par_iter()
                .map(|t| {
                    let plan = &plans.iter().find(|(b, _)| *b == t.band).expect("planned band").1;
                    group_sum(bases, &split.bands[t.band][t.points.clone()], plan, t.windows.clone())
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

// Rough costs on x86-64 for BN254 G1, in nanoseconds, for choosing window
// sizes. The ratios matter, not the values: an affine addition in a batch is
// about half a mixed Jacobian one, but every batch also pays one field
// inversion, so batches must be large.
const AFFINE_ADD_NS: usize = 150;
const INVERSION_NS: usize = 4000;
const MIXED_ADD_NS: usize = 240;
/// One bucket of the running-sum reduction: a mixed and a full addition.
const BUCKET_REDUCTION_NS: usize = 540;

const MAX_WINDOW: usize = 16;
/// Largest batch of affine additions sharing one inversion.
const MAX_BATCH: usize = 512;
/// Windows are processed together until they hold this many buckets, so that
/// windows with few buckets still fill large batches without collisions.
const GROUP_BUCKETS: usize = 4096;

/// How a band of `m` scalars of at most `bits` bits is cut into windows, and
/// the windows into tasks.
struct WindowPlan {
    /// Bit offset and width of each window, low to high; the widths add up to
    /// `bits + 1` so that the top window's signed digit never carries out.
    offsets: Vec<usize>,
    widths: Vec<usize>,
    /// Buckets per window: `2^(widest - 1)`.
    buckets: usize,
    /// Windows that one task accumulates together, sharing its batches.
    groups: Vec<Range<usize>>,
    /// Number of point chunks each group is split into for parallelism.
    chunks: usize,
    /// Affine batch size; 0 for Jacobian-only buckets.
    batch: usize,
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
    fn new(m: usize, bits: usize, threads: usize) -> Self {
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

/// Bits `start .. start + len` of a little-endian limb array (`len < 64`).
#[inline]
fn bits_at(limbs: &[u64], start: usize, len: usize) -> u64 {
    let (limb, shift) = (start / 64, start % 64);
    let Some(&low) = limbs.get(limb) else {
        return 0;
    };
    let mut v = low >> shift;
    if shift + len > 64 {
        if let Some(&high) = limbs.get(limb + 1) {
            v |= high << (64 - shift);
        }
    }
    v & ((1u64 << len) - 1)
}

/// The signed (Booth) digit of `k` for the window at `offset` of `width` bits:
/// `d = k[offset..offset+width] + k[offset-1] - 2^width * k[offset+width-1]`, in
/// `[-2^(width-1), 2^(width-1)]`. The borrowed bit `k[offset-1]` is what the
/// window below gave away by going negative, so `sum_w d_w 2^offset_w = k` as
/// long as the top bit of the top window is zero.
#[inline]
pub(crate) fn signed_digit(limbs: &[u64], offset: usize, width: usize) -> i64 {
    let window = if offset == 0 { bits_at(limbs, 0, width) << 1 } else { bits_at(limbs, offset - 1, width + 1) };
    let value = (window >> 1) + (window & 1);
    value as i64 - (((window >> width) & 1) << width) as i64
}

/// For each window `w` of `windows`: `sum_t d_{t,w} * (±bases[t.index])`.
fn group_sum<P: SWCurveConfig>(
    bases: &[Affine<P>],
    terms: &[Term<BigIntOf<P>>],
    plan: &WindowPlan,
    windows: Range<usize>,
) -> Vec<Projective<P>> {
    let layout: Vec<(usize, usize)> = windows.clone().map(|w| (plan.offsets[w], plan.widths[w])).collect();
    let mut buckets = Buckets::<P>::new(layout.len(), plan.buckets, plan.batch);
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

/// Longest wait list before points go to the Jacobian spill buckets.
const QUEUE_MAX: usize = 256;

/// The buckets of a group of windows, `per_window` each; bucket `j` of a window
/// collects the points whose digit there is `±(j+1)`, and [`Buckets::finish`]
/// returns `sum_j (j+1) B_j` per window.
struct Buckets<P: SWCurveConfig> {
    per_window: usize,
    /// Affine part of each bucket (`infinity` = empty).
    affine: Vec<Affine<P>>,
    /// Jacobian part, for points that could not be added in affine form.
    spill: Vec<Projective<P>>,
    /// Whether the bucket has an addition in the pending batch.
    busy: Vec<bool>,
    /// The pending batch: `bucket[i] <- lhs[i] + rhs[i]`.
    bucket: Vec<usize>,
    lhs: Vec<Affine<P>>,
    rhs: Vec<Affine<P>>,
    batch: usize,
    /// Points whose bucket was busy, to retry after the next flush.
    queue: Vec<(usize, Affine<P>)>,
    retry: Vec<(usize, Affine<P>)>,
    scratch: Vec<P::BaseField>,
}

impl<P: SWCurveConfig> Buckets<P> {
    /// `batch == 0`: every point goes straight to the Jacobian buckets.
    fn new(windows: usize, per_window: usize, batch: usize) -> Self {
        let n = windows * per_window;
        Self {
            per_window,
            affine: vec![Affine::identity(); n],
            spill: vec![Projective::zero(); n],
            busy: vec![false; n],
            bucket: Vec::with_capacity(batch),
            lhs: Vec::with_capacity(batch),
            rhs: Vec::with_capacity(batch),
            batch,
            queue: Vec::new(),
            retry: Vec::new(),
            scratch: Vec::with_capacity(batch),
        }
    }

    #[inline]
    fn add(&mut self, b: usize, p: Affine<P>) {
        if self.batch == 0 {
            self.spill[b] += &p;
            return;
        }
        self.stage(b, p);
        if self.bucket.len() == self.batch {
            self.flush();
            self.retry_queue();
        }
    }

    /// Puts `p` into bucket `b` now if that is empty, or into the batch, or
    /// into the queue, or into the spill bucket.
    #[inline]
    fn stage(&mut self, b: usize, p: Affine<P>) {
        if self.busy[b] {
            if self.queue.len() < QUEUE_MAX {
                self.queue.push((b, p));
            } else {
                self.spill[b] += &p;
            }
            return;
        }
        let acc = self.affine[b];
        if acc.infinity {
            self.affine[b] = p;
        } else if acc.x == p.x {
            // p = ±acc: a doubling or a cancellation, which the affine batch
            // formula cannot do. Rare; the complete formulas handle it.
            self.spill[b] += &p;
        } else {
            self.busy[b] = true;
            self.bucket.push(b);
            self.lhs.push(acc);
            self.rhs.push(p);
        }
    }

    fn flush(&mut self) {
        if self.bucket.is_empty() {
            return;
        }
        add_distinct_x(&mut self.lhs, &self.rhs, &mut self.scratch);
        for (&b, sum) in self.bucket.iter().zip(&self.lhs) {
            self.affine[b] = *sum;
            self.busy[b] = false;
        }
        self.bucket.clear();
        self.lhs.clear();
        self.rhs.clear();
    }

    fn retry_queue(&mut self) {
        std::mem::swap(&mut self.queue, &mut self.retry);
        let mut retry = std::mem::take(&mut self.retry);
        for (b, p) in retry.drain(..) {
            self.stage(b, p);
            if self.bucket.len() == self.batch {
                self.flush();
            }
        }
        self.retry = retry;
    }

    fn finish(mut self) -> Vec<Projective<P>> {
        self.flush();
        self.retry_queue();
        self.flush();
        for (b, p) in std::mem::take(&mut self.queue) {
            self.spill[b] += &p;
        }
        // sum_j (j+1) B_j = sum_j (B_j + B_{j+1} + ...): a running sum from the top.
        self.affine
            .chunks(self.per_window)
            .zip(self.spill.chunks(self.per_window))
            .map(|(affine, spill)| {
                let mut running = Projective::<P>::zero();
                let mut total = Projective::<P>::zero();
                for (a, s) in affine.iter().zip(spill).rev() {
                    if !a.infinity {
                        running += a;
                    }
                    if !s.is_zero() {
                        running += s;
                    }
                    total += &running;
                }
                total
            })
            .collect()
    }
}

/// `lhs[i] <- lhs[i] + rhs[i]` in affine coordinates, with one inversion for
/// the whole batch. Every pair must be two finite points with different x
/// coordinates (so neither a doubling nor a cancellation): callers route other
/// pairs to the complete Jacobian formulas.
fn add_distinct_x<P: SWCurveConfig>(lhs: &mut [Affine<P>], rhs: &[Affine<P>], scratch: &mut Vec<P::BaseField>) {
    debug_assert_eq!(lhs.len(), rhs.len());
    // scratch[i] = prod_{j < i} (x_rhs_j - x_lhs_j)
    scratch.clear();
    let mut product = P::BaseField::ONE;
    for (l, r) in lhs.iter().zip(rhs) {
        debug_assert!(!l.infinity && !r.infinity && l.x != r.x);
        scratch.push(product);
        product *= r.x - l.x;
    }
    let Some(mut inverse) = product.inverse() else {
        unreachable!("add_distinct_x: a pair with equal x coordinates slipped through")
    };
    for ((l, r), prefix) in lhs.iter_mut().zip(rhs).zip(scratch.iter()).rev() {
        // inverse = 1 / prod_{j <= i}; times the prefix it is 1 / dx_i.
        let dx = r.x - l.x;
        let dx_inv = inverse * prefix;
        inverse *= dx;
        let lambda = (r.y - l.y) * dx_inv;
        let x = lambda.square() - l.x - r.x;
        l.y = lambda * (l.x - x) - l.y;
        l.x = x;
    }
}

/// Sum of affine points, as a pairwise tree whose levels are batch-affine
/// additions; pairs sharing an x coordinate go through Jacobian formulas.
fn sum_points<P: SWCurveConfig>(points: &[Affine<P>]) -> Projective<P> {
    const SEQUENTIAL_MAX: usize = 1 << 14;
    if points.len() > SEQUENTIAL_MAX {
        let chunk = (points.len() / (2 * rayon::current_num_threads())).max(SEQUENTIAL_MAX / 2);
        return points.par_chunks(chunk).map(sum_points_sequential).sum();
    }
    sum_points_sequential(points)
}

fn sum_points_sequential<P: SWCurveConfig>(points: &[Affine<P>]) -> Projective<P> {
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
        add_distinct_x(&mut lhs, &rhs, &mut scratch);
        if level.len() % 2 == 1 {
            lhs.push(level[level.len() - 1]);
        }
        std::mem::swap(&mut level, &mut lhs);
    }
    level.iter().fold(side, |acc, p| acc + p)
}

// ---------------------------------------------------------------------------
// Fixed-base batch multiplication

/// Most table entries [`fixed_base_batch`] precomputes (per call).
const TABLE_MAX: usize = 1 << 18;

/// `[s * base for s in scalars]`, in affine form, for key generation.
///
/// The base's signed-digit multiples `j * 2^offset * base` are tabulated once
/// per window, so each product is one mixed addition per non-zero digit.
/// Products are computed in parallel and normalised with a single batched
/// inversion.
pub fn fixed_base_batch<G: CurveGroup>(base: G, scalars: &[G::ScalarField]) -> Vec<G::Affine> {
    let n = scalars.len();
    if n == 0 {
        return Vec::new();
    }
    // |k| <= (r-1)/2 has at most MODULUS_BIT_SIZE - 1 bits, plus one for the carry.
    let total = G::ScalarField::MODULUS_BIT_SIZE as usize;
    let cost = |c: usize| total.div_ceil(c) * (n + (1 << (c - 1)));
    let c = (2..=MAX_WINDOW + 4)
        .filter(|&c| total.div_ceil(c) << (c - 1) <= TABLE_MAX)
        .min_by_key(|&c| cost(c))
        .unwrap_or(2);
    let windows = total.div_ceil(c);

    // table[w][j] = (j + 1) * 2^(w c) * base
    let mut window_base = Vec::with_capacity(windows);
    let mut g = base;
    for _ in 0..windows {
        window_base.push(g);
        for _ in 0..c {
            g.double_in_place();
        }
    }
    let buckets = 1usize << (c - 1);
    let table: Vec<Vec<G::Affine>> = window_base
        .par_iter()
        .map(|&g| {
            let multiples: Vec<G> = std::iter::successors(Some(g), |m| Some(*m + g)).take(buckets).collect();
            G::normalize_batch(&multiples)
        })
        .collect();

    let products: Vec<G> = scalars
        .par_iter()
        .with_min_len(256)
        .map(|s| {
            let (k, negate) = signed_magnitude(s);
            let mut acc = G::zero();
            for (w, row) in table.iter().enumerate() {
                let d = signed_digit(k.as_ref(), w * c, c);
                match d.signum() {
                    1 => acc += row[d as usize - 1],
                    -1 => acc -= row[d.unsigned_abs() as usize - 1],
                    _ => {}
                }
            }
            if negate {
                -acc
            } else {
                acc
            }
        })
        .collect();
    G::normalize_batch(&products)
}

#[cfg(test)]
mod tests;
