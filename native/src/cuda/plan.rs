//! How the GPU MSM cuts its work, and a CPU model of the same algorithm.
//!
//! [`MsmPlan`] fixes the window width, the number of windows and buckets, the
//! task length of the bucket sums and the segment length of the bucket
//! reduction. [`booth_digits`] is the digit decomposition the `zk_msm_digits`
//! kernel performs, and [`model_msm`] runs the whole kernel pipeline (digits,
//! counting sort, task-split bucket sums, segmented reduction, Horner over
//! windows) on the CPU with arkworks' arithmetic. Tests hold both against the
//! CPU MSM, so a plan or reduction mistake shows up without a GPU.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ff::Zero;

use crate::error::{Error, Result};

/// Bits of `min(s, r - s)` plus one for the top window's carry: 253 + 1.
pub const SCALAR_BITS: u32 = 254;
/// Points (or partial sums) per bucket-sum task. Longer tasks for large
/// buckets (64, 128) measured 1-4% slower on an H100 at 2^20 and 2^24
/// (bench/RESULTS.md), so one length serves every level.
pub const MIN_TASK_LEN: u32 = 32;
/// Cost of one bucket in the reduction relative to one point added to a
/// bucket. Measured on an H100 (bench/gpu_msm.rs with ZKML_CUDA_PROFILE=1):
/// 0.35-0.49 ns per point added against 6.4-7.6 ns per bucket reduced.
const BUCKET_COST: u64 = 16;
/// Largest window (so buckets per window stay at most 2^15).
pub const MAX_WINDOW: u32 = 16;
/// Threads of the bucket reduction that run at once on a large GPU (an H100's
/// 132 multiprocessors at one 256-thread block each: the kernel needs ~192
/// registers a thread). The reduction is latency-bound, so its time is the
/// number of such waves times the additions one thread does in sequence.
const REDUCTION_WAVE: u64 = 1 << 15;
/// Points per run when the segment results are summed as a tree.
pub const RUN_LEN: u32 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsmPlan {
    /// Window width in bits.
    pub c: u32,
    pub windows: u32,
    /// Buckets per window, 2^(c-1) (digit magnitudes 1..=buckets).
    pub buckets: u32,
    /// Slots per window in the count arrays: buckets + 1 (slot 0 unused).
    pub stride: u32,
    /// Buckets per segment of the reduction (a power of two dividing `buckets`).
    pub segment: u32,
    /// Most points one thread adds up in the first level of bucket sums
    /// ([`MIN_TASK_LEN`] unless `ZKML_CUDA_TASK_LEN` overrides it).
    pub task_len: u32,
}

impl MsmPlan {
    pub fn new(n: usize) -> Result<Self> {
        // Cost per window: every point once, plus the bucket reduction.
        let cost = |c: u32| SCALAR_BITS.div_ceil(c) as u64 * (n as u64 + BUCKET_COST * (1u64 << (c - 1)));
        let c = match env_u32("ZKML_CUDA_WINDOW") {
            Some(c) if (4..=20).contains(&c) => c,
            _ => (4..=MAX_WINDOW).min_by_key(|&c| cost(c)).unwrap_or(MAX_WINDOW),
        };
        let windows = SCALAR_BITS.div_ceil(c);
        let buckets = 1u32 << (c - 1);
        // Entry indices are u32, and the point index leaves its top bit for the sign.
        if n as u64 >= 1 << 31 || n as u64 * windows as u64 >= 1 << 32 {
            return Err(Error::Device(format!("an MSM of {n} points is beyond the GPU path's limit of 2^28")));
        }
        // A thread of the reduction adds 2 points per bucket of its segment,
        // then multiplies by (first bucket - 1): ~1.5 additions per bit.
        let total = windows as u64 * buckets as u64;
        let reduction = |g: u32| (total / g as u64).div_ceil(REDUCTION_WAVE) * (2 * g as u64 + 3 * (c as u64 - 1) / 2);
        let segment = (0..c).map(|k| 1u32 << k).min_by_key(|&g| reduction(g)).unwrap_or(1);
        let task_len = match env_u32("ZKML_CUDA_TASK_LEN") {
            Some(l) if (1..=4096).contains(&l) => l,
            _ => MIN_TASK_LEN,
        };
        Ok(Self { c, windows, buckets, stride: buckets + 1, segment, task_len })
    }

    /// Slots in the count arrays (all windows).
    pub fn slots(&self) -> usize {
        self.windows as usize * self.stride as usize
    }

    pub fn segments_per_window(&self) -> u32 {
        self.buckets / self.segment
    }
}

/// Tuning overrides for benchmarks (`ZKML_CUDA_WINDOW`, `ZKML_CUDA_TASK_LEN`);
/// values out of range are ignored.
fn env_u32(name: &str) -> Option<u32> {
    std::env::var(name).ok()?.parse().ok()
}

