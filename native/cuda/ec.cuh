// Short-Weierstrass points with a = 0 (BN254's G1 over Fq, G2 over Fq2).
//
// Buckets accumulate in XYZZ coordinates (x = X/ZZ, y = Y/ZZZ, ZZ^3 = ZZZ^2):
// adding an affine point costs 8M + 2S and needs no inversion; formulas
// madd-2008-s, add-2008-s and dbl-2008-s-1 from the Explicit-Formulas
// Database. ZZ = 0 is the identity. The addition formulas are not complete,
// so each checks for P = Q (a doubling) and P = -Q (the identity) itself:
// a bucket may well receive the same point twice.
//
// Affine points travel as (x, y); the identity is marked by x's top limb set
// to all ones, which no coordinate below p has.
#pragma once
#include "field.cuh"

template <class F>
struct Affine {
    F x, y;
};

template <class F>
struct Xyzz {
    F x, y, zz, zzz;
};

// 0 and 1 (in Montgomery form) of each coordinate field.
template <class F>
ZK_DEV F field_zero();
template <class F>
ZK_DEV F field_one();

template <class P>
ZK_DEV bool is_identity(const Affine<Fp<P> >& p) {
    return p.x.v[7] == 0xffffffffu;
}

template <class P>
ZK_DEV bool is_identity(const Affine<Fp2<Fp<P> > >& p) {
    return p.x.c0.v[7] == 0xffffffffu;
}

template <class F>
ZK_DEV bool is_identity(const Xyzz<F>& p) {
    return is_zero(p.zz);
}

template <class F>
ZK_DEV Xyzz<F> xyzz_identity() {
    F z = field_zero<F>();
    Xyzz<F> r = {z, z, z, z};
    return r;
}


template <class F>
ZK_DEV Xyzz<F> from_affine(const Affine<F>& a) {
    Xyzz<F> r = {a.x, a.y, field_one<F>(), field_one<F>()};
    return r;
}

template <class F>
ZK_DEV Xyzz<F> neg(const Xyzz<F>& p) {
    Xyzz<F> r = {p.x, neg(p.y), p.zz, p.zzz};
    return r;
}

/// 2P (dbl-2008-s-1 with a = 0).
template <class F>
ZK_DEV Xyzz<F> xyzz_dbl(const Xyzz<F>& p) {
    F u = dbl(p.y);
    F v = sqr(u);
    F w = mul(u, v);
    F s = mul(p.x, v);
    F x2 = sqr(p.x);
    F m = add(dbl(x2), x2);
    Xyzz<F> r;
    r.x = sub(sqr(m), dbl(s));
    r.y = sub(mul(m, sub(s, r.x)), mul(w, p.y));
    r.zz = mul(v, p.zz);
    r.zzz = mul(w, p.zzz);
    return r;
}

/// 2A for an affine A (mdbl-2008-s-1).
template <class F>
ZK_DEV Xyzz<F> affine_dbl(const Affine<F>& a) {
    F u = dbl(a.y);
    F v = sqr(u);
    F w = mul(u, v);
    F s = mul(a.x, v);
    F x2 = sqr(a.x);
    F m = add(dbl(x2), x2);
    Xyzz<F> r;
    r.x = sub(sqr(m), dbl(s));
    r.y = sub(mul(m, sub(s, r.x)), mul(w, a.y));
    r.zz = v;
    r.zzz = w;
    return r;
}

/// P + A for a finite affine A (madd-2008-s).
template <class F>
ZK_DEV Xyzz<F> xyzz_madd(const Xyzz<F>& p, const Affine<F>& a) {
    if (is_identity(p)) return from_affine(a);
    F u2 = mul(a.x, p.zz);
    F s2 = mul(a.y, p.zzz);
    F pp_ = sub(u2, p.x);
    F rr = sub(s2, p.y);
    if (is_zero(pp_)) {
        if (is_zero(rr)) return affine_dbl(a);
        return xyzz_identity<F>();
    }
    F pp = sqr(pp_);
    F ppp = mul(pp_, pp);
    F q = mul(p.x, pp);
    Xyzz<F> r;
    r.x = sub(sub(sqr(rr), ppp), dbl(q));
    r.y = sub(mul(rr, sub(q, r.x)), mul(p.y, ppp));
    r.zz = mul(p.zz, pp);
    r.zzz = mul(p.zzz, ppp);
    return r;
}

/// P + Q (add-2008-s).
template <class F>
ZK_DEV Xyzz<F> xyzz_add(const Xyzz<F>& p, const Xyzz<F>& q) {
    if (is_identity(p)) return q;
    if (is_identity(q)) return p;
    F u1 = mul(p.x, q.zz);
    F u2 = mul(q.x, p.zz);
    F s1 = mul(p.y, q.zzz);
    F s2 = mul(q.y, p.zzz);
    F pp_ = sub(u2, u1);
    F rr = sub(s2, s1);
    if (is_zero(pp_)) {
        if (is_zero(rr)) return xyzz_dbl(p);
        return xyzz_identity<F>();
    }
    F pp = sqr(pp_);
    F ppp = mul(pp_, pp);
    F qq = mul(u1, pp);
    Xyzz<F> r;
    r.x = sub(sub(sqr(rr), ppp), dbl(qq));
    r.y = sub(mul(rr, sub(qq, r.x)), mul(s1, ppp));
    r.zz = mul(mul(p.zz, q.zz), pp);
    r.zzz = mul(mul(p.zzz, q.zzz), ppp);
    return r;
}

/// k * P for a small k (double-and-add from the top bit).
template <class F>
ZK_DEV Xyzz<F> xyzz_mul_small(const Xyzz<F>& p, u32 k) {
    Xyzz<F> r = xyzz_identity<F>();
    for (int bit = 31; bit >= 0; bit--) {
        if (!is_identity(r)) r = xyzz_dbl(r);
        if ((k >> bit) & 1) r = xyzz_add(r, p);
    }
    return r;
}
