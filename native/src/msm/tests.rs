//! Tests of the MSM against naive sums and arkworks, on the scalar and point
//! shapes that take different paths through it.

use super::digits::{signed_digit, signed_magnitude};
use super::plan::{WindowPlan, MAX_BATCH};
use super::*;
use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, VariableBaseMSM};
use ark_ff::{BigInteger, Field, One, PrimeField, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

/// The reference: one scalar multiplication per term.
fn naive<G: CurveGroup>(bases: &[G::Affine], scalars: &[G::ScalarField]) -> G {
    bases.iter().zip(scalars).map(|(b, s)| *b * s).sum()
}

fn random_bases<G: CurveGroup>(n: usize, rng: &mut StdRng) -> Vec<G::Affine> {
    let points: Vec<G> = (0..n).map(|_| G::rand(rng)).collect();
    G::normalize_batch(&points)
}

/// Scalars of every kind the MSM treats differently, including the
/// boundaries between its size bands and the sign flip at (r-1)/2.
fn mixed_scalars(n: usize, rng: &mut StdRng) -> Vec<Fr> {
    let half = Fr::from(Fr::MODULUS_MINUS_ONE_DIV_TWO);
    (0..n)
        .map(|_| match rng.gen_range(0..12) {
            0 => Fr::zero(),
            1 => Fr::one(),
            2 => -Fr::one(),
            3 => Fr::from(rng.gen::<u16>()),
            4 => -Fr::from(rng.gen::<u16>()),
            5 => Fr::from(rng.gen::<u64>() >> rng.gen_range(0..64)),
            6 => -Fr::from(rng.gen::<u128>() >> rng.gen_range(0..128)),
            7 => Fr::from(2u64).pow([rng.gen_range(0..254u64)]) - Fr::from(rng.gen_range(0..2u64)),
            8 => half + Fr::from(rng.gen_range(0..3u64)) - Fr::one(),
            9 => Fr::from(rng.gen_range(2..6u64)),
            _ => Fr::rand(rng),
        })
        .collect()
}

fn check_against_naive<G: MsmCurve<ScalarField = Fr>>(n: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bases = random_bases::<G>(n, &mut rng);
    // Identity bases, a repeated base and its negation (doubling and
    // cancellation inside buckets and in the sum of unit terms).
    if n >= 3 {
        bases[0] = G::Affine::zero();
        bases[n - 1] = bases[1];
    }
    if n >= 17 {
        for i in (2..n).step_by(5) {
            bases[i] = if i % 2 == 0 { bases[1] } else { (-bases[1].into_group()).into_affine() };
        }
    }
    let scalars = mixed_scalars(n, &mut rng);
    assert_eq!(msm::<G>(&bases, &scalars), naive::<G>(&bases, &scalars), "n = {n}");
}

#[test]
fn msm_matches_naive_on_mixed_scalars_in_g1() {
    for (seed, n) in [0, 1, 2, 3, 17, 1000, 5000].into_iter().enumerate() {
        check_against_naive::<G1Projective>(n, seed as u64);
    }
}

#[test]
fn msm_matches_naive_on_mixed_scalars_in_g2() {
    for (seed, n) in [0, 1, 2, 3, 17, 1000, 5000].into_iter().enumerate() {
        check_against_naive::<G2Projective>(n, 100 + seed as u64);
    }
}

#[test]
fn msm_of_nothing_is_the_identity() {
    assert!(msm::<G1Projective>(&[], &[]).is_zero());
    let g = [G1Affine::generator(); 4];
    assert!(msm::<G1Projective>(&g, &[Fr::zero(); 4]).is_zero());
    assert!(msm::<G1Projective>(&[G1Affine::zero(); 2], &[Fr::one(), Fr::from(7u64)]).is_zero());
}

#[test]
fn msm_handles_one_bucket_taking_every_point() {
    // Every scalar equal: one bucket per window takes all points, so the
    // queue overflows into the spill buckets.
    let mut rng = StdRng::seed_from_u64(5);
    for s in [Fr::from(3u64), -Fr::from(77u64), Fr::from(1u64 << 40), Fr::rand(&mut rng)] {
        let bases = random_bases::<G1Projective>(3000, &mut rng);
        let scalars = vec![s; bases.len()];
        let sum: G1Projective = bases.iter().map(|b| b.into_group()).sum();
        assert_eq!(msm::<G1Projective>(&bases, &scalars), sum * s);
    }
}

#[test]
fn msm_handles_one_base_repeated() {
    // Same point everywhere: every batch addition would be a doubling.
    let mut rng = StdRng::seed_from_u64(6);
    let bases = vec![G1Affine::generator(); 2000];
    let scalars = mixed_scalars(bases.len(), &mut rng);
    let total: Fr = scalars.iter().sum();
    assert_eq!(msm::<G1Projective>(&bases, &scalars), G1Affine::generator() * total);
}

#[test]
fn msm_matches_arkworks_on_large_inputs() {
    // Large enough for multi-chunk windows and the parallel unit sum.
    let mut rng = StdRng::seed_from_u64(7);
    let n = 1 << 16;
    let bases = random_bases::<G1Projective>(n, &mut rng);
    let random: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    let mixed = mixed_scalars(n, &mut rng);
    for scalars in [random, mixed] {
        let expected = G1Projective::msm(&bases, &scalars).expect("equal lengths");
        assert_eq!(msm::<G1Projective>(&bases, &scalars), expected);
        assert_eq!(msm_without_size_split(&bases, &scalars), expected);
    }
}

#[test]
fn msm_result_does_not_depend_on_the_thread_count() {
    // Thread counts change how windows are grouped and points chunked.
    let mut rng = StdRng::seed_from_u64(10);
    let n = 20_000;
    let bases = random_bases::<G1Projective>(n, &mut rng);
    let scalars = mixed_scalars(n, &mut rng);
    let expected = G1Projective::msm(&bases, &scalars).expect("equal lengths");
    for threads in [1, 3, 16] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        assert_eq!(pool.install(|| msm::<G1Projective>(&bases, &scalars)), expected, "{threads} threads");
    }
}

