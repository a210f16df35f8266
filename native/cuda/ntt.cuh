// Radix-2 number-theoretic transforms over BN254's scalar field Fr: the
// device half of zkml's GPU NTT (host side: native/src/cuda/ntt.rs).
//
// The transform is the same computation as the CPU's crate::ntt::Domain: a
// bit-reversal permutation, then log2(n) radix-2 decimation-in-time stages;
// stage S joins pairs (i, i + 2^S) with the twiddle w_{2^(S+1)}^j, where j is
// i's place in its group of 2^(S+1). Field arithmetic is exact, so any correct
// order of the same butterflies gives the CPU's bytes.
//
//  1. ntt_bitrev: in place, thread i swaps a[i] and a[rev(i)] (the thread with
//     the smaller index does both), scaling each value first by a factor of
//     its original index (the coset shift g^i, or 1/n for an inverse).
//  2. ntt passes: the stages are cut into passes of at most 2^T elements' worth
//     (T = log2 of the tile, 10 on the GPU). A pass runs stages s0 .. s0+k-1.
//     Those stages only mix elements whose indices differ in bits
//     [s0, s0 + k): one "column" of 2^k elements, with index
//         i = high * 2^(s0+k) + r * 2^s0 + low,   r in [0, 2^k).
//     Columns are numbered q = high * 2^s0 + low; a block takes 2^log_c
//     consecutive columns (so consecutive threads touch consecutive addresses
//     when 2^s0 >= 2^log_c, and the whole tile is one contiguous range when it
//     is smaller), copies them to shared memory, runs the k stages there with
//     a barrier between stages, and writes them back, scaled for the last pass
//     of a coset inverse by (1/n) g^-i.
//
// Twiddles come from one table of w^t for t < n/2 (w the domain's generator);
// an inverse transform uses w^-t = -w^(n/2 - t) from the same table and
// swaps the butterfly's outputs instead of negating. Scale factors are
// hi[i >> 10] * lo[i & 1023] (two small tables instead of one of n entries).
//
// Every pass function takes its thread and block index as arguments and the
// shared memory as a pointer, so host_ntt_check.cpp can run a block's threads
// phase by phase on the CPU (the barriers then fall between phases).
#pragma once
#include "bn254.cuh"

// log2 of the shared-memory tile of the GPU kernel (elements per block).
// native/src/cuda/ntt.rs plans passes with the same value (TILE_LOG).
#define ZK_NTT_TILE_LOG 10
#define ZK_NTT_THREADS 256
// Scale factors: hi[i >> ZK_NTT_SCALE_LO_BITS] * lo[i & (2^bits - 1)].
#define ZK_NTT_SCALE_LO_BITS 10

// What to multiply each element by (ntt.rs's Scale).
#define ZK_NTT_SCALE_NONE 0u
#define ZK_NTT_SCALE_CONST 1u   // by hi[0]
#define ZK_NTT_SCALE_POWERS 2u  // by hi[i >> 10] * lo[i & 1023]

// The low `bits` bits of x reversed (1 <= bits <= 32).
ZK_DEV u32 ntt_rev(u32 x, u32 bits) {
#if defined(__CUDA_ARCH__)
    return __brev(x) >> (32 - bits);
#else
    u32 r = 0;
    for (u32 b = 0; b < bits; b++) {
        r = (r << 1) | (x & 1);
        x >>= 1;
    }
    return r;
#endif
}

// Fr loads and stores as two 16-byte accesses on the device (buffers from
// cuMemAlloc are 256-byte aligned and an Fr is 32 bytes).
struct alignas(16) NttWords {
    u32 w[4];
};

ZK_DEV Fr ntt_load(const Fr* p, u32 i) {
#if defined(__CUDA_ARCH__)
    const NttWords* q = reinterpret_cast<const NttWords*>(p + i);
    NttWords lo = q[0], hi = q[1];
    Fr r;
    for (int j = 0; j < 4; j++) {
        r.v[j] = lo.w[j];
        r.v[4 + j] = hi.w[j];
    }
    return r;
#else
    return p[i];
#endif
}

