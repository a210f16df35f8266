// Runs the NTT kernels of ntt.cuh on the host (through host_shim.h), launch by
// launch as native/src/cuda/ntt.rs plans them, on vectors written by the Rust
// test (cuda::tests): inputs, the CPU Domain's outputs, the plan's twiddle and
// scale tables and its launches. A block's threads run phase by phase (load,
// each stage, store), so the barriers fall between phases as on the GPU.
//
// Besides the outputs, it checks what sequential execution would hide: that
// the blocks of a pass cover every index exactly once (no two blocks touch the
// same element) and that the butterflies of a stage cover every slot of the
// tile exactly once (no two threads touch the same slot). For n <= 64 the
// outputs are also compared with a naive O(n^2) DFT built from the same
// tables. Prints one line per check, ending in 1.
//
// Usage: host_ntt_check <vectors file>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "host_shim.h"
#include "bn254.cuh"
#include "ntt.cuh"

typedef std::vector<Fr> V;

static FILE* in;

static void expect_word(const char* word) {
    char got[64];
    if (fscanf(in, " %63s", got) != 1 || strcmp(got, word) != 0) {
        fprintf(stderr, "vectors file: expected '%s', found '%s'\n", word, got);
        exit(2);
    }
}

static u32 read_u32() {
    unsigned v;
    if (fscanf(in, " %u", &v) != 1) {
        fprintf(stderr, "vectors file: expected a number\n");
        exit(2);
    }
    return v;
}

// "<name> <count>" then count * 8 hex words.
static V read_fr(const char* name) {
    expect_word(name);
    u32 n = read_u32();
    V out(n);
    for (u32 i = 0; i < n; i++)
        for (int w = 0; w < 8; w++) {
            unsigned x;
            if (fscanf(in, " %x", &x) != 1) {
                fprintf(stderr, "vectors file: short %s\n", name);
                exit(2);
            }
            out[i].v[w] = x;
        }
    return out;
}

struct Step {
    bool bitrev;
    u32 s0, k, log_c, tiles, block, mode;
};

static bool same(const V& a, const V& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++)
        if (!eq(a[i], b[i])) return false;
    return true;
}

// w^t for any t, from the table of w^t for t < n/2 and w^(n/2) = -1.
static Fr power(const V& tw, u32 n, u64 t) {
    t %= n;
    if (n == 2) return t == 0 ? tw[0] : neg(tw[0]);
    return t < n / 2 ? tw[t] : neg(tw[t - n / 2]);
}

static Fr factor(u32 mode, const V& lo, const V& hi, u32 i) {
    return ntt_scaled(fp_one<FrParams>(), mode, lo.data(), hi.data(), i);
}

int main(int argc, char** argv) {
    if (argc != 2 || !(in = fopen(argv[1], "r"))) {
        fprintf(stderr, "usage: host_ntt_check <vectors file>\n");
        return 2;
    }
    expect_word("cases");
    u32 cases = read_u32();
    for (u32 c = 0; c < cases; c++) {
        char label[128];
        expect_word("case");
        if (fscanf(in, " %127s", label) != 1) return 2;
        u32 log_n = read_u32(), inverse = read_u32();
        u32 n = 1u << log_n;
        V lo = read_fr("lo"), hi = read_fr("hi"), tw = read_fr("tw");
        expect_word("steps");
        std::vector<Step> steps(read_u32());
        for (Step& s : steps) {
            char kind[8];
            if (fscanf(in, " %7s", kind) != 1) return 2;
            s.bitrev = kind[0] == 'B';
            if (s.bitrev) {
                s.mode = read_u32();
            } else {
                s.s0 = read_u32();
                s.k = read_u32();
                s.log_c = read_u32();
                s.tiles = read_u32();
                s.block = read_u32();
                s.mode = read_u32();
            }
        }
        V input = read_fr("input"), want = read_fr("expect");
        if (input.size() != n || want.size() != n || tw.size() != (n / 2 ? n / 2 : 1)) {
            fprintf(stderr, "%s: sizes do not match\n", label);
            return 2;
        }

        V a = input;
        bool covered = true;
        u32 first_mode = 0, last_mode = 0;
        for (const Step& s : steps) {
            if (s.bitrev) {
                first_mode = s.mode;
                for (u32 i = 0; i < n; i++) ntt_bitrev(a.data(), log_n, s.mode, lo.data(), hi.data(), i);
                continue;
            }
            last_mode = s.mode;
            NttPass p = {a.data(), tw.data(), log_n, s.s0, s.k, s.log_c, inverse, s.mode, lo.data(), hi.data()};
            u32 len = ntt_tile_len(p);
            std::vector<u32> sh(8 * len), seen(n, 0);
            for (u32 b = 0; b < s.tiles; b++) {
                // Coverage: the tile's elements, and each stage's butterflies.
                std::vector<u32> slots(len, 0);
                for (u32 e = 0; e < len; e++) {
                    u32 slot, index;
                    ntt_tile_element(p, b, e, &slot, &index);
                    if (slot >= len || index >= n) {
                        covered = false;
                        continue;
                    }
                    slots[slot]++;
                    seen[index]++;
                }
                for (u32 x : slots) covered &= x == 1;
                for (u32 st = 0; st < s.k; st++) {
                    std::vector<u32> touched(len, 0);
                    for (u32 f = 0; f < len / 2; f++) {
                        u32 s0, s1, t;
                        ntt_butterfly(p, b, st, f, &s0, &s1, &t);
                        if (s0 >= len || s1 >= len || t >= (n / 2 ? n / 2 : 1)) {
                            covered = false;
                            continue;
                        }
                        touched[s0]++;
                        touched[s1]++;
                    }
                    for (u32 x : touched) covered &= x == 1;
                }
                // The block, phase by phase.
                for (u32 t = 0; t < s.block; t++) ntt_pass_load(p, sh.data(), b, t, s.block);
                for (u32 st = 0; st < s.k; st++)
                    for (u32 t = 0; t < s.block; t++) ntt_pass_stage(p, sh.data(), b, st, t, s.block);
                for (u32 t = 0; t < s.block; t++) ntt_pass_store(p, sh.data(), b, t, s.block);
            }
            for (u32 x : seen) covered &= x == 1;
        }
        printf("%s coverage: %d\n", label, covered);
        printf("%s: %d\n", label, same(a, want));

        if (n <= 64) {
            // Naive: scale the input, sum_j x_j w^(+-ij), scale the output.
            V x(n), naive(n);
            for (u32 j = 0; j < n; j++) x[j] = mul(input[j], factor(first_mode, lo, hi, j));
            for (u32 i = 0; i < n; i++) {
                Fr acc = fp_zero<FrParams>();
                for (u32 j = 0; j < n; j++) {
                    u64 t = (u64)i * j % n;
                    if (inverse) t = (n - t) % n;
                    acc = add(acc, mul(x[j], power(tw, n, t)));
                }
                naive[i] = mul(acc, factor(last_mode, lo, hi, i));
            }
            printf("%s naive dft: %d\n", label, same(naive, want));
        }
    }
    fclose(in);
}
