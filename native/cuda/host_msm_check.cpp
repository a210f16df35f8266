// Runs the MSM kernels of msm.cuh on the host (through host_shim.h), in the
// order native/src/cuda/msm.rs launches them, and compares each result with a
// plain double-and-add sum. Checks the kernels' logic without a GPU; built and
// run by `cargo test` (cuda::tests). Prints one line per case, ending in 1.
#include <cstdio>
#include <cstring>
#include <vector>
#include "host_shim.h"
#include "bn254.cuh"
#include "msm.cuh"

typedef std::vector<u32> V;

static u64 rng_state = 0x9e3779b97f4a7c15ull;
static u32 rnd() {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (u32)(rng_state >> 16);
}

template <class K>
static void launch(u32 threads, K kernel) {
    for (u32 i = 0; i < threads; i++) {
        blockIdx.x = i;
        kernel();
    }
}

static V scan(const V& in) {  // exclusive
    V out(in.size());
    u32 acc = 0;
    for (size_t i = 0; i < in.size(); i++) {
        out[i] = acc;
        acc += in[i];
    }
    return out;
}

static bool same(const Xyzz<Fq>& a, const Xyzz<Fq>& b) {
    if (is_identity(a) || is_identity(b)) return is_identity(a) && is_identity(b);
    return eq(mul(a.x, b.zz), mul(b.x, a.zz)) && eq(mul(a.y, b.zzz), mul(b.y, a.zzz));
}

static Xyzz<Fq> msm_kernels(const std::vector<Affine<Fq> >& bases, const std::vector<Fr>& scalars, u32 c,
                            u32 segment, u32 L) {
    u32 n = bases.size(), windows = (254 + c - 1) / c, buckets = 1u << (c - 1), stride = buckets + 1;
    u32 m = windows * stride;
    V keys((size_t)windows * n), vals((size_t)windows * n), counts(m + 1, 0);
    launch(n, [&] { msm_digits<FrParams>(scalars.data(), n, c, windows, keys.data(), vals.data(), counts.data()); });
    V offsets = scan(counts), cursor = offsets;
    V sorted(offsets[m]);
    launch(windows * n, [&] { msm_scatter(keys.data(), vals.data(), n, windows, stride, cursor.data(), sorted.data()); });
    V level_counts = counts, level_offsets = offsets;
    u32 level_len = offsets[m];
    std::vector<Xyzz<Fq> > sums;
    bool first = true;
    for (;;) {
        V ntask(m + 1, 0);
        launch(m, [&] { task_counts(level_counts.data(), m, L, ntask.data()); });
        V task_offsets = scan(ntask);
        u32 tasks = task_offsets[m];
        if (tasks == level_len && !first) break;
        V task_begin(tasks + 1);
        launch(m, [&] { emit_tasks(level_counts.data(), level_offsets.data(), task_offsets.data(), m, L, task_begin.data()); });
        task_begin[tasks] = level_len;
        std::vector<Xyzz<Fq> > out(tasks);
        if (first)
            launch(tasks, [&] { sum_affine_tasks<Fq>(bases.data(), sorted.data(), task_begin.data(), tasks, out.data()); });
        else
            launch(tasks, [&] { sum_xyzz_tasks<Fq>(sums.data(), task_begin.data(), tasks, out.data()); });
        sums = out;
        first = false;
        level_counts = ntask;
        level_offsets = task_offsets;
        level_len = tasks;
    }
    u32 segments = buckets / segment;
    std::vector<Xyzz<Fq> > partial(windows * segments);
    launch(windows * segments, [&] {
        reduce_segments<Fq>(sums.data(), level_counts.data(), level_offsets.data(), stride, windows, segment, partial.data());
    });
    u32 per_group = segments;
    while (per_group > 1) {
        u32 next = (per_group + 7) / 8;
        std::vector<Xyzz<Fq> > out(windows * next);
        launch(windows * next, [&] { sum_runs<Fq>(partial.data(), windows, per_group, 8, out.data()); });
        partial = out;
        per_group = next;
    }
    Xyzz<Fq> acc = xyzz_identity<Fq>();
    for (int w = windows - 1; w >= 0; w--) {
        for (u32 i = 0; i < c; i++) acc = xyzz_dbl(acc);
        acc = xyzz_add(acc, partial[w]);
    }
    return acc;
}

