// Prime fields in Montgomery form on eight 32-bit limbs (little-endian).
//
// R = 2^256, so a value's limbs are exactly the bytes arkworks keeps for the
// same element (its four 64-bit Montgomery limbs): points and scalars cross
// from Rust without conversion. `P` supplies the modulus, -p^-1 mod 2^32 and
// R mod p as constexpr functions, which fold to immediates once unrolled.
//
// Multiplication is CIOS (coarsely integrated operand scanning): for each limb
// b_i, t += a * b_i, then t += m * p with m = t_0 * (-p^-1) mod 2^32 so the
// low limb cancels, then t is shifted down one limb. With a, b < p and
// p < 2^254, t stays below 2p, so one conditional subtraction finishes it.
// On the device every row is one PTX carry chain (mad.lo.cc / madc.hi.cc);
// the portable path spells the same arithmetic with 64-bit products.
#pragma once
#include "common.cuh"

template <class P>
struct Fp {
    u32 v[8];
};

template <class P>
ZK_HD Fp<P> fp_zero() {
    Fp<P> r;
    for (int i = 0; i < 8; i++) r.v[i] = 0;
    return r;
}

/// 1 in Montgomery form (R mod p).
template <class P>
ZK_HD Fp<P> fp_one() {
    Fp<P> r;
    for (int i = 0; i < 8; i++) r.v[i] = P::one(i);
    return r;
}

template <class P>
ZK_HD bool is_zero(const Fp<P>& a) {
    u32 acc = 0;
    for (int i = 0; i < 8; i++) acc |= a.v[i];
    return acc == 0;
}

template <class P>
ZK_HD bool eq(const Fp<P>& a, const Fp<P>& b) {
    u32 acc = 0;
    for (int i = 0; i < 8; i++) acc |= a.v[i] ^ b.v[i];
    return acc == 0;
}

// t[0..10) += a[0..8) * b. The caller guarantees no carry leaves t[9].
ZK_DEV void mac_row(u32 t[10], const u32 a[8], u32 b) {
#if ZK_PTX
    asm("mad.lo.cc.u32 %0, %10, %18, %0;\n\t"
        "madc.lo.cc.u32 %1, %11, %18, %1;\n\t"
        "madc.lo.cc.u32 %2, %12, %18, %2;\n\t"
        "madc.lo.cc.u32 %3, %13, %18, %3;\n\t"
        "madc.lo.cc.u32 %4, %14, %18, %4;\n\t"
        "madc.lo.cc.u32 %5, %15, %18, %5;\n\t"
        "madc.lo.cc.u32 %6, %16, %18, %6;\n\t"
        "madc.lo.cc.u32 %7, %17, %18, %7;\n\t"
        "addc.cc.u32 %8, %8, 0;\n\t"
        "addc.u32 %9, %9, 0;\n\t"
        "mad.hi.cc.u32 %1, %10, %18, %1;\n\t"
        "madc.hi.cc.u32 %2, %11, %18, %2;\n\t"
        "madc.hi.cc.u32 %3, %12, %18, %3;\n\t"
        "madc.hi.cc.u32 %4, %13, %18, %4;\n\t"
        "madc.hi.cc.u32 %5, %14, %18, %5;\n\t"
        "madc.hi.cc.u32 %6, %15, %18, %6;\n\t"
        "madc.hi.cc.u32 %7, %16, %18, %7;\n\t"
        "madc.hi.cc.u32 %8, %17, %18, %8;\n\t"
        "addc.u32 %9, %9, 0;"
        : "+r"(t[0]), "+r"(t[1]), "+r"(t[2]), "+r"(t[3]), "+r"(t[4]), "+r"(t[5]), "+r"(t[6]),
          "+r"(t[7]), "+r"(t[8]), "+r"(t[9])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(a[4]), "r"(a[5]), "r"(a[6]), "r"(a[7]),
          "r"(b));
#else
    u64 carry = 0;
    for (int j = 0; j < 8; j++) {
        u64 s = (u64)a[j] * b + t[j] + carry;
        t[j] = (u32)s;
        carry = s >> 32;
    }
    u64 s = (u64)t[8] + carry;
    t[8] = (u32)s;
    t[9] += (u32)(s >> 32);
#endif
}

// t (nine limbs, t < 2p) reduced to [0, p).
template <class P>
ZK_DEV Fp<P> reduce_once(const u32 t[9]) {
    u32 d[9];
#if ZK_PTX
    asm("sub.cc.u32 %0, %9, %18;\n\t"
        "subc.cc.u32 %1, %10, %19;\n\t"
        "subc.cc.u32 %2, %11, %20;\n\t"
        "subc.cc.u32 %3, %12, %21;\n\t"
        "subc.cc.u32 %4, %13, %22;\n\t"
        "subc.cc.u32 %5, %14, %23;\n\t"
        "subc.cc.u32 %6, %15, %24;\n\t"
        "subc.cc.u32 %7, %16, %25;\n\t"
        "subc.u32 %8, %17, 0;"
        : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3]), "=r"(d[4]), "=r"(d[5]), "=r"(d[6]),
          "=r"(d[7]), "=r"(d[8])
        : "r"(t[0]), "r"(t[1]), "r"(t[2]), "r"(t[3]), "r"(t[4]), "r"(t[5]), "r"(t[6]), "r"(t[7]),
          "r"(t[8]), "r"(P::mod(0)), "r"(P::mod(1)), "r"(P::mod(2)), "r"(P::mod(3)),
          "r"(P::mod(4)), "r"(P::mod(5)), "r"(P::mod(6)), "r"(P::mod(7)));
