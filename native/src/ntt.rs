//! Radix-2 number-theoretic transform over an FFT-friendly prime field.
//!
//! The prover moves the QAP polynomials between coefficient form and
//! evaluations on a multiplicative subgroup `{omega^i}` (and on its coset
//! `g * {omega^i}`), so these transforms are, with the MSMs, where proving time
//! goes.
//!
//! The transform is the iterative Cooley–Tukey decimation-in-time butterfly
//! network after a bit-reversal permutation. After the permutation, the first
//! `log2(block)` stages only mix elements inside aligned blocks, so each block
//! runs those stages while it sits in cache, reading one small shared twiddle
//! table; only the remaining, wider stages sweep the whole vector, and those
//! compute their twiddles per task rather than keep an `n`-sized table (fresh
//! large allocations cost more than the multiplications they would save).
//! Vectors from `PARALLEL_MIN` elements up are split across rayon threads;
//! smaller ones stay on the calling thread, where the hand-off would cost more
//! than it saves.

use ark_ff::{batch_inversion, FftField, Field};
use rayon::prelude::*;

/// Below this many elements a transform runs on the calling thread.
const PARALLEL_MIN: usize = 1 << 12;

/// Largest cache block for the early stages: 2^15 BN254 Fr elements are
/// 1 MiB, which stays in a core's L2 cache with its twiddles.
const BLOCK: usize = 1 << 15;

/// Minimum number of butterflies one rayon task is given in the wide stages.
const MIN_TASK: usize = 1 << 10;

/// Most columns (and so twiddles) one wide-stage task takes: 64 KiB of BN254
/// Fr twiddles, which stay in L1/L2 while the task sweeps its groups.
const COLUMNS_MAX: usize = 1 << 11;

/// A power-of-two evaluation domain `{omega^i : 0 <= i < size}` and its coset
/// `coset_gen * {omega^i}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Domain<F: FftField> {
    /// Number of points, a power of two (at least 2).
    pub size: usize,
    /// `log2(size)`.
    pub log_size: u32,
    /// A primitive `size`-th root of unity, `F::get_root_of_unity(size)`, the
    /// same generator ark-poly's radix-2 domain uses.
    pub omega: F,
    pub omega_inv: F,
    /// `1 / size` in the field.
    pub size_inv: F,
    /// The coset shift, `F::GENERATOR`: a non-residue, so the coset never meets
    /// the subgroup and the vanishing polynomial is non-zero on it.
    pub coset_gen: F,
    pub coset_gen_inv: F,
}

impl<F: FftField> Domain<F> {
    /// The smallest power-of-two domain with `size >= min_size` (and at least 2).
    /// `None` when that size exceeds the field's 2-adicity (or `usize`).
    pub fn new(min_size: usize) -> Option<Self> {
        let size = min_size.max(2).checked_next_power_of_two()?;
        let log_size = size.trailing_zeros();
        if log_size > F::TWO_ADICITY {
            return None;
        }
        let omega = F::get_root_of_unity(u64::try_from(size).ok()?)?;
        let omega_inv = omega.inverse()?;
        let size_inv = F::from(size as u64).inverse()?;
        let coset_gen = F::GENERATOR;
        let coset_gen_inv = coset_gen.inverse()?;
        Some(Self { size, log_size, omega, omega_inv, size_inv, coset_gen, coset_gen_inv })
    }

    /// `omega^i`.
    pub fn element(&self, i: usize) -> F {
        self.omega.pow([i as u64])
    }

    /// Coefficients to evaluations: on return `a[i] = sum_j a_j * omega^(i*j)`.
    ///
    /// # Panics
    /// If `a.len() != self.size` (a programming error: the caller pads).
    pub fn fft(&self, a: &mut [F]) {
        self.check_len(a);
        transform(a, self.omega);
    }

