// BN254: the field constants and the kernels zkml launches, instantiated from
// the templates in field.cuh, ec.cuh, msm.cuh and ntt.cuh. Limbs are little-endian u32.
#include "bn254.cuh"
#include "msm.cuh"
#include "ntt.cuh"

// ---------------------------------------------------------------------------
// Curve-independent kernels

extern "C" __global__ void zk_msm_digits(const Fr* scalars, u32 n, u32 c, u32 windows, u32* keys,
                                         u32* vals, u32* counts) {
    msm_digits<FrParams>(scalars, n, c, windows, keys, vals, counts);
}

extern "C" __global__ void zk_msm_scatter(const u32* keys, const u32* vals, u32 n, u32 windows,
                                          u32 stride, u32* cursor, u32* sorted) {
    msm_scatter(keys, vals, n, windows, stride, cursor, sorted);
}

extern "C" __global__ void __launch_bounds__(ZK_SCAN_THREADS)
    zk_scan_block(const u32* in, u32* out, u32 len, u32* sums) {
    scan_block(in, out, len, sums);
}

extern "C" __global__ void zk_scan_add(u32* out, u32 len, const u32* sums) {
    scan_add(out, len, sums);
}

extern "C" __global__ void zk_task_counts(const u32* counts, u32 m, u32 L, u32* ntask) {
    task_counts(counts, m, L, ntask);
}

extern "C" __global__ void zk_emit_tasks(const u32* counts, const u32* offsets,
                                         const u32* task_offsets, u32 m, u32 L, u32* task_begin) {
    emit_tasks(counts, offsets, task_offsets, m, L, task_begin);
}

// ---------------------------------------------------------------------------
// Per-group kernels: g1_* over Fq, g2_* over Fq2.

#define ZK_GROUP_KERNELS(G, F)                                                                   \
    extern "C" __global__ void zk_##G##_sum_affine_tasks(const Affine<F>* bases, const u32* sorted, \
                                                         const u32* task_begin, u32 ntasks,       \
                                                         Xyzz<F>* out) {                          \
        sum_affine_tasks<F>(bases, sorted, task_begin, ntasks, out);                             \
    }                                                                                            \
    extern "C" __global__ void zk_##G##_sum_xyzz_tasks(const Xyzz<F>* in, const u32* task_begin,  \
                                                       u32 ntasks, Xyzz<F>* out) {                \
        sum_xyzz_tasks<F>(in, task_begin, ntasks, out);                                          \
    }                                                                                            \
    extern "C" __global__ void zk_##G##_reduce_segments(const Xyzz<F>* sums, const u32* counts,   \
                                                        const u32* offsets, u32 stride,           \
                                                        u32 windows, u32 seg, Xyzz<F>* out) {     \
        reduce_segments<F>(sums, counts, offsets, stride, windows, seg, out);                    \
    }                                                                                            \
    extern "C" __global__ void zk_##G##_sum_runs(const Xyzz<F>* in, u32 groups, u32 per_group,    \
                                                 u32 k, Xyzz<F>* out) {                           \
        sum_runs<F>(in, groups, per_group, k, out);                                              \
    }                                                                                            \
    /* Self-check: out[i] = a[i] + b[i] and 2 a[i] through every formula path. */               \
    extern "C" __global__ void zk_##G##_check_add(const Affine<F>* a, const Affine<F>* b, u32 n,  \
                                                  Xyzz<F>* sum_madd, Xyzz<F>* sum_add,           \
                                                  Xyzz<F>* doubled) {                            \
        u32 i = global_id();                                                                     \
        if (i >= n) return;                                                                      \
        Xyzz<F> pa = from_affine(a[i]);                                                          \
        sum_madd[i] = xyzz_madd(pa, b[i]);                                                       \
        sum_add[i] = xyzz_add(pa, from_affine(b[i]));                                            \
        doubled[i] = xyzz_dbl(pa);                                                               \
    }

ZK_GROUP_KERNELS(g1, Fq)
ZK_GROUP_KERNELS(g2, Fq2)

// Self-check of the field arithmetic: out = (a*b, a+b, a-b) in Fq, and the
// canonical form of Montgomery scalars in Fr.
extern "C" __global__ void zk_check_fq(const Fq* a, const Fq* b, u32 n, Fq* prod, Fq* sum,
                                       Fq* diff) {
    u32 i = global_id();
    if (i >= n) return;
    prod[i] = mul(a[i], b[i]);
    sum[i] = add(a[i], b[i]);
    diff[i] = sub(a[i], b[i]);
}

extern "C" __global__ void zk_check_fr_canonical(const Fr* a, u32 n, Fr* out) {
    u32 i = global_id();
    if (i < n) out[i] = from_montgomery(a[i]);
}

// ---------------------------------------------------------------------------
// NTT over Fr (ntt.cuh; launched by native/src/cuda/ntt.rs).

extern "C" __global__ void zk_ntt_bitrev(Fr* a, u32 log_n, u32 mode, const Fr* lo, const Fr* hi) {
    ntt_bitrev(a, log_n, mode, lo, hi, global_id());
}

extern "C" __global__ void __launch_bounds__(ZK_NTT_THREADS)
    zk_ntt_pass(Fr* a, const Fr* tw, u32 log_n, u32 s0, u32 k, u32 log_c, u32 inverse, u32 mode,
                const Fr* lo, const Fr* hi) {
    __shared__ u32 sh[8u << ZK_NTT_TILE_LOG];
    NttPass p = {a, tw, log_n, s0, k, log_c, inverse, mode, lo, hi};
    ntt_pass_block(p, sh, blockIdx.x, threadIdx.x, blockDim.x);
}

// ---------------------------------------------------------------------------
// The Groth16 quotient's pointwise step on the odd coset (native/src/cuda/qap.rs):
// a[i] = a[i] * b[i] - c[i], the values of A·B − C that the H MSM takes.
extern "C" __global__ void zk_qap_combine(Fr* a, const Fr* b, const Fr* c, u32 n) {
    u32 i = global_id();
    if (i < n) a[i] = sub(mul(a[i], b[i]), c[i]);
}

// One QAP row evaluation vector on the device: out[i] = <row i of M, z> for
// the m constraint rows (M in compressed-row form, values in Montgomery
// form), then z[0..instance) (the instance rows: A only), then zeros up to n.
extern "C" __global__ void zk_qap_rows(const u32* row_start, const u32* cols, const Fr* vals, const Fr* z, u32 m,
                                       u32 instance, u32 n, Fr* out) {
    u32 i = global_id();
    if (i >= n) return;
    Fr acc = fp_zero<FrParams>();
    if (i < m) {
        u32 end = row_start[i + 1];
        for (u32 k = row_start[i]; k < end; k++) acc = add(acc, mul(vals[k], z[cols[k]]));
    } else if (i - m < instance) {
        acc = z[i - m];
    }
    out[i] = acc;
}

// The satisfaction check: *first = min(*first, i) for every row i < m with
// a[i] * b[i] != c[i] (all values fully reduced, so equal means equal limbs).
extern "C" __global__ void zk_qap_check(const Fr* a, const Fr* b, const Fr* c, u32 m, u32* first) {
    u32 i = global_id();
    if (i >= m) return;
    Fr ab = mul(a[i], b[i]);
    bool same = true;
    for (int w = 0; w < 8; w++) same = same && ab.v[w] == c[i].v[w];
    if (!same) atomicMin(first, i);
}
