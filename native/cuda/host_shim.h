// Lets the kernels of msm.cuh run on the host, one thread at a time, for
// host_msm_check.cpp: thread indices are globals the harness sets, every
// thread is alone in its warp (so warp votes and shuffles return its own
// values), and atomics are plain read-modify-writes. The block scan is not
// emulated: the harness scans on the host.
#pragma once
#ifndef __CUDACC__
struct ShimDim3 {
    unsigned x, y, z;
};
static ShimDim3 blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0}, blockDim = {1, 1, 1};
#define __device__
#define __global__
#define __shared__ static
#define __launch_bounds__(x)
static inline void __syncthreads() {}
static inline unsigned __match_any_sync(unsigned, unsigned) { return 1u << (threadIdx.x & 31); }
static inline unsigned __shfl_sync(unsigned, unsigned v, int) { return v; }
static inline int __ffs(unsigned x) { return __builtin_ffs(x); }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline unsigned atomicAdd(unsigned* p, unsigned v) {
    unsigned old = *p;
    *p += v;
    return old;
}
static inline unsigned atomicMin(unsigned* p, unsigned v) {
    unsigned old = *p;
    if (v < old) *p = v;
    return old;
}
static inline unsigned __shfl_up_sync(unsigned, unsigned, int) {
    // scan_block is not run on the host.
    __builtin_trap();
}
#endif