    /// Evaluations at `omega^i` back to coefficients; inverse of [`Domain::fft`].
    ///
    /// # Panics
    /// If `a.len() != self.size`.
    pub fn ifft(&self, a: &mut [F]) {
        self.check_len(a);
        transform(a, self.omega_inv);
        scale(a, self.size_inv);
    }

    /// Coefficients to evaluations on the coset: `a[i] = p(coset_gen * omega^i)`.
    ///
    /// # Panics
    /// If `a.len() != self.size`.
    pub fn coset_fft(&self, a: &mut [F]) {
        self.check_len(a);
        // p(g x) has coefficients a_j g^j.
        mul_by_powers(a, F::one(), self.coset_gen);
        transform(a, self.omega);
    }

    /// Evaluations on the coset back to coefficients; inverse of
    /// [`Domain::coset_fft`].
    ///
    /// # Panics
    /// If `a.len() != self.size`.
    pub fn coset_ifft(&self, a: &mut [F]) {
        self.check_len(a);
        transform(a, self.omega_inv);
        // Undo the shift and the 1/size of the inverse transform in one pass.
        mul_by_powers(a, self.size_inv, self.coset_gen_inv);
    }

    /// The vanishing polynomial of the subgroup at `x`: `x^size - 1`.
    pub fn vanishing_at(&self, x: F) -> F {
        x.pow([self.size as u64]) - F::one()
    }

    /// The same domain with its coset moved to the odd powers of a primitive
    /// 2n-th root: `coset_gen = omega_2n`, so the coset is
    /// `{omega_2n^(2i+1)}`, where `Z(x) = x^n - 1 = -2`. This is the coset of
    /// the Groth16 quotient in the snarkjs key layout (see
    /// `groth16::r1cs_to_qap`). `None` when 2n exceeds the field's 2-adicity.
    pub fn with_odd_coset(self) -> Option<Self> {
        let double = u64::try_from(self.size).ok()?.checked_mul(2)?;
        if self.log_size + 1 > F::TWO_ADICITY {
            return None;
        }
        let coset_gen = F::get_root_of_unity(double)?;
        Some(Self { coset_gen, coset_gen_inv: coset_gen.inverse()?, ..self })
    }

    /// The Lagrange basis polynomials of the domain evaluated at `tau`:
    /// `L_i(tau)` for `i` in `0..size`, where `L_i(omega^j) = [i == j]`.
    ///
    /// Off the domain, `L_i(tau) = Z(tau) / size * omega^i / (tau - omega^i)`
    /// with `Z` the vanishing polynomial. On the domain (`tau = omega^k`), that
    /// formula is 0/0 and the answer is the unit vector `e_k`.
    pub fn lagrange_coefficients_at(&self, tau: F) -> Vec<F> {
        let z = self.vanishing_at(tau);
        let mut out = vec![F::zero(); self.size];
        if z.is_zero() {
            let mut x = F::one();
            for l in out.iter_mut() {
                if x == tau {
                    *l = F::one();
                    break;
                }
                x *= self.omega;
            }
            return out;
        }
        let elements = powers(F::one(), self.omega, self.size);
        let mut denominators: Vec<F> = elements.iter().map(|w| tau - w).collect();
        // All non-zero: tau is not a root of Z, so it differs from every omega^i.
        batch_inversion(&mut denominators);
        let factor = z * self.size_inv;
        out.par_iter_mut()
            .zip(elements.par_iter().zip(denominators.par_iter()))
            .with_min_len(PARALLEL_MIN)
            .for_each(|(l, (w, d))| *l = factor * w * d);
        out
    }

    fn check_len(&self, a: &[F]) {
        assert_eq!(a.len(), self.size, "NTT input has {} elements but the domain has {}", a.len(), self.size);
    }
}

