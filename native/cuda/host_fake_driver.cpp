// A stand-in for the CUDA driver (libcuda.so.1) that runs zkml's kernels on
// the CPU, so the Rust host side of the CUDA backend (plans, buffers, launch
// arguments, transfers, self-checks) can be exercised without a GPU:
//
//     c++ -O2 -std=c++17 -shared -fPIC -I native/cuda native/cuda/host_fake_driver.cpp -o libfakecuda.so
//     ZKML_CUDA_DRIVER=$PWD/libfakecuda.so cargo test --release -- --ignored fake_driver
//
// Device memory is host memory; a launch runs the kernels of bn254.cu (compiled
// here as host C++ through host_shim.h) one thread at a time. The two kernels
// with barriers and warp shuffles are emulated: zk_ntt_pass runs its block's
// threads phase by phase (load, each stage, store: the barriers fall between
// phases), and zk_scan_block scans each block's tile sequentially. Launches
// check what a GPU would refuse: more threads per block than the kernel's
// launch bounds, or an NTT tile larger than its shared memory. The module
// image NVRTC compiled is accepted and ignored. Reports itself as "zkml host
// fake GPU", compute capability 9.0, 4 multiprocessors, 8 GiB.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "host_shim.h"
#include "bn254.cu"

typedef int CUresult;
enum {
    OK = 0,
    ERR_INVALID_VALUE = 1,
    ERR_OUT_OF_MEMORY = 2,
    ERR_NOT_FOUND = 500,
    ERR_LAUNCH_OUT_OF_RESOURCES = 701,
};

static const size_t TOTAL_MEMORY = (size_t)8 << 30;
static size_t used_memory = 0;

template <class T>
static T arg(void** params, int i) {
    T v;
    memcpy(&v, params[i], sizeof(T));
    return v;
}

template <class T>
static T* ptr(void** params, int i) {
    return reinterpret_cast<T*>((uintptr_t)arg<unsigned long long>(params, i));
}

// Every thread of the grid, one at a time, with the shim's indices set.
template <class K>
static void each_thread(unsigned grid, unsigned block, K kernel) {
    blockDim.x = block;
    for (unsigned b = 0; b < grid; b++) {
        blockIdx.x = b;
        for (unsigned t = 0; t < block; t++) {
            threadIdx.x = t;
            kernel();
        }
    }
}

typedef CUresult (*Launcher)(unsigned grid, unsigned block, void** p);

struct Function {
    const char* name;
    unsigned max_block;  // the kernel's launch bounds (1024 when none)
    Launcher run;
};

#define PER_THREAD(call) \
    [](unsigned g, unsigned b, void** p) -> CUresult { each_thread(g, b, [&] { call; }); return OK; }

#define GROUP_FUNCTIONS(G, F)                                                                         \
    {"zk_" #G "_sum_affine_tasks", 1024,                                                              \
     PER_THREAD(zk_##G##_sum_affine_tasks(ptr<const Affine<F> >(p, 0), ptr<const u32>(p, 1),          \
                                          ptr<const u32>(p, 2), arg<u32>(p, 3), ptr<Xyzz<F> >(p, 4)))}, \
    {"zk_" #G "_sum_xyzz_tasks", 1024,                                                                \
     PER_THREAD(zk_##G##_sum_xyzz_tasks(ptr<const Xyzz<F> >(p, 0), ptr<const u32>(p, 1),              \
                                        arg<u32>(p, 2), ptr<Xyzz<F> >(p, 3)))},                       \
    {"zk_" #G "_reduce_segments", 1024,                                                               \
     PER_THREAD(zk_##G##_reduce_segments(ptr<const Xyzz<F> >(p, 0), ptr<const u32>(p, 1),             \
                                         ptr<const u32>(p, 2), arg<u32>(p, 3), arg<u32>(p, 4),        \
                                         arg<u32>(p, 5), ptr<Xyzz<F> >(p, 6)))},                      \
    {"zk_" #G "_sum_runs", 1024,                                                                      \
     PER_THREAD(zk_##G##_sum_runs(ptr<const Xyzz<F> >(p, 0), arg<u32>(p, 1), arg<u32>(p, 2),          \
                                  arg<u32>(p, 3), ptr<Xyzz<F> >(p, 4)))},                             \
    {"zk_" #G "_check_add", 1024,                                                                     \
     PER_THREAD(zk_##G##_check_add(ptr<const Affine<F> >(p, 0), ptr<const Affine<F> >(p, 1),          \
                                   arg<u32>(p, 2), ptr<Xyzz<F> >(p, 3), ptr<Xyzz<F> >(p, 4),          \
                                   ptr<Xyzz<F> >(p, 5)))}

