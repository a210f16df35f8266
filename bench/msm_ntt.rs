//! zkml's MSM and NTT against arkworks, side by side in one run.
//!
//! `cargo bench --features bench-internals --bench msm_ntt [-- FILTER...]`
//! prints a markdown table: the median wall time of each implementation over
//! several alternating runs, and the ratio ours/arkworks (lower is better). A
//! FILTER keeps only the rows whose label contains it (e.g. `G2`, `NTT`). The
//! feature exposes `msm::msm_without_size_split`, for the last table.

use std::time::{Duration, Instant};

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::PrimeGroup;
use ark_ff::{UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use zkml_native::{msm, ntt::Domain};

/// Uniform scalars in Fr.
fn random_scalars(n: usize, rng: &mut StdRng) -> Vec<Fr> {
    (0..n).map(|_| Fr::rand(rng)).collect()
}

/// A zkml witness's profile: mostly range-check bits, then small integers.
/// 30% zeros, 30% ones, 25% below 2^16, 15% uniform.
fn zkml_scalars(n: usize, rng: &mut StdRng) -> Vec<Fr> {
    (0..n)
        .map(|_| match rng.gen_range(0..100) {
            0..=29 => Fr::zero(),
            30..=59 => Fr::from(1u64),
            60..=84 => Fr::from(rng.gen::<u16>()),
            _ => Fr::rand(rng),
        })
        .collect()
}

/// Median of `reps` timings of `ours` and of `theirs`, run alternately so that
/// frequency drift and background noise hit both alike.
fn race(reps: usize, mut ours: impl FnMut(), mut theirs: impl FnMut()) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    // One untimed warm-up each: page faults, thread pool start-up.
    ours();
    theirs();
    for _ in 0..reps {
        let t = Instant::now();
        ours();
        a.push(t.elapsed());
        let t = Instant::now();
        theirs();
        b.push(t.elapsed());
    }
    a.sort();
    b.sort();
    (a[reps / 2], b[reps / 2])
}

struct Table {
    filters: Vec<String>,
}

impl Table {
    fn wants(&self, label: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| label.contains(f.as_str()))
    }

    fn row(&self, label: &str, (ours, theirs): (Duration, Duration)) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("| {label} | {:.1} | {:.1} | {:.2} |", ms(ours), ms(theirs), ms(ours) / ms(theirs));
    }
}

fn bench_msm<G: msm::MsmCurve<ScalarField = Fr>>(table: &Table, group: &str, log_sizes: &[u32], rng: &mut StdRng) {
    let labels: Vec<(u32, &str)> = log_sizes
        .iter()
        .flat_map(|&k| [(k, "random"), (k, "zkml-like")])
        .filter(|(k, kind)| table.wants(&format!("MSM {group} 2^{k} {kind}")))
        .collect();
    let Some(max_log) = labels.iter().map(|(k, _)| *k).max() else {
        return;
    };
    let max_n = 1usize << max_log;
    let bases = msm::fixed_base_batch(G::generator(), &random_scalars(max_n, rng));
    for (k, kind) in labels {
        let n = 1usize << k;
        let scalars = if kind == "random" { random_scalars(n, rng) } else { zkml_scalars(n, rng) };
        let bases = &bases[..n];
        let reps = if k >= 20 {
            3
        } else if k >= 18 {
            5
        } else if k >= 16 {
            7
        } else {
            11
        };
        let mut check = (G::zero(), G::zero());
        let times = race(
            reps,
            || check.0 = msm::msm::<G>(bases, &scalars),
            || check.1 = G::msm(bases, &scalars).expect("equal lengths"),
        );
        assert_eq!(check.0, check.1, "MSM results differ");
        table.row(&format!("MSM {group} 2^{k} {kind}"), times);
    }
}

/// What sorting scalars by size buys: our MSM against itself with every
/// non-zero scalar in one full-width band, on zkml-like scalars.
fn bench_size_split(table: &Table, log_sizes: &[u32], rng: &mut StdRng) {
    let labels: Vec<u32> = log_sizes.iter().copied().filter(|k| table.wants(&format!("split G1 2^{k}"))).collect();
    let Some(&max_log) = labels.iter().max() else {
        return;
    };
    let bases = msm::fixed_base_batch(G1Projective::generator(), &random_scalars(1 << max_log, rng));
    println!();
    println!("| zkml-like scalars, G1 | sorted by size (ms) | one band (ms) | sorted/one band |");
    println!("|---|---:|---:|---:|");
    for k in labels {
        let n = 1usize << k;
        let scalars = zkml_scalars(n, rng);
        let bases = &bases[..n];
        let reps = if k >= 18 { 5 } else { 7 };
        let mut check = (G1Projective::zero(), G1Projective::zero());
        let times = race(
            reps,
            || check.0 = msm::msm::<G1Projective>(bases, &scalars),
            || check.1 = msm::msm_without_size_split(bases, &scalars),
        );
        assert_eq!(check.0, check.1, "MSM results differ");
        table.row(&format!("split G1 2^{k}"), times);
    }
}

fn bench_ntt(table: &Table, log_sizes: &[u32], rng: &mut StdRng) {
    for &k in log_sizes {
        let label = format!("NTT 2^{k}");
        if !table.wants(&label) {
            continue;
        }
        let n = 1usize << k;
        let ours = Domain::<Fr>::new(n).expect("within 2-adicity");
        let theirs = Radix2EvaluationDomain::<Fr>::new(n).expect("within 2-adicity");
        let input = random_scalars(n, rng);
        let (mut a, mut b) = (input.clone(), input.clone());
        let reps = if k >= 19 { 7 } else { 11 };
        let times = race(reps, || ours.fft(&mut a), || theirs.fft_in_place(&mut b));
        assert_eq!(a, b, "NTT results differ");
        table.row(&label, times);
    }
}

fn main() {
    let filters = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let table = Table { filters };
    let mut rng = StdRng::seed_from_u64(2024);
    println!("rayon threads: {}\n", rayon::current_num_threads());
    println!("| operation | ours (ms) | arkworks (ms) | ours/arkworks |");
    println!("|---|---:|---:|---:|");
    bench_msm::<G1Projective>(&table, "G1", &[12, 14, 16, 18, 20], &mut rng);
    bench_msm::<G2Projective>(&table, "G2", &[14], &mut rng);
    bench_ntt(&table, &[14, 15, 16, 17, 18, 19, 20], &mut rng);
    bench_size_split(&table, &[14, 16, 18], &mut rng);
}