/// The signed window digits of `k` (what `zk_msm_digits` computes): the CPU
/// MSM's Booth digit ([`crate::msm::digits::signed_digit`]) of each window of `c`
/// bits, so `sum_w d_w 2^(wc) = k` when the top window's top bit is clear.
pub fn booth_digits(k: &[u64], c: u32, windows: u32) -> Vec<i32> {
    (0..windows).map(|w| crate::msm::digits::signed_digit(k, (w * c) as usize, c as usize) as i32).collect()
}

/// The GPU algorithm, step for step, on the CPU (for tests).
pub fn model_msm<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[P::ScalarField]) -> Result<Projective<P>> {
    let plan = MsmPlan::new(bases.len())?;
    let (n, stride) = (bases.len(), plan.stride as usize);
    // 1. digits and counts
    let mut keys = vec![0u32; plan.windows as usize * n];
    let mut vals = vec![0u32; plan.windows as usize * n];
    let mut counts = vec![0u32; plan.slots() + 1];
    for (i, s) in scalars.iter().enumerate() {
        let (k, negate) = crate::msm::digits::signed_magnitude(s);
        for (w, d) in booth_digits(k.as_ref(), plan.c, plan.windows).into_iter().enumerate() {
            let mag = d.unsigned_abs();
            keys[w * n + i] = mag;
            vals[w * n + i] = i as u32 | if (d < 0) != negate { 1 << 31 } else { 0 };
            if mag != 0 {
                counts[w * stride + mag as usize] += 1;
            }
        }
    }
    // 2. counting sort
    let offsets = exclusive_scan(&counts);
    let mut cursor = offsets.clone();
    let mut sorted = vec![0u32; *offsets.last().unwrap() as usize];
    for e in 0..keys.len() {
        if keys[e] != 0 {
            let slot = (e / n) * stride + keys[e] as usize;
            sorted[cursor[slot] as usize] = vals[e];
            cursor[slot] += 1;
        }
    }
    // 3. bucket sums: the first level by tasks of plan.task_len points, the
    // next ones by MIN_TASK_LEN partial sums, until one sum per bucket
    let tasks = |c: &[u32], len: u32| -> Vec<u32> { c.iter().map(|&x| x.div_ceil(len)).collect() };
    let sum_tasks = |count: &[u32],
                     offset: &[u32],
                     task_off: &[u32],
                     total: u32,
                     len: u32,
                     item: &dyn Fn(usize) -> Projective<P>| {
        let mut out = vec![Projective::<P>::zero(); task_off[count.len()] as usize];
        for b in 0..count.len() {
            // Tasks of nearly equal length, as `emit_tasks` cuts them.
            let tasks = count[b].div_ceil(len);
            let start = |t: u32| offset[b] + (count[b] as u64 * t as u64 / tasks as u64) as u32;
            for t in 0..tasks {
                let (begin, end) = (start(t), start(t + 1).min(total));
                assert!(end - begin <= len);
                out[(task_off[b] + t) as usize] = (begin..end).map(|j| item(j as usize)).sum();
            }
        }
        out
    };
    let m = plan.slots();
    let mut count = tasks(&counts[..m], plan.task_len);
    count.push(0);
    let mut offset = exclusive_scan(&count);
    let mut sums = sum_tasks(&counts[..m], &offsets, &offset, sorted.len() as u32, plan.task_len, &|j| {
        let v = sorted[j];
        let p: Projective<P> = bases[(v & 0x7fff_ffff) as usize].into();
        if v >> 31 == 1 {
            -p
        } else {
            p
        }
    });
    loop {
        let mut next = tasks(&count[..m], MIN_TASK_LEN);
        next.push(0);
        let next_off = exclusive_scan(&next);
        if next_off[m] as usize == sums.len() {
            break;
        }
        let prev = sums.clone();
        sums = sum_tasks(&count[..m], &offset, &next_off, prev.len() as u32, MIN_TASK_LEN, &|j| prev[j]);
        count = next;
        offset = next_off;
    }
    // 4. segmented reduction and 5. Horner over windows
    let mut total = Projective::<P>::zero();
    for w in (0..plan.windows as usize).rev() {
        for _ in 0..plan.c {
            total = total + total;
        }
        let mut window_sum = Projective::<P>::zero();
        for s in 0..plan.segments_per_window() {
            let lo = s * plan.segment + 1;
            let (mut running, mut acc) = (Projective::<P>::zero(), Projective::<P>::zero());
            for d in (lo..lo + plan.segment).rev() {
                let slot = w * stride + d as usize;
                if count[slot] != 0 {
                    running += sums[offset[slot] as usize];
                }
                acc += running;
            }
            window_sum += acc + running * P::ScalarField::from((lo - 1) as u64);
        }
        total += window_sum;
    }
    Ok(total)
}

/// Exclusive prefix sums; the last element of the input should be a zero
/// slot, so the last output is the total.
pub fn exclusive_scan(v: &[u32]) -> Vec<u32> {
    let mut acc = 0u32;
    v.iter()
        .map(|&x| {
            let before = acc;
            acc += x;
            before
        })
        .collect()
}