static CUresult scan_block_launch(unsigned grid, unsigned block, void** p) {
    if (block != ZK_SCAN_THREADS) return ERR_INVALID_VALUE;  // the kernel assumes it
    const u32* in = ptr<const u32>(p, 0);
    u32* out = ptr<u32>(p, 1);
    u32 len = arg<u32>(p, 2);
    u32* sums = ptr<u32>(p, 3);
    const u32 tile = ZK_SCAN_THREADS * ZK_SCAN_ITEMS;
    for (unsigned b = 0; b < grid; b++) {
        u32 acc = 0;
        for (u32 j = 0; j < tile; j++) {
            u32 i = b * tile + j;
            if (i >= len) break;
            u32 v = in[i];
            out[i] = acc;
            acc += v;
        }
        sums[b] = acc;
    }
    return OK;
}

static CUresult ntt_pass_launch(unsigned grid, unsigned block, void** p) {
    // zk_ntt_pass(a, tw, log_n, s0, k, log_c, inverse, mode, lo, hi), as bn254.cu builds it.
    NttPass pass = {ptr<Fr>(p, 0),   ptr<const Fr>(p, 1), arg<u32>(p, 2), arg<u32>(p, 3),
                    arg<u32>(p, 4),  arg<u32>(p, 5),      arg<u32>(p, 6), arg<u32>(p, 7),
                    ptr<const Fr>(p, 8), ptr<const Fr>(p, 9)};
    u32 len = ntt_tile_len(pass);
    if (len > (1u << ZK_NTT_TILE_LOG)) return ERR_LAUNCH_OUT_OF_RESOURCES;  // shared memory
    if (pass.k == 0 || pass.s0 + pass.k > pass.log_n) return ERR_INVALID_VALUE;
    std::vector<u32> sh(8 * len);
    for (unsigned b = 0; b < grid; b++) {
        for (unsigned t = 0; t < block; t++) ntt_pass_load(pass, sh.data(), b, t, block);
        for (u32 s = 0; s < pass.k; s++)
            for (unsigned t = 0; t < block; t++) ntt_pass_stage(pass, sh.data(), b, s, t, block);
        for (unsigned t = 0; t < block; t++) ntt_pass_store(pass, sh.data(), b, t, block);
    }
    return OK;
}

static const Function FUNCTIONS[] = {
    {"zk_msm_digits", 1024,
     PER_THREAD(zk_msm_digits(ptr<const Fr>(p, 0), arg<u32>(p, 1), arg<u32>(p, 2), arg<u32>(p, 3),
                              ptr<u32>(p, 4), ptr<u32>(p, 5), ptr<u32>(p, 6)))},
    {"zk_msm_scatter", 1024,
     PER_THREAD(zk_msm_scatter(ptr<const u32>(p, 0), ptr<const u32>(p, 1), arg<u32>(p, 2),
                               arg<u32>(p, 3), arg<u32>(p, 4), ptr<u32>(p, 5), ptr<u32>(p, 6)))},
    {"zk_scan_block", ZK_SCAN_THREADS, scan_block_launch},
    {"zk_scan_add", 1024, PER_THREAD(zk_scan_add(ptr<u32>(p, 0), arg<u32>(p, 1), ptr<const u32>(p, 2)))},
    {"zk_task_counts", 1024,
     PER_THREAD(zk_task_counts(ptr<const u32>(p, 0), arg<u32>(p, 1), arg<u32>(p, 2), ptr<u32>(p, 3)))},
    {"zk_emit_tasks", 1024,
     PER_THREAD(zk_emit_tasks(ptr<const u32>(p, 0), ptr<const u32>(p, 1), ptr<const u32>(p, 2),
                              arg<u32>(p, 3), arg<u32>(p, 4), ptr<u32>(p, 5)))},
    GROUP_FUNCTIONS(g1, Fq),
    GROUP_FUNCTIONS(g2, Fq2),
    {"zk_check_fq", 1024,
     PER_THREAD(zk_check_fq(ptr<const Fq>(p, 0), ptr<const Fq>(p, 1), arg<u32>(p, 2), ptr<Fq>(p, 3),
                            ptr<Fq>(p, 4), ptr<Fq>(p, 5)))},
    {"zk_check_fr_canonical", 1024,
     PER_THREAD(zk_check_fr_canonical(ptr<const Fr>(p, 0), arg<u32>(p, 1), ptr<Fr>(p, 2)))},
    {"zk_ntt_bitrev", 1024,
     PER_THREAD(zk_ntt_bitrev(ptr<Fr>(p, 0), arg<u32>(p, 1), arg<u32>(p, 2), ptr<const Fr>(p, 3),
                              ptr<const Fr>(p, 4)))},
    {"zk_ntt_pass", ZK_NTT_THREADS, ntt_pass_launch},
    {"zk_qap_rows", 1024,
     PER_THREAD(zk_qap_rows(ptr<const u32>(p, 0), ptr<const u32>(p, 1), ptr<const Fr>(p, 2), ptr<const Fr>(p, 3),
                            arg<u32>(p, 4), arg<u32>(p, 5), arg<u32>(p, 6), ptr<Fr>(p, 7)))},
    {"zk_qap_check", 1024,
     PER_THREAD(zk_qap_check(ptr<const Fr>(p, 0), ptr<const Fr>(p, 1), ptr<const Fr>(p, 2), arg<u32>(p, 3),
                             ptr<u32>(p, 4)))},
    {"zk_qap_combine", 1024,
     PER_THREAD(zk_qap_combine(ptr<Fr>(p, 0), ptr<const Fr>(p, 1), ptr<const Fr>(p, 2), arg<u32>(p, 3)))},
};

