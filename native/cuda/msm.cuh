// Pippenger's bucket method on the GPU: the device half of zkml's CUDA MSM.
// The host side (native/src/cuda/msm.rs) launches these in this order:
//
//  1. digits:  each scalar -> canonical k = min(s, r - s) with a sign, cut
//              into signed (Booth) digits d_w in [-2^(c-1), 2^(c-1)], one per
//              window of c bits. Writes (bucket |d_w|, point index | sign) per
//              window and counts the points per bucket. A zero digit enters no
//              bucket, so a scalar of b bits touches only ceil((b+1)/c)
//              windows: the small scalars of a witness cost one window each.
//  2. scan + scatter: a counting sort (a one-digit radix sort whose radix is
//              the bucket): exclusive scan of the counts gives each bucket's
//              offset, and every entry is placed with one atomic per group of
//              equal keys in a warp.
//  3. bucket sums: each bucket's run of the sorted entries is cut into tasks of
//              at most L points; one thread sums a task. The partial sums form
//              a shorter list grouped by bucket, reduced the same way until
//              each bucket has one sum. A bucket that holds half the points
//              (the witness's bit columns) is thus summed as a tree, in
//              parallel, not by one thread.
//  4. bucket reduction: sum_d d * B_d per window, split into segments of G
//              buckets: each thread runs the running-sum trick over its
//              segment and adds (lo - 1) * (sum of its buckets); the segments
//              are then summed in a tree.
//  5. the host adds the windows: sum_w 2^(c w) S_w.
//
// Kernels use no cross-block synchronisation; the scan is a block scan plus a
// recursive pass over block totals.
#pragma once
#include "ec.cuh"

#define ZK_SIGN_BIT 0x80000000u
#define ZK_INDEX_MASK 0x7fffffffu

ZK_DEV u32 global_id() {
    return blockIdx.x * blockDim.x + threadIdx.x;
}

ZK_DEV u32 lane_id() {
    return threadIdx.x & 31;
}

// Bits [start, start + len) of an eight-limb integer, len <= 31.
ZK_DEV u32 bits_at(const u32 k[8], u32 start, u32 len) {
    u32 limb = start >> 5, shift = start & 31;
    if (limb >= 8) return 0;
    u64 w = k[limb];
    if (limb + 1 < 8) w |= (u64)k[limb + 1] << 32;
    return (u32)(w >> shift) & ((1u << len) - 1);
}

// The signed digit of k for the window at `offset` of `c` bits:
// d = k[offset .. offset+c) + k[offset-1] - 2^c k[offset+c-1].
ZK_DEV i32 booth_digit(const u32 k[8], u32 offset, u32 c) {
    u32 window = offset == 0 ? bits_at(k, 0, c) << 1 : bits_at(k, offset - 1, c + 1);
    u32 value = (window >> 1) + (window & 1);
    return (i32)value - (i32)(((window >> c) & 1) << c);
}

// One warp-aggregated atomicAdd per group of lanes with the same key: every
// lane of the warp must call this (key 0xffffffff = "no entry"), and the lanes
// whose key is real get consecutive slots starting at the returned base.
ZK_DEV u32 warp_grouped_add(u32* counters, u32 key, bool real) {
    u32 peers = __match_any_sync(0xffffffffu, real ? key : 0xffffffffu);
    u32 leader = __ffs(peers) - 1;
    u32 base = 0;
    if (real && lane_id() == leader) base = atomicAdd(&counters[key], __popc(peers));
    base = __shfl_sync(0xffffffffu, base, leader);
    return base + __popc(peers & ((1u << lane_id()) - 1));
}

