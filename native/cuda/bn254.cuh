// BN254's fields: constants for field.cuh (little-endian u32 limbs), the
// coordinate types of G1 (Fq) and G2 (Fq2), and their 0 and 1.
#pragma once
#include "ec.cuh"

#define ZK_LIMB(i, a0, a1, a2, a3, a4, a5, a6, a7)                                            \
    ((i) == 0 ? a0 : (i) == 1 ? a1 : (i) == 2 ? a2 : (i) == 3 ? a3 : (i) == 4 ? a4 : (i) == 5 ? a5 \
     : (i) == 6 ? a6 : a7)

// Base field q.
struct FqParams {
    static const u32 INV = 0xe4866389u;  // -q^-1 mod 2^32
    ZK_HD static constexpr u32 mod(int i) {
        return ZK_LIMB(i, 0xd87cfd47u, 0x3c208c16u, 0x6871ca8du, 0x97816a91u, 0x8181585du,
                       0xb85045b6u, 0xe131a029u, 0x30644e72u);
    }
    ZK_HD static constexpr u32 one(int i) {  // 2^256 mod q
        return ZK_LIMB(i, 0xc58f0d9du, 0xd35d438du, 0xf5c70b3du, 0x0a78eb28u, 0x7879462cu,
                       0x666ea36fu, 0x9a07df2fu, 0x0e0a77c1u);
    }
};

// Scalar field r.
struct FrParams {
    static const u32 INV = 0xefffffffu;  // -r^-1 mod 2^32
    ZK_HD static constexpr u32 mod(int i) {
        return ZK_LIMB(i, 0xf0000001u, 0x43e1f593u, 0x79b97091u, 0x2833e848u, 0x8181585du,
                       0xb85045b6u, 0xe131a029u, 0x30644e72u);
    }
    ZK_HD static constexpr u32 one(int i) {  // 2^256 mod r
        return ZK_LIMB(i, 0x4ffffffbu, 0xac96341cu, 0x9f60cd29u, 0x36fc7695u, 0x7879462eu,
                       0x666ea36fu, 0x9a07df2fu, 0x0e0a77c1u);
    }
    ZK_HD static constexpr u32 half(int i) {  // (r - 1) / 2
        return ZK_LIMB(i, 0xf8000000u, 0xa1f0fac9u, 0x3cdcb848u, 0x9419f424u, 0x40c0ac2eu,
                       0xdc2822dbu, 0x7098d014u, 0x18322739u);
    }
};

typedef Fp<FqParams> Fq;
typedef Fp<FrParams> Fr;
typedef Fp2<Fq> Fq2;

template <>
ZK_DEV Fq field_zero<Fq>() {
    return fp_zero<FqParams>();
}
template <>
ZK_DEV Fq field_one<Fq>() {
    return fp_one<FqParams>();
}
template <>
ZK_DEV Fq2 field_zero<Fq2>() {
    Fq2 r = {fp_zero<FqParams>(), fp_zero<FqParams>()};
    return r;
}
template <>
ZK_DEV Fq2 field_one<Fq2>() {
    Fq2 r = {fp_one<FqParams>(), fp_zero<FqParams>()};
    return r;
}