static Xyzz<Fq> naive(const std::vector<Affine<Fq> >& bases, const std::vector<Fr>& scalars) {
    Xyzz<Fq> total = xyzz_identity<Fq>();
    for (size_t i = 0; i < bases.size(); i++) {
        if (is_identity(bases[i])) continue;
        Fr k = from_montgomery(scalars[i]);
        Xyzz<Fq> acc = xyzz_identity<Fq>();
        for (int b = 255; b >= 0; b--) {
            acc = xyzz_dbl(acc);
            if ((k.v[b / 32] >> (b % 32)) & 1) acc = xyzz_madd(acc, bases[i]);
        }
        total = xyzz_add(total, acc);
    }
    return total;
}

static Affine<Fq> to_affine(const Xyzz<Fq>& p) {
    // x = X / ZZ, y = Y / ZZZ via Fermat inverses (slow, fine for a few hundred points).
    auto inv = [](Fq a) {
        const u32 e[8] = {0xd87cfd45u, 0x3c208c16u, 0x6871ca8du, 0x97816a91u, 0x8181585du, 0xb85045b6u, 0xe131a029u, 0x30644e72u};
        Fq r = fp_one<FqParams>();
        for (int b = 255; b >= 0; b--) {
            r = sqr(r);
            if ((e[b / 32] >> (b % 32)) & 1) r = mul(r, a);
        }
        return r;
    };
    Affine<Fq> a = {mul(p.x, inv(p.zz)), mul(p.y, inv(p.zzz))};
    return a;
}

int main() {
    Fq r2;
    const u32 R2[8] = {0x538afa89, 0xf32cfc5b, 0xd44501fb, 0xb5e71911, 0x0a417ff6, 0x47ab1eff, 0xcab8351f, 0x06d89f71};
    memcpy(r2.v, R2, 32);
    Fq one_raw = fp_zero<FqParams>(), two_raw = fp_zero<FqParams>();
    one_raw.v[0] = 1;
    two_raw.v[0] = 2;
    Affine<Fq> g = {mul(one_raw, r2), mul(two_raw, r2)};
    const u32 n = 300;
    std::vector<Affine<Fq> > bases(n);
    Xyzz<Fq> p = from_affine(g);
    for (u32 i = 0; i < n; i++) {
        bases[i] = to_affine(p);
        p = xyzz_madd(xyzz_dbl(p), g);  // distinct points: 3G, 7G, ...
    }
    // Edge points: the identity, a repeat, a negation.
    for (int j = 0; j < 8; j++) bases[0].x.v[j] = 0xffffffffu;
    bases[2] = bases[1];
    bases[3] = bases[1];
    bases[3].y = neg(bases[3].y);
    const char* profiles[] = {"random", "small", "edge", "one-bucket"};
    for (int prof = 0; prof < 4; prof++) {
        std::vector<Fr> s(n);
        for (u32 i = 0; i < n; i++) {
            Fr v = fp_zero<FrParams>();
            if (prof == 0 || (prof == 2 && i % 4 == 3)) {
                for (int j = 0; j < 8; j++) v.v[j] = rnd();
                v.v[7] &= 0x1fffffff;  // below r
            } else if (prof == 1) {
                v.v[0] = rnd() % 5 == 0 ? rnd() & 0xffff : rnd() & 1;
            } else if (prof == 2) {
                v.v[0] = i % 4;  // 0, 1, 2
                if (i % 4 == 2) v = neg(fp_one<FrParams>());  // r - 1 in Montgomery form is -1
            } else {
                v.v[0] = 3;
            }
            s[i] = v;  // any value below r is a valid Montgomery representation
        }
        Xyzz<Fq> want = naive(bases, s);
        const u32 shapes[][3] = {{8, 4, 32}, {5, 1, 4}, {12, 64, 8}};
        for (auto& sh : shapes) {
            Xyzz<Fq> got = msm_kernels(bases, s, sh[0], sh[1], sh[2]);
            printf("%s c=%u segment=%u L=%u: %d\n", profiles[prof], sh[0], sh[1], sh[2], same(got, want));
        }
    }
}