// 1. digits. keys/vals are window-major (entry w * n + i); counts has
// `stride` = 2^(c-1) + 1 slots per window (slot 0 unused).
template <class R>
__device__ void msm_digits(const Fp<R>* scalars, u32 n, u32 c, u32 windows, u32* keys, u32* vals,
                           u32* counts) {
    u32 i = global_id();
    bool live = i < n;
    u32 k[8];
    bool negate = false;
    if (live) {
        Fp<R> s = from_montgomery(scalars[i]);
        // k > (r-1)/2: use r - k and remember the sign.
        bool above = false, decided = false;
        for (int j = 7; j >= 0; j--) {
            u32 h = R::half(j);
            if (!decided && s.v[j] != h) {
                above = s.v[j] > h;
                decided = true;
            }
        }
        if (above) s = neg(s);
        negate = above;
        for (int j = 0; j < 8; j++) k[j] = s.v[j];
    } else {
        for (int j = 0; j < 8; j++) k[j] = 0;
    }
    u32 stride = (1u << (c - 1)) + 1;
    for (u32 w = 0; w < windows; w++) {
        i32 d = booth_digit(k, w * c, c);
        u32 mag = d < 0 ? (u32)(-d) : (u32)d;
        bool real = live && mag != 0;
        warp_grouped_add(counts, w * stride + mag, real);
        if (live) {
            keys[(u64)w * n + i] = mag;
            vals[(u64)w * n + i] = i | ((d < 0) != negate ? ZK_SIGN_BIT : 0u);
        }
    }
}

// 2b. scatter: entry e of window w = e / n goes to cursor[w * stride + key]++.
__device__ void msm_scatter(const u32* keys, const u32* vals, u32 n, u32 windows, u32 stride,
                            u32* cursor, u32* sorted) {
    u64 e = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    u64 total = (u64)n * windows;
    bool live = e < total;
    u32 key = 0, w = 0;
    if (live) {
        key = keys[e];
        w = (u32)(e / n);
    }
    bool real = live && key != 0;
    u32 slot = warp_grouped_add(cursor, w * stride + key, real);
    if (real) sorted[slot] = vals[e];
}

// 2a. exclusive block scan: 256 threads x 8 items per block; block totals to `sums`.
#define ZK_SCAN_THREADS 256
#define ZK_SCAN_ITEMS 8
__device__ void scan_block(const u32* in, u32* out, u32 len, u32* sums) {
    __shared__ u32 warp_totals[ZK_SCAN_THREADS / 32];
    u32 base = blockIdx.x * (ZK_SCAN_THREADS * ZK_SCAN_ITEMS) + threadIdx.x * ZK_SCAN_ITEMS;
    u32 items[ZK_SCAN_ITEMS];
    u32 local = 0;
    for (int j = 0; j < ZK_SCAN_ITEMS; j++) {
        u32 v = base + j < len ? in[base + j] : 0;
        items[j] = local;
        local += v;
    }
    // Inclusive scan of the thread totals within the warp.
    u32 incl = local;
    for (int d = 1; d < 32; d <<= 1) {
        u32 other = __shfl_up_sync(0xffffffffu, incl, d);
        if (lane_id() >= (u32)d) incl += other;
    }
    u32 warp = threadIdx.x >> 5;
    if (lane_id() == 31) warp_totals[warp] = incl;
    __syncthreads();
    if (warp == 0) {
        u32 t = lane_id() < ZK_SCAN_THREADS / 32 ? warp_totals[lane_id()] : 0;
        u32 ti = t;
        for (int d = 1; d < 32; d <<= 1) {
            u32 other = __shfl_up_sync(0xffffffffu, ti, d);
            if (lane_id() >= (u32)d) ti += other;
        }
        if (lane_id() < ZK_SCAN_THREADS / 32) warp_totals[lane_id()] = ti - t;
        if (lane_id() == ZK_SCAN_THREADS / 32 - 1) sums[blockIdx.x] = ti;
    }
    __syncthreads();
    u32 prefix = warp_totals[warp] + incl - local;
    for (int j = 0; j < ZK_SCAN_ITEMS; j++)
        if (base + j < len) out[base + j] = prefix + items[j];
}

__device__ void scan_add(u32* out, u32 len, const u32* sums) {
    u32 i = global_id();
    if (i < len) out[i] += sums[i / (ZK_SCAN_THREADS * ZK_SCAN_ITEMS)];
}

// 3a. tasks per bucket: ceil(count / L).
__device__ void task_counts(const u32* counts, u32 m, u32 L, u32* ntask) {
    u32 b = global_id();
    if (b < m) ntask[b] = (counts[b] + L - 1) / L;
}