/// The MSM with the field multiplication forced, on every shape of input that
/// `check_against_naive` and `msm_matches_arkworks_on_large_inputs` use: the
/// portable one everywhere, the BMI2/ADX one where the CPU has it (which
/// `msm` then picks by itself for G1).
#[test]
fn msm_with_each_field_multiplication_matches_arkworks() {
    use super::field_ops::Portable;
    use super::pippenger::pippenger_with;
    #[cfg(target_arch = "x86_64")]
    let adx = super::field_ops::Adx::for_field::<ark_bn254::Fq>();
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(adx.is_some(), super::fq_adx::detected());
        assert!(super::field_ops::Adx::for_field::<ark_bn254::Fq2>().is_none());
        assert!(super::field_ops::Adx::for_field::<Fr>().is_none());
        if adx.is_none() {
            eprintln!("no BMI2/ADX on this CPU: only the portable MSM is tested here");
        }
    }
    let mut rng = StdRng::seed_from_u64(11);
    for (n, repeated) in [(3, false), (17, true), (1000, true), (5000, false), (1 << 15, false)] {
        let mut bases = random_bases::<G1Projective>(n, &mut rng);
        bases[0] = G1Affine::zero();
        if repeated {
            for i in (2..n).step_by(5) {
                bases[i] = if i % 2 == 0 { bases[1] } else { -bases[1] };
            }
        }
        let random: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        for scalars in [random, mixed_scalars(n, &mut rng)] {
            let expected = G1Projective::msm(&bases, &scalars).expect("equal lengths");
            for by_size in [true, false] {
                let case = format!("n = {n}, by_size = {by_size}");
                assert_eq!(pippenger_with(&bases, &scalars, by_size, Portable), expected, "portable, {case}");
                #[cfg(target_arch = "x86_64")]
                if let Some(adx) = adx {
                    assert_eq!(pippenger_with(&bases, &scalars, by_size, adx), expected, "adx, {case}");
                }
            }
        }
    }
}

/// G2's MSM on the portable path, forced (G2 never takes the ADX one).
#[test]
fn g2_msm_on_the_portable_path_matches_arkworks() {
    use super::field_ops::Portable;
    use super::pippenger::pippenger_with;
    let mut rng = StdRng::seed_from_u64(13);
    let n = 3000;
    let bases = random_bases::<G2Projective>(n, &mut rng);
    let random: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    for scalars in [random, mixed_scalars(n, &mut rng)] {
        let expected = G2Projective::msm(&bases, &scalars).expect("equal lengths");
        assert_eq!(pippenger_with(&bases, &scalars, true, Portable), expected);
    }
}

