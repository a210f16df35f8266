//! Fixed-base batch multiplication ([`fixed_base_batch`]): one base times
//! many scalars, for key generation.

use ark_ec::CurveGroup;
use ark_ff::PrimeField;
use rayon::prelude::*;

use super::digits::{signed_digit, signed_magnitude};
use super::plan::MAX_WINDOW;

/// Most table entries [`fixed_base_batch`] precomputes (per call).
const TABLE_MAX: usize = 1 << 18;

/// `[s * base for s in scalars]`, in affine form, for key generation.
///
/// The base's signed-digit multiples `j * 2^offset * base` are tabulated once
/// per window, so each product is one mixed addition per non-zero digit.
/// Products are computed in parallel and normalised with a single batched
/// inversion.
pub fn fixed_base_batch<G: CurveGroup>(base: G, scalars: &[G::ScalarField]) -> Vec<G::Affine> {
    let n = scalars.len();
    if n == 0 {
        return Vec::new();
    }
    // |k| <= (r-1)/2 has at most MODULUS_BIT_SIZE - 1 bits, plus one for the carry.
    let total = G::ScalarField::MODULUS_BIT_SIZE as usize;
    let cost = |c: usize| total.div_ceil(c) * (n + (1 << (c - 1)));
    let c = (2..=MAX_WINDOW + 4)
        .filter(|&c| total.div_ceil(c) << (c - 1) <= TABLE_MAX)
        .min_by_key(|&c| cost(c))
        .unwrap_or(2);
    let windows = total.div_ceil(c);

    // table[w][j] = (j + 1) * 2^(w c) * base
    let mut window_base = Vec::with_capacity(windows);
    let mut g = base;
    for _ in 0..windows {
        window_base.push(g);
        for _ in 0..c {
            g.double_in_place();
        }
    }
    let buckets = 1usize << (c - 1);
    let table: Vec<Vec<G::Affine>> = window_base
        .par_iter()
        .map(|&g| {
            let multiples: Vec<G> = std::iter::successors(Some(g), |m| Some(*m + g)).take(buckets).collect();
            G::normalize_batch(&multiples)
        })
        .collect();

    let products: Vec<G> = scalars
        .par_iter()
        .with_min_len(256)
        .map(|s| {
            let (k, negate) = signed_magnitude(s);
            let mut acc = G::zero();
            for (w, row) in table.iter().enumerate() {
                let d = signed_digit(k.as_ref(), w * c, c);
                match d.signum() {
                    1 => acc += row[d as usize - 1],
                    -1 => acc -= row[d.unsigned_abs() as usize - 1],
                    _ => {}
                }
            }
            if negate {
                -acc
            } else {
                acc
            }
        })
        .collect();
    G::normalize_batch(&products)
}