// 3b. first entry of every task. A bucket of `count` entries is cut into
// t = ceil(count / L) tasks of nearly equal length (floor or ceil of count / t),
// so the threads of a warp finish together. Tasks tile the entries in order:
// task i ends where task i + 1 begins (the host writes the end of the last).
__device__ void emit_tasks(const u32* counts, const u32* offsets, const u32* task_offsets, u32 m,
                           u32 L, u32* task_begin) {
    u32 b = global_id();
    if (b >= m) return;
    u32 count = counts[b], first = task_offsets[b], begin = offsets[b];
    u32 tasks = (count + L - 1) / L;
    for (u32 t = 0; t < tasks; t++) task_begin[first + t] = begin + (u32)(((u64)count * t) / tasks);
}

// 3c. level 0: sum the affine points of each task. The next entry's point is
// loaded before the current one is added, so its memory latency overlaps the
// arithmetic.
template <class F>
__device__ void sum_affine_tasks(const Affine<F>* bases, const u32* sorted, const u32* task_begin,
                                 u32 ntasks, Xyzz<F>* out) {
    u32 t = global_id();
    if (t >= ntasks) return;
    Xyzz<F> acc = xyzz_identity<F>();
    u32 j = task_begin[t], end = task_begin[t + 1];
    if (j < end) {
        u32 v = sorted[j];
        Affine<F> p = bases[v & ZK_INDEX_MASK];
        for (;;) {
            bool more = j + 1 < end;
            u32 v_next = 0;
            Affine<F> p_next = p;
            if (more) {
                v_next = sorted[j + 1];
                p_next = bases[v_next & ZK_INDEX_MASK];
            }
            if (!is_identity(p)) {
                if (v & ZK_SIGN_BIT) p.y = neg(p.y);
                acc = xyzz_madd(acc, p);
            }
            if (!more) break;
            j++;
            v = v_next;
            p = p_next;
        }
    }
    out[t] = acc;
}

// 3d. later levels: sum the partial sums of each task.
template <class F>
__device__ void sum_xyzz_tasks(const Xyzz<F>* in, const u32* task_begin, u32 ntasks,
                               Xyzz<F>* out) {
    u32 t = global_id();
    if (t >= ntasks) return;
    Xyzz<F> acc = xyzz_identity<F>();
    for (u32 j = task_begin[t], end = task_begin[t + 1]; j < end; j++) acc = xyzz_add(acc, in[j]);
    out[t] = acc;
}

// 4a. per (window, segment of G buckets): sum_{d in seg} d * B_d, where bucket
// d of window w is sums[offsets[w*stride + d]] if counts[...] is 1, else empty.
template <class F>
__device__ void reduce_segments(const Xyzz<F>* sums, const u32* counts, const u32* offsets,
                                u32 stride, u32 windows, u32 G, Xyzz<F>* out) {
    u32 id = global_id();
    u32 segments = (stride - 1) / G;
    if (id >= windows * segments) return;
    u32 w = id / segments, s = id % segments;
    u32 lo = s * G + 1;
    Xyzz<F> running = xyzz_identity<F>(), acc = xyzz_identity<F>();
    for (u32 d = lo + G - 1; d >= lo; d--) {
        u32 slot = w * stride + d;
        if (counts[slot] != 0) running = xyzz_add(running, sums[offsets[slot]]);
        acc = xyzz_add(acc, running);
    }
    // acc = sum (d - lo + 1) B_d; add (lo - 1) * sum B_d.
    if (lo > 1) acc = xyzz_add(acc, xyzz_mul_small(running, lo - 1));
    out[id] = acc;
}

// 4b. sums of consecutive runs of `k` points within groups of `per_group`.
template <class F>
__device__ void sum_runs(const Xyzz<F>* in, u32 groups, u32 per_group, u32 k, Xyzz<F>* out) {
    u32 id = global_id();
    u32 out_per_group = (per_group + k - 1) / k;
    if (id >= groups * out_per_group) return;
    u32 g = id / out_per_group, j = id % out_per_group;
    Xyzz<F> acc = xyzz_identity<F>();
    for (u32 t = j * k; t < per_group && t < (j + 1) * k; t++) acc = xyzz_add(acc, in[g * per_group + t]);
    out[id] = acc;
}
