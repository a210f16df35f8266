//! Batch-affine bucket accumulation for one group of windows.
//!
//! Buckets are kept in affine form and additions are queued and then done
//! together, sharing a single field inversion ([`add_distinct_x`]). A point
//! whose bucket already has an addition pending waits in a short queue; if
//! that overflows, or if the addition would be a doubling or a cancellation,
//! it goes to a Jacobian "spill" bucket with complete formulas, so skewed
//! digit distributions stay correct and at worst fall back to classic
//! Pippenger cost.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ff::Zero;

use super::batch_add::add_distinct_x;
use super::field_ops::FieldOps;
use super::jacobian;

/// Longest wait list before points go to the Jacobian spill buckets.
const QUEUE_MAX: usize = 256;

/// The buckets of a group of windows, `per_window` each; bucket `j` of a window
/// collects the points whose digit there is `±(j+1)`, and [`Buckets::finish`]
/// returns `sum_j (j+1) B_j` per window.
pub(super) struct Buckets<P: SWCurveConfig, M: FieldOps> {
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
    /// The batches' field multiplication.
    ops: M,
}

impl<P: SWCurveConfig, M: FieldOps> Buckets<P, M> {
    /// `batch == 0`: every point goes straight to the Jacobian buckets.
    pub(super) fn new(windows: usize, per_window: usize, batch: usize, ops: M) -> Self {
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
            ops,
        }
    }

    #[inline]
    pub(super) fn add(&mut self, b: usize, p: Affine<P>) {
        if self.batch == 0 {
            jacobian::add_affine(&mut self.spill[b], &p, self.ops);
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
                jacobian::add_affine(&mut self.spill[b], &p, self.ops);
            }
            return;
        }
        let acc = self.affine[b];
        if acc.infinity {
            self.affine[b] = p;
        } else if acc.x == p.x {
            // p = ±acc: a doubling or a cancellation, which the affine batch
            // formula cannot do. Rare; the complete formulas handle it.
            jacobian::add_affine(&mut self.spill[b], &p, self.ops);
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
        add_distinct_x(&mut self.lhs, &self.rhs, &mut self.scratch, self.ops);
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

    /// `sum_j (j+1) B_j` for each window, after the pending additions.
    pub(super) fn finish(mut self) -> Vec<Projective<P>> {
        self.flush();
        self.retry_queue();
        self.flush();
        for (b, p) in std::mem::take(&mut self.queue) {
            jacobian::add_affine(&mut self.spill[b], &p, self.ops);
        }
        // sum_j (j+1) B_j = sum_j (B_j + B_{j+1} + ...): a running sum from the top.
        let ops = self.ops;
        self.affine
            .chunks(self.per_window)
            .zip(self.spill.chunks(self.per_window))
            .map(|(affine, spill)| {
                let mut running = Projective::<P>::zero();
                let mut total = Projective::<P>::zero();
                for (a, s) in affine.iter().zip(spill).rev() {
                    jacobian::add_affine(&mut running, a, ops);
                    jacobian::add(&mut running, s, ops);
                    jacobian::add(&mut total, &running, ops);
                }
                total
            })
            .collect()
    }
}
