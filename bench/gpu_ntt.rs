//! GPU NTT beside our CPU NTT on the same machine: `cargo bench --bench gpu_ntt`
//! on a machine with an NVIDIA GPU (prints a markdown table).
//!
//! For each size 2^16 .. 2^24 (`ZKML_BENCH_MAX_LOG2` caps it): the GPU fft on
//! a buffer already on the device (the kernels alone), the GPU fft with the
//! upload and download (what `Backend::fft` costs), and `Domain::fft` on all
//! CPU cores. Median and spread ((max - min) / median) over the runs, after a
//! warm-up run (which also builds the size's twiddle tables on the device).

use std::time::Instant;

use ark_bn254::Fr;
use zkml_native::cuda::ntt::NttKind;
use zkml_native::cuda::{sample_scalars, Cuda};
use zkml_native::ntt::Domain;

fn stats(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = t[t.len() / 2];
    (median, (t[t.len() - 1] - t[0]) / median)
}

fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    f(); // warm-up
    stats(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    let gpu = match Cuda::open() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("no GPU benchmark: {e}");
            return;
        }
    };
    let max_log2: u32 = std::env::var("ZKML_BENCH_MAX_LOG2").ok().and_then(|v| v.parse().ok()).unwrap_or(24).min(26);
    let info = gpu.info();
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
    println!("fft times in ms: median (spread = (max-min)/median); resident = data on the device (kernels only); +transfers = upload, kernels, download; cpu = Domain::fft on all cores");
    println!("| n | GPU resident | GPU +transfers | CPU | CPU/GPU resident | CPU/GPU +transfers |");
    println!("|---|---:|---:|---:|---:|---:|");
    for log2 in 16..=max_log2 {
        let d = Domain::<Fr>::new(1 << log2).expect("a BN254 domain");
        let x = sample_scalars(d.size, "random", log2 as u64);

        // Correct before timed.
        let mut want = x.clone();
        d.fft(&mut want);
        let mut got = x.clone();
        gpu.ntt(&d, &mut got, NttKind::Fft).expect("GPU fft");
        assert!(got == want, "GPU fft of 2^{log2} differs from the CPU");

        let resident = gpu.upload_scalars(&x).expect("upload");
        let (r_med, r_spread) = time(20, || gpu.ntt_device(&d, &resident, NttKind::Fft).expect("GPU fft"));
        let mut a = x.clone();
        let (t_med, t_spread) = time(10, || gpu.ntt(&d, &mut a, NttKind::Fft).expect("GPU fft"));
        let cpu_runs = if log2 >= 22 { 3 } else { 7 };
        let mut c = x.clone();
        let (c_med, c_spread) = time(cpu_runs, || d.fft(&mut c));
        println!(
            "| 2^{log2} | {r_med:.3} ({:.0}%) | {t_med:.2} ({:.0}%) | {c_med:.1} ({:.0}%) | {:.0}x | {:.1}x |",
            r_spread * 100.0,
            t_spread * 100.0,
            c_spread * 100.0,
            c_med / r_med,
            c_med / t_med
        );
    }
}