#else
    u64 borrow = 0;
    for (int j = 0; j < 8; j++) {
        u64 s = (u64)t[j] - P::mod(j) - borrow;
        d[j] = (u32)s;
        borrow = (s >> 32) & 1;
    }
    d[8] = t[8] - (u32)borrow;
#endif
    // d[8] is 0 when t >= p (keep d) and all ones when t < p (keep t).
    bool keep_t = d[8] != 0;
    Fp<P> r;
    for (int j = 0; j < 8; j++) r.v[j] = keep_t ? t[j] : d[j];
    return r;
}

template <class P>
ZK_DEV Fp<P> add(const Fp<P>& a, const Fp<P>& b) {
    u32 t[9];
#if ZK_PTX
    asm("add.cc.u32 %0, %9, %17;\n\t"
        "addc.cc.u32 %1, %10, %18;\n\t"
        "addc.cc.u32 %2, %11, %19;\n\t"
        "addc.cc.u32 %3, %12, %20;\n\t"
        "addc.cc.u32 %4, %13, %21;\n\t"
        "addc.cc.u32 %5, %14, %22;\n\t"
        "addc.cc.u32 %6, %15, %23;\n\t"
        "addc.cc.u32 %7, %16, %24;\n\t"
        "addc.u32 %8, 0, 0;"
        : "=r"(t[0]), "=r"(t[1]), "=r"(t[2]), "=r"(t[3]), "=r"(t[4]), "=r"(t[5]), "=r"(t[6]),
          "=r"(t[7]), "=r"(t[8])
        : "r"(a.v[0]), "r"(a.v[1]), "r"(a.v[2]), "r"(a.v[3]), "r"(a.v[4]), "r"(a.v[5]),
          "r"(a.v[6]), "r"(a.v[7]), "r"(b.v[0]), "r"(b.v[1]), "r"(b.v[2]), "r"(b.v[3]),
          "r"(b.v[4]), "r"(b.v[5]), "r"(b.v[6]), "r"(b.v[7]));
#else
    u64 carry = 0;
    for (int j = 0; j < 8; j++) {
        u64 s = (u64)a.v[j] + b.v[j] + carry;
        t[j] = (u32)s;
        carry = s >> 32;
    }
    t[8] = (u32)carry;
#endif
    return reduce_once<P>(t);
}

template <class P>
ZK_DEV Fp<P> sub(const Fp<P>& a, const Fp<P>& b) {
    u32 d[8], borrow;
#if ZK_PTX
    asm("sub.cc.u32 %0, %9, %17;\n\t"
        "subc.cc.u32 %1, %10, %18;\n\t"
        "subc.cc.u32 %2, %11, %19;\n\t"
        "subc.cc.u32 %3, %12, %20;\n\t"
        "subc.cc.u32 %4, %13, %21;\n\t"
        "subc.cc.u32 %5, %14, %22;\n\t"
        "subc.cc.u32 %6, %15, %23;\n\t"
        "subc.cc.u32 %7, %16, %24;\n\t"
        "subc.u32 %8, 0, 0;"
        : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3]), "=r"(d[4]), "=r"(d[5]), "=r"(d[6]),
          "=r"(d[7]), "=r"(borrow)
        : "r"(a.v[0]), "r"(a.v[1]), "r"(a.v[2]), "r"(a.v[3]), "r"(a.v[4]), "r"(a.v[5]),
          "r"(a.v[6]), "r"(a.v[7]), "r"(b.v[0]), "r"(b.v[1]), "r"(b.v[2]), "r"(b.v[3]),
          "r"(b.v[4]), "r"(b.v[5]), "r"(b.v[6]), "r"(b.v[7]));
#else
    u64 bw = 0;
    for (int j = 0; j < 8; j++) {
        u64 s = (u64)a.v[j] - b.v[j] - bw;
        d[j] = (u32)s;
        bw = (s >> 32) & 1;
    }
    borrow = bw ? 0xffffffffu : 0u;
#endif
    // a < b: add p back (borrow is all ones then, and masks the modulus in).
    u32 m[8];
    for (int j = 0; j < 8; j++) m[j] = P::mod(j) & borrow;
    Fp<P> r;