/// `out[i] = start * ratio^i` for `i` in `0..n`, computed in parallel chunks.
fn powers<F: Field>(start: F, ratio: F, n: usize) -> Vec<F> {
    let mut out = vec![F::zero(); n];
    out.par_chunks_mut(PARALLEL_MIN).enumerate().for_each(|(c, chunk)| {
        let mut x = start * ratio.pow([(c * PARALLEL_MIN) as u64]);
        for o in chunk.iter_mut() {
            *o = x;
            x *= ratio;
        }
    });
    out
}

/// `a[i] *= start * ratio^i`.
fn mul_by_powers<F: Field>(a: &mut [F], start: F, ratio: F) {
    a.par_chunks_mut(PARALLEL_MIN).enumerate().for_each(|(c, chunk)| {
        let mut x = start * ratio.pow([(c * PARALLEL_MIN) as u64]);
        for o in chunk.iter_mut() {
            *o *= x;
            x *= ratio;
        }
    });
}

fn scale<F: Field>(a: &mut [F], s: F) {
    a.par_iter_mut().with_min_len(PARALLEL_MIN).for_each(|x| *x *= s);
}

/// In-place `a[i] <- sum_j a[j] root^(i*j)` for `a.len()` a power of two and
/// `root` a primitive `a.len()`-th root of unity.
fn transform<F: Field>(a: &mut [F], root: F) {
    let n = a.len();
    debug_assert!(n.is_power_of_two());
    if n <= 1 {
        return;
    }
    bit_reverse_permute(a);
    let threads = rayon::current_num_threads();
    let parallel = n >= PARALLEL_MIN && threads > 1;
    // Enough blocks for every thread, as long as blocks stay worth a task.
    // Blocks are powers of two: the block stages are whole stages.
    let block = if parallel {
        let per_thread = (n / (2 * threads)).max(1);
        (1usize << per_thread.ilog2()).clamp(MIN_TASK, BLOCK)
    } else {
        BLOCK
    }
    .min(n);
    let block_twiddles = stage_twiddles(root.pow([(n / block) as u64]), block);
    if parallel {
        a.par_chunks_mut(block).for_each(|b| block_stages(b, &block_twiddles));
    } else {
        a.chunks_mut(block).for_each(|b| block_stages(b, &block_twiddles));
    }
    let mut half = block;
    while half < n {
        wide_stage(a, root.pow([(n / (2 * half)) as u64]), half, parallel);
        half *= 2;
    }
}

/// The twiddle factors of every stage of a transform of size `n` with root
/// `root`, each stage's contiguous so the butterflies read them in order: the
/// stage with span `h` (whose butterflies use the `2h`-th root
/// `w = root^(n / 2h)`) finds `w^j` at index `h - 1 + j`. `n - 1` elements.
fn stage_twiddles<F: Field>(root: F, n: usize) -> Vec<F> {
    let mut t = vec![F::zero(); n - 1];
    let mut x = F::one();
    for w in t[n / 2 - 1..].iter_mut() {
        *w = x;
        x *= root;
    }
    let mut half = n / 4;
    while half >= 1 {
        // The span-h roots are every other span-2h root.
        let (lower, upper) = t.split_at_mut(2 * half - 1);
        for (dst, src) in lower[half - 1..].iter_mut().zip(upper.iter().step_by(2)) {
            *dst = *src;
        }
        half /= 2;
    }
    t
}

/// All stages whose butterflies stay inside `block` (spans 1 .. block/2),
/// with `twiddles` from [`stage_twiddles`] for a transform of the block's size.
fn block_stages<F: Field>(block: &mut [F], twiddles: &[F]) {
    // Span 1: every twiddle is 1.
    for pair in block.chunks_exact_mut(2) {
        let (u, v) = (pair[0], pair[1]);
        pair[0] = u + v;
        pair[1] = u - v;
    }
    let mut half = 2;
    while half < block.len() {
        let tw = &twiddles[half - 1..2 * half - 1];
        for group in block.chunks_exact_mut(2 * half) {
            let (lo, hi) = group.split_at_mut(half);
            butterflies_from_one(lo, hi, tw);
        }
        half *= 2;
    }
}

