// Shared definitions for zkml's CUDA sources.
//
// The kernels are compiled at run time by NVRTC, which has no standard
// headers, so the integer types are spelled out here. The same headers also
// compile as plain C++ on the host (no __CUDACC__): the field and curve code
// then takes its portable path, which is how the arithmetic is checked on a
// machine without a GPU.
#pragma once

typedef unsigned int u32;
typedef unsigned long long u64;
typedef int i32;

#if defined(__CUDACC__)
#define ZK_DEV __device__ __forceinline__
#define ZK_HD __host__ __device__ __forceinline__
#else
#define ZK_DEV inline
#define ZK_HD inline
#endif

// The PTX carry chains are used on the device unless ZKML_PORTABLE_ARITH is
// defined (a debugging switch: the portable path is the reference).
#if defined(__CUDA_ARCH__) && !defined(ZKML_PORTABLE_ARITH)
#define ZK_PTX 1
#else
#define ZK_PTX 0
#endif
