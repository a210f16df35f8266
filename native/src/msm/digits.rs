//! Signed (Booth) digits of a scalar, shared by every MSM in the crate.
//!
//! A scalar `s` is first folded to `±k` with `k <= (r-1)/2` ([`signed_magnitude`]),
//! then cut into windows whose digits lie in `[-2^(width-1), 2^(width-1)]`
//! ([`signed_digit`]), which halves the buckets a window needs: negating an
//! affine point is free. Each window's digit is computed independently, from
//! the scalar's bits alone, so the GPU's `zk_msm_digits` kernel and its CPU
//! model (`cuda::plan::booth_digits`) use the very same definition.

use ark_ff::{BigInteger, PrimeField};

/// `s` as `(k, negate)` with `s = ±k` and `k <= (r-1)/2`.
pub(crate) fn signed_magnitude<F: PrimeField>(s: &F) -> (F::BigInt, bool) {
    let k = s.into_bigint();
    if k > F::MODULUS_MINUS_ONE_DIV_TWO {
        let mut neg = F::MODULUS;
        neg.sub_with_borrow(&k);
        (neg, true)
    } else {
        (k, false)
    }
}

/// Bits `start .. start + len` of a little-endian limb array (`len < 64`).
#[inline]
fn bits_at(limbs: &[u64], start: usize, len: usize) -> u64 {
    let (limb, shift) = (start / 64, start % 64);
    let Some(&low) = limbs.get(limb) else {
        return 0;
    };
    let mut v = low >> shift;
    if shift + len > 64 {
        if let Some(&high) = limbs.get(limb + 1) {
            v |= high << (64 - shift);
        }
    }
    v & ((1u64 << len) - 1)
}

/// The signed (Booth) digit of `k` for the window at `offset` of `width` bits:
/// `d = k[offset..offset+width] + k[offset-1] - 2^width * k[offset+width-1]`, in
/// `[-2^(width-1), 2^(width-1)]`. The borrowed bit `k[offset-1]` is what the
/// window below gave away by going negative, so `sum_w d_w 2^offset_w = k` as
/// long as the top bit of the top window is zero.
#[inline]
pub(crate) fn signed_digit(limbs: &[u64], offset: usize, width: usize) -> i64 {
    let window = if offset == 0 { bits_at(limbs, 0, width) << 1 } else { bits_at(limbs, offset - 1, width + 1) };
    let value = (window >> 1) + (window & 1);
    value as i64 - (((window >> width) & 1) << width) as i64
}