#[test]
fn window_plans_cover_every_bit_window_and_point() {
    for bits in [2, 3, 8, 16, 17, 64, 200, 253] {
        for m in [1, 10, 1000, 1 << 16, 1 << 20] {
            for threads in [1, 2, 16] {
                let plan = WindowPlan::new(m, bits, threads);
                let case = format!("bits {bits}, m {m}, threads {threads}");
                assert_eq!(plan.widths.iter().sum::<usize>(), bits + 1, "{case}");
                assert!(plan.widths.iter().all(|&w| w >= 1 && 1 << (w - 1) <= plan.buckets), "{case}");
                for (w, &offset) in plan.offsets.iter().enumerate() {
                    assert_eq!(offset, plan.widths[..w].iter().sum::<usize>(), "{case}");
                }
                let covered: Vec<usize> = plan.groups.iter().flat_map(|g| g.clone()).collect();
                assert_eq!(covered, (0..plan.widths.len()).collect::<Vec<_>>(), "{case}");
                assert!(plan.chunks >= 1 && plan.chunks <= m.max(1), "{case}");
                assert!(plan.batch <= MAX_BATCH, "{case}");
            }
        }
    }
}

#[test]
#[should_panic(expected = "msm: 2 bases but 1 scalars")]
fn msm_refuses_mismatched_lengths() {
    let _ = msm::<G1Projective>(&[G1Affine::generator(); 2], &[Fr::one()]);
}

#[test]
fn signed_digits_recompose_the_scalar() {
    let mut rng = StdRng::seed_from_u64(8);
    for _ in 0..200 {
        let (k, _) = signed_magnitude(&Fr::rand(&mut rng));
        let bits = k.num_bits() as usize;
        for width in [2, 5, 13, 16] {
            let mut offset = 0;
            let mut sum = Fr::zero();
            while offset < bits + 1 {
                let d = signed_digit(k.as_ref(), offset, width);
                assert!(d.unsigned_abs() <= 1 << (width - 1));
                let d_abs = Fr::from(d.unsigned_abs()) * Fr::from(2u64).pow([offset as u64]);
                sum += if d < 0 { -d_abs } else { d_abs };
                offset += width;
            }
            assert_eq!(sum, Fr::from(k), "width {width}");
        }
    }
}

#[test]
fn fixed_base_batch_matches_direct_multiplication() {
    let mut rng = StdRng::seed_from_u64(9);
    for n in [0, 1, 5, 1000] {
        let scalars = mixed_scalars(n, &mut rng);
        let g1 = G1Projective::rand(&mut rng);
        let expected: Vec<G1Affine> = scalars.iter().map(|s| (g1 * s).into_affine()).collect();
        assert_eq!(fixed_base_batch(g1, &scalars), expected, "G1, n = {n}");
        let g2 = G2Projective::rand(&mut rng);
        let expected: Vec<G2Affine> = scalars.iter().map(|s| (g2 * s).into_affine()).collect();
        assert_eq!(fixed_base_batch(g2, &scalars), expected, "G2, n = {n}");
    }
}

/// The bucket reduction's Jacobian additions against arkworks', with each
/// field multiplication, on random points, equal and opposite ones and the
/// identity, in G1 and G2.
#[test]
fn jacobian_additions_match_arkworks() {
    use super::field_ops::{FieldOps, Portable};
    use super::jacobian;
    use ark_ec::short_weierstrass::{Projective, SWCurveConfig};
    use ark_ff::AdditiveGroup;

    fn check<P: SWCurveConfig, M: FieldOps>(ops: M, rng: &mut StdRng) {
        let mut points: Vec<Projective<P>> = (0..20).map(|_| Projective::<P>::rand(rng)).collect();
        let g = points[0];
        points.extend([Projective::zero(), g, -g, g.double(), g + g.double()]);
        for p in &points {
            for q in &points {
                let expected = *p + q;
                let mut sum = *p;
                jacobian::add(&mut sum, q, ops);
                assert_eq!(sum, expected);
                let mut sum = *p;
                jacobian::add_affine(&mut sum, &q.into_affine(), ops);
                assert_eq!(sum, expected);
            }
        }
    }
    let mut rng = StdRng::seed_from_u64(12);
    check::<ark_bn254::g1::Config, _>(Portable, &mut rng);
    check::<ark_bn254::g2::Config, _>(Portable, &mut rng);
    #[cfg(target_arch = "x86_64")]
    if let Some(adx) = super::field_ops::Adx::for_field::<ark_bn254::Fq>() {
        check::<ark_bn254::g1::Config, _>(adx, &mut rng);
    }
}