extern "C" {

CUresult cuInit(unsigned) { return OK; }
CUresult cuDeviceGetCount(int* n) {
    *n = 1;
    return OK;
}
CUresult cuDeviceGet(int* d, int ordinal) {
    if (ordinal != 0) return ERR_INVALID_VALUE;
    *d = 0;
    return OK;
}
CUresult cuDeviceGetName(char* name, int len, int) {
    snprintf(name, len, "zkml host fake GPU");
    return OK;
}
CUresult cuDeviceGetAttribute(int* v, int attr, int) {
    switch (attr) {
        case 16: *v = 4; return OK;   // multiprocessors
        case 75: *v = 9; return OK;   // capability major
        case 76: *v = 0; return OK;   // capability minor
        default: return ERR_INVALID_VALUE;
    }
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, int) {
    *bytes = TOTAL_MEMORY;
    return OK;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) {
    *ctx = (void*)0x1;
    return OK;
}
CUresult cuDevicePrimaryCtxRelease_v2(int) { return OK; }
CUresult cuCtxSetCurrent(void*) { return OK; }
CUresult cuCtxSynchronize() { return OK; }
CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
    *free_bytes = TOTAL_MEMORY - used_memory;
    *total = TOTAL_MEMORY;
    return OK;
}
CUresult cuModuleLoadData(void** module, const void*) {
    *module = (void*)0x2;
    return OK;
}
CUresult cuModuleUnload(void*) { return OK; }
CUresult cuModuleGetFunction(void** f, void*, const char* name) {
    for (const Function& fn : FUNCTIONS)
        if (strcmp(fn.name, name) == 0) {
            *f = (void*)&fn;
            return OK;
        }
    return ERR_NOT_FOUND;
}
CUresult cuMemAlloc_v2(unsigned long long* p, size_t bytes) {
    size_t rounded = (bytes + 255) / 256 * 256;
    if (used_memory + rounded + 16 > TOTAL_MEMORY) return ERR_OUT_OF_MEMORY;
    // 256-byte aligned like cudaMalloc; the size is kept in front for free.
    unsigned char* raw = (unsigned char*)aligned_alloc(256, rounded + 256);
    if (!raw) return ERR_OUT_OF_MEMORY;
    memset(raw + 256, 0xa5, rounded);  // not zero: code must not rely on that
    memcpy(raw, &rounded, sizeof rounded);
    used_memory += rounded;
    *p = (unsigned long long)(uintptr_t)(raw + 256);
    return OK;
}
CUresult cuMemFree_v2(unsigned long long p) {
    unsigned char* raw = (unsigned char*)(uintptr_t)p - 256;
    size_t rounded;
    memcpy(&rounded, raw, sizeof rounded);
    used_memory -= rounded;
    free(raw);
    return OK;
}
CUresult cuMemcpyHtoD_v2(unsigned long long dst, const void* src, size_t n) {
    memcpy((void*)(uintptr_t)dst, src, n);
    return OK;
}
CUresult cuMemcpyDtoH_v2(void* dst, unsigned long long src, size_t n) {
    memcpy(dst, (const void*)(uintptr_t)src, n);
    return OK;
}
CUresult cuMemcpyDtoD_v2(unsigned long long dst, unsigned long long src, size_t n) {
    memmove((void*)(uintptr_t)dst, (const void*)(uintptr_t)src, n);
    return OK;
}
CUresult cuMemsetD32_v2(unsigned long long dst, unsigned v, size_t n) {
    u32* d = (u32*)(uintptr_t)dst;
    for (size_t i = 0; i < n; i++) d[i] = v;
    return OK;
}
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned shared, void*, void** params, void** extra) {
    const Function* fn = (const Function*)f;
    if (gy != 1 || gz != 1 || by != 1 || bz != 1 || shared != 0 || extra) return ERR_INVALID_VALUE;
    if (bx == 0 || bx > fn->max_block || gx == 0) return ERR_INVALID_VALUE;
    return fn->run(gx, bx, params);
}
CUresult cuGetErrorName(CUresult code, const char** name) {
    switch (code) {
        case ERR_INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; break;
        case ERR_OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; break;
        case ERR_NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; break;
        case ERR_LAUNCH_OUT_OF_RESOURCES: *name = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; break;
        default: *name = "CUDA_ERROR_UNKNOWN";
    }
    return OK;
}

}  // extern "C"
