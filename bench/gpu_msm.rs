//! GPU MSM beside our CPU MSM on the same machine: `cargo bench --bench gpu_msm`
//! on a machine with an NVIDIA GPU (prints the table for bench/RESULTS.md).
//!
//! For each size: G1 with points and scalars resident on the device (the
//! kernels alone), with the scalars copied from the host each time, and with
//! points and scalars both copied (a one-shot MSM); G2 likewise; and our CPU
//! MSM on all cores. Median and spread ((max - min) / median) over the runs.
//! `ZKML_BENCH_MAX_LOG2` caps the largest size (default 24, 26 if memory allows).

use std::time::Instant;

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective};
use zkml_native::backend::Backend;
use zkml_native::cuda::msm::GpuGroup;
use zkml_native::cuda::{sample_points, sample_scalars, Cuda};

fn stats(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = t[t.len() / 2];
    (median, (t[t.len() - 1] - t[0]) / median)
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    f(); // warm-up
    stats(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn row<P: GpuGroup>(gpu: &Cuda, log2: u32, profile: &str, runs: usize, cpu_runs: usize)
where
    Cuda: OneShot<P>,
{
    let n = 1usize << log2;
    let points: Vec<Affine<P>> = sample_points::<P>(n, log2 as u64);
    let scalars = sample_scalars(n, profile, 7 + log2 as u64);
    let resident = gpu.upload(&points).expect("upload");
    let dev_scalars = gpu.upload_scalars(&scalars).expect("upload scalars");
    let want = zkml_native::msm::msm::<Projective<P>>(&points, &scalars);
    assert_eq!(
        gpu.msm_resident_scalars::<P>(&resident, &dev_scalars).unwrap(),
        want,
        "GPU result differs from the CPU"
    );
    let (k_med, k_spread) = time(runs, || gpu.msm_resident_scalars::<P>(&resident, &dev_scalars).unwrap());
    let (s_med, s_spread) = time(runs, || gpu.msm_resident::<P>(&resident, &scalars).unwrap());
    let (o_med, o_spread) = time(runs.clamp(3, 5), || gpu.one_shot(&points, &scalars));
    let (c_med, c_spread) = time(cpu_runs, || zkml_native::msm::msm::<Projective<P>>(&points, &scalars));
    println!(
        "| {} | 2^{log2} | {profile} | {k_med:.2} ({:.0}%) | {s_med:.2} ({:.0}%) | {o_med:.1} ({:.0}%) | {c_med:.1} ({:.0}%) | {:.0}x |",
        P::NAME.to_uppercase(),
        k_spread * 100.0,
        s_spread * 100.0,
        o_spread * 100.0,
        c_spread * 100.0,
        c_med / k_med
    );
}

/// A one-shot MSM through the Backend trait (points and scalars copied).
trait OneShot<P: GpuGroup> {
    fn one_shot(&self, p: &[Affine<P>], s: &[Fr]) -> Projective<P>;
}
impl OneShot<ark_bn254::g1::Config> for Cuda {
    fn one_shot(&self, p: &[ark_bn254::G1Affine], s: &[Fr]) -> G1Projective {
        self.msm_g1(p, s).unwrap()
    }
}
impl OneShot<ark_bn254::g2::Config> for Cuda {
    fn one_shot(&self, p: &[ark_bn254::G2Affine], s: &[Fr]) -> G2Projective {
        self.msm_g2(p, s).unwrap()
    }
}

fn main() {
    let gpu = match Cuda::open() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("no GPU benchmark: {e}");
            return;
        }
    };
    if std::env::var_os("ZKML_BENCH_PROFILE").is_some() {
        // Phase times (ZKML_CUDA_PROFILE must be set too) at a few sizes.
        for log2 in [16u32, 20, 24] {
            let n = 1usize << log2;
            let points = sample_points::<ark_bn254::g1::Config>(n, 1);
            let resident = gpu.upload(&points).unwrap();
            for profile in ["random", "witness"] {
                let scalars = gpu.upload_scalars(&sample_scalars(n, profile, 2)).unwrap();
                for _ in 0..3 {
                    let _ = gpu.msm_resident_scalars::<ark_bn254::g1::Config>(&resident, &scalars).unwrap();
                }
            }
        }
        return;
    }
    let info = gpu.info();
    let (free, _) = gpu.memory().unwrap();
    let max_log2: u32 = std::env::var("ZKML_BENCH_MAX_LOG2")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if free > (40usize << 30) { 26 } else { 24 });
    let g2_max: u32 = std::env::var("ZKML_BENCH_G2_MAX_LOG2").ok().and_then(|v| v.parse().ok()).unwrap_or(22);
    println!(
        "GPU: {} (sm_{}{}, {} SMs, {} GiB), {}; CPU: {} threads",
        info.name,
        info.capability.0,
        info.capability.1,
        info.multiprocessors,
        info.total_memory >> 30,
        info.nvrtc,
        rayon::current_num_threads()
    );
    println!("times in ms: median (spread = (max-min)/median); kernels = points and scalars resident; +scalars = scalars copied each call; one-shot = points and scalars copied; cpu = our CPU MSM on all cores");
    println!("| group | n | scalars | GPU kernels | GPU +scalars | GPU one-shot | CPU | CPU/GPU kernels |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for log2 in (16..=max_log2).step_by(2) {
        let cpu_runs = if log2 >= 22 { 3 } else { 10 };
        row::<ark_bn254::g1::Config>(&gpu, log2, "random", 10, cpu_runs);
    }
    row::<ark_bn254::g1::Config>(&gpu, 20, "witness", 10, 10);
    // The plan's choices against their neighbours (window c, task length L).
    println!("\n| G1 random | c | L | GPU kernels |\n|---|---:|---:|---:|");
    for (log2, c, l) in [
        (20u32, 0u32, 0u32),
        (20, 16, 32),
        (20, 13, 32),
        (20, 14, 64),
        (24, 0, 0),
        (24, 16, 32),
        (24, 16, 64),
        (24, 18, 128),
    ] {
        if log2 > max_log2 {
            continue;
        }
        let set = |k: &str, v: u32| {
            if v == 0 {
                std::env::remove_var(k)
            } else {
                std::env::set_var(k, v.to_string())
            }
        };
        set("ZKML_CUDA_WINDOW", c);
        set("ZKML_CUDA_TASK_LEN", l);
        let plan = zkml_native::cuda::plan::MsmPlan::new(1 << log2).unwrap();
        let n = 1usize << log2;
        let points = sample_points::<ark_bn254::g1::Config>(n, log2 as u64);
        let resident = gpu.upload(&points).unwrap();
        let scalars = gpu.upload_scalars(&sample_scalars(n, "random", 7 + log2 as u64)).unwrap();
        let (med, spread) =
            time(10, || gpu.msm_resident_scalars::<ark_bn254::g1::Config>(&resident, &scalars).unwrap());
        println!(
            "| 2^{log2}{} | {} | {} | {med:.2} ({:.0}%) |",
            if c == 0 && l == 0 { " (plan)" } else { "" },
            plan.c,
            plan.task_len,
            spread * 100.0
        );
    }
    std::env::remove_var("ZKML_CUDA_WINDOW");
    std::env::remove_var("ZKML_CUDA_TASK_LEN");
    for log2 in (16..=g2_max).step_by(2) {
        let cpu_runs = if log2 >= 20 { 3 } else { 10 };
        row::<ark_bn254::g2::Config>(&gpu, log2, "random", 10, cpu_runs);
    }
}