ZK_DEV void ntt_store(Fr* p, u32 i, const Fr& x) {
#if defined(__CUDA_ARCH__)
    NttWords lo, hi;
    for (int j = 0; j < 4; j++) {
        lo.w[j] = x.v[j];
        hi.w[j] = x.v[4 + j];
    }
    NttWords* q = reinterpret_cast<NttWords*>(p + i);
    q[0] = lo;
    q[1] = hi;
#else
    p[i] = x;
#endif
}

// x times the scale factor of index i.
ZK_DEV Fr ntt_scaled(const Fr& x, u32 mode, const Fr* lo, const Fr* hi, u32 i) {
    if (mode == ZK_NTT_SCALE_CONST) return mul(x, ntt_load(hi, 0));
    if (mode == ZK_NTT_SCALE_POWERS) {
        Fr f = mul(ntt_load(hi, i >> ZK_NTT_SCALE_LO_BITS),
                   ntt_load(lo, i & ((1u << ZK_NTT_SCALE_LO_BITS) - 1)));
        return mul(x, f);
    }
    return x;
}

// 1. Bit reversal of a[0 .. 2^log_n) in place, each value scaled by the factor
// of its index before it moves. Thread i for i < 2^log_n.
ZK_DEV void ntt_bitrev(Fr* a, u32 log_n, u32 mode, const Fr* lo, const Fr* hi, u32 i) {
    if (i >= (1u << log_n)) return;
    u32 j = ntt_rev(i, log_n);
    if (i > j) return;  // the pair belongs to thread j
    Fr x = ntt_scaled(ntt_load(a, i), mode, lo, hi, i);
    if (i == j) {
        if (mode != ZK_NTT_SCALE_NONE) ntt_store(a, i, x);
        return;
    }
    Fr y = ntt_scaled(ntt_load(a, j), mode, lo, hi, j);
    ntt_store(a, i, y);
    ntt_store(a, j, x);
}

// 2. One pass: stages s0 .. s0+k-1 over tiles of 2^log_c columns.
struct NttPass {
    Fr* a;
    const Fr* tw;  // w^t for t < 2^(log_n - 1)
    u32 log_n, s0, k, log_c;
    u32 inverse;  // use w^-1
    u32 mode;     // scale on the way out (ZK_NTT_SCALE_*)
    const Fr* lo;
    const Fr* hi;
};

ZK_DEV u32 ntt_tile_len(const NttPass& p) {
    return 1u << (p.k + p.log_c);
}

// Element e of tile b: its slot in shared memory (row r, column c at
// r * 2^log_c + c) and its index in a. The order of e is chosen so that
// consecutive e are consecutive addresses as far as the tile allows.
ZK_DEV void ntt_tile_element(const NttPass& p, u32 b, u32 e, u32* slot, u32* index) {
    u32 low_mask = (1u << p.s0) - 1;
    u32 r, c;
    if (p.s0 >= p.log_c) {
        // Runs of 2^log_c consecutive lows, one run per row.
        c = e & ((1u << p.log_c) - 1);
        r = e >> p.log_c;
    } else {
        // The tile is the contiguous range [b * len, (b + 1) * len).
        u32 i = (b << (p.k + p.log_c)) + e;
        r = (i >> p.s0) & ((1u << p.k) - 1);
        u32 q = ((i >> (p.s0 + p.k)) << p.s0) | (i & low_mask);
        c = q - (b << p.log_c);
    }
    u32 q = (b << p.log_c) + c;
    *index = ((q >> p.s0) << (p.s0 + p.k)) | (r << p.s0) | (q & low_mask);
    *slot = (r << p.log_c) | c;
}