type ColumnSlices<'a, F> = Vec<(&'a mut [F], &'a mut [F])>;

/// One stage with span `half` over the whole vector; `w` is its `2*half`-th
/// root of unity.
///
/// Work is split by columns: a task takes columns `j0..j1` of every butterfly
/// group, computes `w^j0 .. w^j1` once, and uses them in every group, so the
/// stage needs no twiddle table of its own.
fn wide_stage<F: Field>(a: &mut [F], w: F, half: usize, parallel: bool) {
    // A power of two, so that it divides `half`.
    let columns = if parallel {
        let per_task = (half / (4 * rayon::current_num_threads())).max(1);
        (1usize << per_task.ilog2()).clamp(MIN_TASK, COLUMNS_MAX)
    } else {
        COLUMNS_MAX
    }
    .min(half);
    // tasks[t]: the (lo, hi) halves of columns t*columns.. of every group.
    let mut tasks: Vec<ColumnSlices<F>> = (0..half.div_ceil(columns)).map(|_| Vec::new()).collect();
    for group in a.chunks_exact_mut(2 * half) {
        let (lo, hi) = group.split_at_mut(half);
        for (task, pair) in tasks.iter_mut().zip(lo.chunks_mut(columns).zip(hi.chunks_mut(columns))) {
            task.push(pair);
        }
    }
    let run = |(t, pieces): (usize, ColumnSlices<F>)| {
        let mut tw = Vec::with_capacity(columns);
        let mut x = w.pow([(t * columns) as u64]);
        for _ in 0..columns {
            tw.push(x);
            x *= w;
        }
        for (lo, hi) in pieces {
            if t == 0 {
                butterflies_from_one(lo, hi, &tw);
            } else {
                butterflies(lo, hi, &tw);
            }
        }
    };
    if parallel {
        tasks.into_par_iter().enumerate().for_each(run);
    } else {
        tasks.into_iter().enumerate().for_each(run);
    }
}

/// [`butterflies`] for a run whose first twiddle is 1, saving its product.
#[inline]
fn butterflies_from_one<F: Field>(lo: &mut [F], hi: &mut [F], tw: &[F]) {
    debug_assert!(tw[0].is_one());
    let (l, h) = (lo[0], hi[0]);
    lo[0] = l + h;
    hi[0] = l - h;
    butterflies(&mut lo[1..], &mut hi[1..], &tw[1..]);
}

/// Butterflies `(lo[j], hi[j]) <- (lo[j] + w_j hi[j], lo[j] - w_j hi[j])`.
#[inline]
fn butterflies<F: Field>(lo: &mut [F], hi: &mut [F], tw: &[F]) {
    for ((l, h), w) in lo.iter_mut().zip(hi.iter_mut()).zip(tw) {
        let t = *h * w;
        *h = *l - t;
        *l += t;
    }
}

