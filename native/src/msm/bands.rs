//! Sorting an MSM's terms by scalar size.
//!
//! A zkml witness is mostly range-check bits and small integers, and a
//! negative value `-v` is the field element `r - v`. Each scalar `s` is
//! replaced by `min(s, r - s)` (negating the base when it takes `r - s`), zeros
//! and identity bases are dropped, `±1` terms go to a plain sum of points, and
//! the rest are split into bands by bit length (up to 2, 4, 8, ..., 256 bits),
//! so that each band gets its own window plan: a 16-bit band runs two windows
//! over its points, not twenty.

use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ff::{BigInteger, PrimeField};

use super::digits::signed_magnitude;

pub(super) type BigIntOf<P> = <<P as ark_ec::CurveConfig>::ScalarField as PrimeField>::BigInt;

/// One term `±k * bases[index]` with `0 < k <= (r - 1) / 2`.
#[derive(Clone, Copy)]
pub(super) struct Term<B> {
    pub(super) k: B,
    pub(super) index: usize,
    pub(super) negate: bool,
}

/// Bands by bit length of `k`: band `j` holds `2^(j-1) < bits <= 2^j`, and
/// the last band everything longer (scalar fields over 256 bits).
pub(super) const BANDS: usize = 9;

fn band_of(bits: u32) -> usize {
    debug_assert!(bits >= 2);
    (((bits - 1).ilog2() + 1) as usize).min(BANDS - 1)
}

/// The non-trivial terms of an MSM, sorted by size.
pub(super) struct Split<P: SWCurveConfig> {
    /// `±bases[i]` for scalars `±1`, sign applied.
    pub(super) unit: Vec<Affine<P>>,
    pub(super) bands: [Vec<Term<BigIntOf<P>>>; BANDS],
    /// Largest bit length seen per band.
    pub(super) band_bits: [u32; BANDS],
}

impl<P: SWCurveConfig> Split<P> {
    fn empty() -> Self {
        Self { unit: Vec::new(), bands: Default::default(), band_bits: [0; BANDS] }
    }

    /// The terms of `bases[i] * scalars[i]`, indexed from `first_index`.
    /// `by_size: false` puts every term, `±1` included, in the last band.
    pub(super) fn of(bases: &[Affine<P>], scalars: &[P::ScalarField], first_index: usize, by_size: bool) -> Self {
        let mut split = Self::empty();
        for (i, (base, s)) in bases.iter().zip(scalars).enumerate() {
            if base.infinity {
                continue;
            }
            let (k, negate) = signed_magnitude(s);
            let bits = k.num_bits();
            match bits {
                0 => {}
                1 if by_size => split.unit.push(if negate { -*base } else { *base }),
                _ => {
                    let band = if by_size { band_of(bits) } else { BANDS - 1 };
                    split.band_bits[band] = split.band_bits[band].max(bits);
                    split.bands[band].push(Term { k, index: first_index + i, negate });
                }
            }
        }
        split
    }

    /// Concatenates the splits of consecutive chunks, copying each term once.
    pub(super) fn concat(parts: Vec<Self>) -> Self {
        let mut all = Self::empty();
        all.unit.reserve_exact(parts.iter().map(|p| p.unit.len()).sum());
        for b in 0..BANDS {
            all.bands[b].reserve_exact(parts.iter().map(|p| p.bands[b].len()).sum());
        }
        for part in parts {
            all.unit.extend_from_slice(&part.unit);
            for b in 0..BANDS {
                all.bands[b].extend_from_slice(&part.bands[b]);
                all.band_bits[b] = all.band_bits[b].max(part.band_bits[b]);
            }
        }
        all
    }
}