// Butterfly f (of 2^(k-1+log_c)) at local stage s: its two slots and the
// exponent t of its twiddle w^t (before the inverse's reflection).
ZK_DEV void ntt_butterfly(const NttPass& p, u32 b, u32 s, u32 f, u32* slot0, u32* slot1, u32* t) {
    u32 c = f & ((1u << p.log_c) - 1);
    u32 rr = f >> p.log_c;
    u32 below = (1u << s) - 1;
    u32 r0 = ((rr >> s) << (s + 1)) | (rr & below);  // bit s of r0 is clear
    *slot0 = (r0 << p.log_c) | c;
    *slot1 = *slot0 + (1u << (s + p.log_c));
    u32 q = (b << p.log_c) + c;
    // The pair's place in its group at global stage S = s0 + s: j < 2^S, and
    // its twiddle is w_{2^(S+1)}^j = w^(j * 2^(log_n - 1 - S)).
    u32 j = ((r0 & below) << p.s0) | (q & ((1u << p.s0) - 1));
    *t = j << (p.log_n - 1 - p.s0 - s);
}

// Shared memory holds the tile limb-major (sh[w * len + slot]) so that
// consecutive slots fall in consecutive banks.
ZK_DEV Fr ntt_sh_get(const u32* sh, u32 len, u32 slot) {
    Fr x;
    for (int w = 0; w < 8; w++) x.v[w] = sh[w * len + slot];
    return x;
}

ZK_DEV void ntt_sh_put(u32* sh, u32 len, u32 slot, const Fr& x) {
    for (int w = 0; w < 8; w++) sh[w * len + slot] = x.v[w];
}

// Phase 1 of a block: thread `tid` of `threads` copies its share of tile b in.
ZK_DEV void ntt_pass_load(const NttPass& p, u32* sh, u32 b, u32 tid, u32 threads) {
    u32 len = ntt_tile_len(p);
    for (u32 e = tid; e < len; e += threads) {
        u32 slot, index;
        ntt_tile_element(p, b, e, &slot, &index);
        ntt_sh_put(sh, len, slot, ntt_load(p.a, index));
    }
}

// Phase 2 (once per local stage s < k): the thread's butterflies.
ZK_DEV void ntt_pass_stage(const NttPass& p, u32* sh, u32 b, u32 s, u32 tid, u32 threads) {
    u32 len = ntt_tile_len(p);
    u32 half_n = 1u << (p.log_n - 1);
    for (u32 f = tid; f < len / 2; f += threads) {
        u32 slot0, slot1, t;
        ntt_butterfly(p, b, s, f, &slot0, &slot1, &t);
        Fr u = ntt_sh_get(sh, len, slot0);
        Fr v = ntt_sh_get(sh, len, slot1);
        Fr x, y;
        if (t == 0) {
            x = add(u, v);
            y = sub(u, v);
        } else if (!p.inverse) {
            Fr m = mul(v, ntt_load(p.tw, t));
            x = add(u, m);
            y = sub(u, m);
        } else {
            // w^-t = -w^(n/2 - t): u + w^-t v = u - m, u - w^-t v = u + m.
            Fr m = mul(v, ntt_load(p.tw, half_n - t));
            x = sub(u, m);
            y = add(u, m);
        }
        ntt_sh_put(sh, len, slot0, x);
        ntt_sh_put(sh, len, slot1, y);
    }
}

// Phase 3: the thread's share written back, scaled if asked.
ZK_DEV void ntt_pass_store(const NttPass& p, const u32* sh, u32 b, u32 tid, u32 threads) {
    u32 len = ntt_tile_len(p);
    for (u32 e = tid; e < len; e += threads) {
        u32 slot, index;
        ntt_tile_element(p, b, e, &slot, &index);
        Fr x = ntt_sh_get(sh, len, slot);
        ntt_store(p.a, index, ntt_scaled(x, p.mode, p.lo, p.hi, index));
    }
}

// A whole block of a pass on the device (sh holds 8 * 2^(k + log_c) words).
ZK_DEV void ntt_pass_block(const NttPass& p, u32* sh, u32 b, u32 tid, u32 threads) {
    ntt_pass_load(p, sh, b, tid, threads);
    __syncthreads();
    for (u32 s = 0; s < p.k; s++) {
        ntt_pass_stage(p, sh, b, s, tid, threads);
        __syncthreads();
    }
    ntt_pass_store(p, sh, b, tid, threads);
}