/// Reorders `a` by bit-reversed index (`a.len()` a power of two).
///
/// Indices are split into `(high, middle, low)` bit fields with `high` and
/// `low` of `t` bits; reversal maps `(h, m, l)` to `(rev l, rev m, rev h)`. For
/// each middle value the loop visits all `(h, l)`: both sides of every swap
/// then fall in `2^t` runs of `2^t` consecutive elements, so whole cache
/// lines get used instead of half of one per swap.
fn bit_reverse_permute<T>(a: &mut [T]) {
    let n = a.len();
    let bits = n.trailing_zeros();
    if bits < 2 {
        return;
    }
    let t = (bits / 2).min(4);
    let mid_bits = bits - 2 * t;
    let rev = |x: usize, width: u32| {
        if width == 0 {
            0
        } else {
            x.reverse_bits() >> (usize::BITS - width)
        }
    };
    for m in 0..1usize << mid_bits {
        let m_part = m << t;
        let m_rev = rev(m, mid_bits) << t;
        for h in 0..1usize << t {
            let h_part = h << (bits - t);
            let h_rev = rev(h, t);
            for l in 0..1usize << t {
                let i = h_part | m_part | l;
                let j = (rev(l, t) << (bits - t)) | m_rev | h_rev;
                if i < j {
                    a.swap(i, j);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;
    use ark_ff::{UniformRand, Zero};
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    const SIZES: [usize; 7] = [2, 4, 8, 1 << 10, 1 << 11, 1 << 12, 1 << 14];

    fn random_vec(n: usize, seed: u64) -> Vec<Fr> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n).map(|_| Fr::rand(&mut rng)).collect()
    }

    fn ark_domain(n: usize) -> Radix2EvaluationDomain<Fr> {
        Radix2EvaluationDomain::new(n).expect("BN254 Fr supports this size")
    }

    /// Direct O(n^2) evaluation: p(x) for coefficients `c`.
    fn eval(c: &[Fr], x: Fr) -> Fr {
        c.iter().rev().fold(Fr::from(0u64), |acc, ci| acc * x + ci)
    }

    #[test]
    fn bit_reversal_moves_each_index_to_its_reversal() {
        for bits in 0..=12u32 {
            let n = 1usize << bits;
            let mut a: Vec<usize> = (0..n).collect();
            bit_reverse_permute(&mut a);
            for (i, &x) in a.iter().enumerate() {
                let expected = if bits == 0 { 0 } else { i.reverse_bits() >> (usize::BITS - bits) };
                assert_eq!(x, expected, "n = {n}, i = {i}");
            }
        }
    }

    #[test]
    fn new_rounds_up_to_a_power_of_two_of_at_least_two() {
        for (min, size) in [(0, 2), (1, 2), (2, 2), (3, 4), (5, 8), (1024, 1024), (1025, 2048)] {
            let d = Domain::<Fr>::new(min).expect("small domain");
            assert_eq!((d.size, 1usize << d.log_size), (size, size));
            assert_eq!(d.omega, ark_domain(size).group_gen);
            assert_eq!(d.element(d.size), Fr::from(1u64));
            assert_ne!(d.element(d.size / 2), Fr::from(1u64), "omega is primitive");
            assert_eq!(d.size_inv * Fr::from(size as u64), Fr::from(1u64));
        }
    }

    #[test]
    fn new_refuses_sizes_beyond_the_two_adicity() {
        // BN254's Fr has 2-adicity 28.
        assert!(Domain::<Fr>::new(1 << 28).is_some());
        assert!(Domain::<Fr>::new((1 << 28) + 1).is_none());
        assert!(Domain::<Fr>::new(usize::MAX).is_none());
    }

    #[test]
    fn fft_matches_ark_poly() {
        for (k, &n) in SIZES.iter().enumerate() {
            let d = Domain::<Fr>::new(n).unwrap();
            let coeffs = random_vec(n, k as u64);
            let mut ours = coeffs.clone();
            d.fft(&mut ours);
            assert!(ours == ark_domain(n).fft(&coeffs), "fft, size {n}");
            let mut back = ours.clone();
            d.ifft(&mut back);
            assert!(back == coeffs, "ifft round trip, size {n}");
            assert!(back == ark_domain(n).ifft(&ours), "ifft, size {n}");
        }
    }

    #[test]
    fn coset_fft_matches_ark_poly() {
        for (k, &n) in SIZES.iter().enumerate() {
            let d = Domain::<Fr>::new(n).unwrap();
            let coset = ark_domain(n).get_coset(Fr::GENERATOR).unwrap();
            let coeffs = random_vec(n, 100 + k as u64);
            let mut ours = coeffs.clone();
            d.coset_fft(&mut ours);
            assert!(ours == coset.fft(&coeffs), "coset fft, size {n}");
            let mut back = ours.clone();
            d.coset_ifft(&mut back);
            assert!(back == coeffs, "coset ifft round trip, size {n}");
        }
    }

    #[test]
    fn fft_evaluates_the_polynomial_at_the_domain_points() {
        let d = Domain::<Fr>::new(16).unwrap();
        let coeffs = random_vec(16, 7);
        let mut evals = coeffs.clone();
        d.fft(&mut evals);
        let mut coset_evals = coeffs.clone();
        d.coset_fft(&mut coset_evals);
        for i in 0..16 {
            assert_eq!(evals[i], eval(&coeffs, d.element(i)));
            assert_eq!(coset_evals[i], eval(&coeffs, d.coset_gen * d.element(i)));
        }
    }

    #[test]
    fn large_transform_round_trips() {
        // Exercises the parallel wide stages with many groups per stage.
        let n = 1 << 16;
        let d = Domain::<Fr>::new(n).unwrap();
        let coeffs = random_vec(n, 42);
        let mut a = coeffs.clone();
        d.coset_fft(&mut a);
        d.coset_ifft(&mut a);
        assert!(a == coeffs, "transform differs");
        d.fft(&mut a);
        assert!(a == ark_domain(n).fft(&coeffs), "transform differs");
    }

    #[test]
    fn transform_does_not_depend_on_the_thread_count() {
        // One thread takes the sequential wide stages; odd counts give uneven blocks.
        let n = 1 << 15;
        let coeffs = random_vec(n, 43);
        let expected = ark_domain(n).fft(&coeffs);
        let d = Domain::<Fr>::new(n).unwrap();
        for threads in [1, 3, 16] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
            let mut a = coeffs.clone();
            pool.install(|| d.fft(&mut a));
            assert!(a == expected, "fft differs with {threads} threads");
            pool.install(|| d.ifft(&mut a));
            assert!(a == coeffs, "ifft differs with {threads} threads");
        }
    }

    #[test]
    #[should_panic(expected = "NTT input has 3 elements but the domain has 4")]
    fn fft_refuses_a_vector_of_the_wrong_length() {
        Domain::<Fr>::new(4).unwrap().fft(&mut [Fr::from(1u64); 3]);
    }

    #[test]
    fn vanishing_polynomial_is_zero_exactly_on_the_domain() {
        let d = Domain::<Fr>::new(8).unwrap();
        for i in 0..8 {
            assert!(d.vanishing_at(d.element(i)).is_zero());
        }
        assert!(!d.vanishing_at(d.coset_gen).is_zero());
        let x = Fr::from(12345u64);
        assert_eq!(d.vanishing_at(x), x.pow([8]) - Fr::from(1u64));
    }

    #[test]
    fn lagrange_coefficients_interpolate_at_a_random_point() {
        let mut rng = StdRng::seed_from_u64(9);
        for n in [2, 8, 64, 1 << 13] {
            let d = Domain::<Fr>::new(n).unwrap();
            let tau = Fr::rand(&mut rng);
            let l = d.lagrange_coefficients_at(tau);
            assert!(l == ark_domain(n).evaluate_all_lagrange_coefficients(tau), "size {n}");
            // sum_i p(omega^i) L_i(tau) = p(tau) for a polynomial of degree < n.
            let coeffs = random_vec(n, n as u64);
            let mut evals = coeffs.clone();
            d.fft(&mut evals);
            let interpolated: Fr = evals.iter().zip(&l).map(|(e, li)| *e * li).sum();
            assert_eq!(interpolated, eval(&coeffs, tau), "size {n}");
        }
    }

    #[test]
    fn lagrange_coefficients_on_the_domain_are_unit_vectors() {
        let d = Domain::<Fr>::new(16).unwrap();
        for k in [0, 1, 7, 15] {
            let l = d.lagrange_coefficients_at(d.element(k));
            for (i, li) in l.iter().enumerate() {
                assert_eq!(*li, Fr::from((i == k) as u64), "L_{i}(omega^{k})");
            }
        }
    }
}