#if ZK_PTX
    asm("add.cc.u32 %0, %8, %16;\n\t"
        "addc.cc.u32 %1, %9, %17;\n\t"
        "addc.cc.u32 %2, %10, %18;\n\t"
        "addc.cc.u32 %3, %11, %19;\n\t"
        "addc.cc.u32 %4, %12, %20;\n\t"
        "addc.cc.u32 %5, %13, %21;\n\t"
        "addc.cc.u32 %6, %14, %22;\n\t"
        "addc.u32 %7, %15, %23;"
        : "=r"(r.v[0]), "=r"(r.v[1]), "=r"(r.v[2]), "=r"(r.v[3]), "=r"(r.v[4]), "=r"(r.v[5]),
          "=r"(r.v[6]), "=r"(r.v[7])
        : "r"(d[0]), "r"(d[1]), "r"(d[2]), "r"(d[3]), "r"(d[4]), "r"(d[5]), "r"(d[6]), "r"(d[7]),
          "r"(m[0]), "r"(m[1]), "r"(m[2]), "r"(m[3]), "r"(m[4]), "r"(m[5]), "r"(m[6]), "r"(m[7]));
#else
    u64 carry = 0;
    for (int j = 0; j < 8; j++) {
        u64 s = (u64)d[j] + m[j] + carry;
        r.v[j] = (u32)s;
        carry = s >> 32;
    }
#endif
    return r;
}

template <class P>
ZK_DEV Fp<P> neg(const Fp<P>& a) {
    return sub(fp_zero<P>(), a);
}

template <class P>
ZK_DEV Fp<P> dbl(const Fp<P>& a) {
    return add(a, a);
}

/// a * b * R^-1 mod p.
template <class P>
ZK_DEV Fp<P> mul(const Fp<P>& a, const Fp<P>& b) {
    u32 m[8];
    for (int j = 0; j < 8; j++) m[j] = P::mod(j);
    u32 t[10];
    for (int j = 0; j < 10; j++) t[j] = 0;
#if defined(__CUDACC__)
#pragma unroll
#endif
    for (int i = 0; i < 8; i++) {
        mac_row(t, a.v, b.v[i]);
        u32 q = t[0] * P::INV;
        mac_row(t, m, q);
        // t[0] is now zero: divide by 2^32.
        for (int j = 0; j < 9; j++) t[j] = t[j + 1];
        t[9] = 0;
    }
    return reduce_once<P>(t);
}

template <class P>
ZK_DEV Fp<P> sqr(const Fp<P>& a) {
    return mul(a, a);
}

/// The canonical integer of a Montgomery-form value (a * R^-1).
template <class P>
ZK_DEV Fp<P> from_montgomery(const Fp<P>& a) {
    Fp<P> one_raw = fp_zero<P>();
    one_raw.v[0] = 1;
    return mul(a, one_raw);
}

// ---------------------------------------------------------------------------
// Fp2 = Fp[u] / (u^2 + 1): BN254's G2 coordinates.

template <class F>
struct Fp2 {
    F c0, c1;
};

template <class P>
ZK_HD bool is_zero(const Fp2<Fp<P> >& a) {
    return is_zero(a.c0) && is_zero(a.c1);
}

template <class P>
ZK_DEV Fp2<Fp<P> > add(const Fp2<Fp<P> >& a, const Fp2<Fp<P> >& b) {
    Fp2<Fp<P> > r = {add(a.c0, b.c0), add(a.c1, b.c1)};
    return r;
}

template <class P>
ZK_DEV Fp2<Fp<P> > sub(const Fp2<Fp<P> >& a, const Fp2<Fp<P> >& b) {
    Fp2<Fp<P> > r = {sub(a.c0, b.c0), sub(a.c1, b.c1)};
    return r;
}

template <class P>
ZK_DEV Fp2<Fp<P> > neg(const Fp2<Fp<P> >& a) {
    Fp2<Fp<P> > r = {neg(a.c0), neg(a.c1)};
    return r;
}

template <class P>
ZK_DEV Fp2<Fp<P> > dbl(const Fp2<Fp<P> >& a) {
    return add(a, a);
}

/// Karatsuba: three base-field products.
template <class P>
ZK_DEV Fp2<Fp<P> > mul(const Fp2<Fp<P> >& a, const Fp2<Fp<P> >& b) {
    Fp<P> t0 = mul(a.c0, b.c0);
    Fp<P> t1 = mul(a.c1, b.c1);
    Fp<P> t2 = mul(add(a.c0, a.c1), add(b.c0, b.c1));
    Fp2<Fp<P> > r = {sub(t0, t1), sub(sub(t2, t0), t1)};
    return r;
}

/// (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u.
template <class P>
ZK_DEV Fp2<Fp<P> > sqr(const Fp2<Fp<P> >& a) {
    Fp<P> t = mul(a.c0, a.c1);
    Fp2<Fp<P> > r = {mul(add(a.c0, a.c1), sub(a.c0, a.c1)), dbl(t)};
    return r;
}
