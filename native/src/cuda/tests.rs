//! Without a GPU: the plan, the digit decomposition and a CPU model of the
//! kernel pipeline against the CPU MSM; the portable field and curve code on
//! the host; every kernel through NVRTC. With a GPU (`cargo test -- --ignored`
//! on a machine with one): the kernels against the CPU.

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ff::{BigInteger, PrimeField};
use num_bigint::BigInt;

use super::plan::{booth_digits, model_msm, MsmPlan, SCALAR_BITS};
use super::*;
use crate::msm::digits::signed_magnitude;

fn edge_scalars() -> Vec<Fr> {
    let half = Fr::from_bigint(Fr::MODULUS_MINUS_ONE_DIV_TWO).unwrap();
    vec![
        Fr::from(0u64),
        Fr::from(1u64),
        -Fr::from(1u64),
        half,
        half + Fr::from(1u64),
        Fr::from(2u64),
        -Fr::from(2u64),
        Fr::from(u64::MAX),
    ]
}

#[test]
fn the_plan_covers_every_scalar_bit_and_tiles_the_buckets() {
    for log2 in [0, 1, 5, 10, 16, 20, 24, 26] {
        let plan = MsmPlan::new(1 << log2).unwrap();
        assert!(plan.c * plan.windows >= SCALAR_BITS, "{plan:?}");
        assert!(plan.c * (plan.windows - 1) < SCALAR_BITS, "a window too many: {plan:?}");
        assert_eq!(plan.buckets, 1 << (plan.c - 1));
        assert_eq!(plan.buckets % plan.segment, 0, "{plan:?}");
        assert!(plan.segment.is_power_of_two());
    }
    // Windows widen with the number of points.
    assert!(MsmPlan::new(1 << 20).unwrap().c > MsmPlan::new(1 << 10).unwrap().c);
}

#[test]
fn an_msm_beyond_the_entry_index_range_is_refused_not_wrapped() {
    let err = MsmPlan::new(1 << 29).err().unwrap();
    assert!(err.to_string().contains("beyond the GPU path's limit"), "{err}");
}

#[test]
fn booth_digits_rebuild_every_edge_and_random_scalar() {
    let mut scalars = edge_scalars();
    scalars.extend(sample_scalars(200, "random", 3));
    for c in 4..=16 {
        let windows = SCALAR_BITS.div_ceil(c);
        for s in &scalars {
            let (k, negate) = signed_magnitude(s);
            let digits = booth_digits(k.as_ref(), c, windows);
            let mut acc = BigInt::from(0);
            for (w, &d) in digits.iter().enumerate() {
                assert!(d.unsigned_abs() <= 1 << (c - 1), "digit {d} too large for c = {c}");
                acc += BigInt::from(d) << (w as u32 * c);
            }
            let want = BigInt::from_bytes_le(num_bigint::Sign::Plus, &k.to_bytes_le());
            assert_eq!(acc, want, "c = {c}, scalar {s}");
            // The sign folds back to s.
            let mag = Fr::from_le_bytes_mod_order(&want.to_bytes_le().1);
            assert_eq!(if negate { -mag } else { mag }, *s);
        }
    }
}

#[test]
fn the_kernel_pipeline_modelled_on_the_cpu_equals_the_cpu_msm() {
    for (n, seed) in [(1usize, 1u64), (8, 2), (100, 3), (1 << 10, 4)] {
        let g1 = with_edge_points(sample_points::<ark_bn254::g1::Config>(n, seed));
        let g2 = with_edge_points(sample_points::<ark_bn254::g2::Config>(n, seed));
        for profile in ["random", "witness", "edge"] {
            let s = sample_scalars(n, profile, seed);
            assert_eq!(model_msm(&g1, &s).unwrap(), crate::msm::msm::<G1Projective>(&g1, &s), "G1 n={n} {profile}");
            assert_eq!(model_msm(&g2, &s).unwrap(), crate::msm::msm::<G2Projective>(&g2, &s), "G2 n={n} {profile}");
        }
    }
}

#[test]
fn a_bucket_holding_most_points_is_reduced_over_several_levels() {
    // 2^13 points nearly all with scalar 3: one bucket of ~8k points needs
    // 8192 / 32 / 32 / 32 -> three levels of task sums.
    let n = 1 << 13;
    let points = sample_points::<ark_bn254::g1::Config>(n, 9);
    let mut scalars = vec![Fr::from(3u64); n];
    scalars[17] = -Fr::from(5u64);
    assert_eq!(model_msm(&points, &scalars).unwrap(), crate::msm::msm::<G1Projective>(&points, &scalars));
}

/// Compiles `native/cuda/<file>` with the host C++ compiler into `out`.
fn build_host(file: &str, flags: &[&str], out: &std::path::Path) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cuda");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let built = std::process::Command::new(&cxx)
        .args(["-O2", "-std=c++17"])
        .args(flags)
        .arg("-I")
        .arg(&dir)
        .arg(dir.join(file))
        .arg("-o")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("a C++ compiler ({cxx}) is needed for this test: {e}"));
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
}

/// Builds `native/cuda/<file>` with the host C++ compiler, runs it, and checks
/// that it printed at least `min_lines` lines, each ending in "1".
fn run_host_check(file: &str, min_lines: usize) {
    run_host_check_with(file, &[], min_lines)
}

/// [`run_host_check`] passing `args` to the program.
fn run_host_check_with(file: &str, args: &[&std::ffi::OsStr], min_lines: usize) {
    let exe = std::env::temp_dir().join(format!("zkml-{file}-{}", std::process::id()));
    build_host(file, &[], &exe);
    let out = std::process::Command::new(&exe).args(args).output().unwrap();
    let _ = std::fs::remove_file(&exe);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{file} failed: {text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= min_lines, "{text}");
    for line in lines {
        assert!(line.ends_with(": 1") || line.ends_with(" 1"), "{file}: {line}");
    }
}

#[test]
fn the_portable_field_and_curve_code_is_right_on_the_host() {
    run_host_check("host_check.cpp", 8);
}

#[test]
fn the_msm_kernels_run_on_the_host_give_the_double_and_add_sum() {
    // Every kernel of the pipeline but the block scan, one thread at a time,
    // on random, small, edge and single-bucket scalars with edge points.
    run_host_check("host_msm_check.cpp", 12);
}

/// NVRTC, or None where it is missing and not required (`make test` sets
/// ZKML_REQUIRE_NVRTC=1 and installs it, so CI always compiles the kernels).
fn nvrtc_here() -> Option<&'static nvrtc::Nvrtc> {
    match nvrtc::Nvrtc::open() {
        Ok(n) => Some(n),
        Err(e) if std::env::var_os("ZKML_REQUIRE_NVRTC").is_none() => {
            eprintln!("not compiled: {e} (set ZKML_REQUIRE_NVRTC=1 to make this a failure)");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_kernel_compiles_through_nvrtc() {
    let Some(nvrtc) = nvrtc_here() else { return };
    let ptx = String::from_utf8(nvrtc.compile("compute_80", &[]).unwrap()).unwrap();
    for name in nvrtc::KERNELS {
        assert!(ptx.contains(&format!(".entry {name}(")), "kernel {name} missing from the PTX");
    }
    // The PTX carry chains are in there (not the portable fallback).
    assert!(ptx.contains("madc.hi.cc.u32") && ptx.contains("subc.cc.u32"));
    // The NTT moves elements as 16-byte accesses, and a pass holds its tile
    // (2^10 elements of 32 bytes) in shared memory.
    let entry = |name: &str| {
        let start = ptx.find(&format!(".entry {name}(")).unwrap();
        let end = ptx[start + 1..].find(".entry ").map_or(ptx.len(), |e| start + 1 + e);
        &ptx[start..end]
    };
    for name in ["zk_ntt_bitrev", "zk_ntt_pass"] {
        let body = entry(name);
        assert!(
            body.contains("ld.global.v4.u32") && body.contains("st.global.v4.u32"),
            "{name} without 16-byte loads and stores"
        );
    }
    assert!(entry("zk_ntt_pass").contains("[32768];"), "the NTT tile in shared memory");
}

#[test]
fn the_kernel_cache_file_is_named_by_version_arch_and_sources() {
    let name = nvrtc::cache_file_name((13, 0), "sm_90", &[]);
    println!("{name}"); // .gpu/precompile.py writes a cubin under this name
    let key = name.strip_prefix("bn254-sm_90-").and_then(|k| k.strip_suffix(".bin")).unwrap();
    assert!(key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    assert_ne!(name, nvrtc::cache_file_name((13, 1), "sm_90", &[]));
    assert_ne!(name, nvrtc::cache_file_name((13, 0), "sm_89", &[]));
    assert_ne!(name, nvrtc::cache_file_name((13, 0), "sm_90", &["ZKML_PORTABLE_ARITH"]));
    // Every source is hashed, the NTT's included.
    assert!(nvrtc::SOURCES.iter().any(|(n, s)| *n == "ntt.cuh" && s.contains("ntt_pass_block")));
}

#[test]
fn a_broken_kernel_source_is_a_device_error_carrying_the_compiler_log() {
    let Some(nvrtc) = nvrtc_here() else { return };
    // Redefining the limb type breaks every declaration that uses it.
    let err = nvrtc.compile("compute_80", &["u32=struct"]).err().unwrap();
    assert!(matches!(err, Error::Device(_)));
    assert!(err.to_string().contains("did not compile"), "{err}");
}

// ---------------------------------------------------------------------------
// On a GPU

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_self_check_passes() {
    let gpu = Cuda::open().unwrap();
    gpu.self_check(4096, 11).unwrap();
    // The portable arithmetic compiled for the device agrees too.
    println!("{:?}", gpu.info());
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_msm_equals_cpu_msm_from_2_10_to_2_16() {
    for line in compare_with_cpu(&[10, 12, 14, 16], 21).unwrap() {
        println!("{line}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_msm_equals_cpu_msm_from_2_18_to_2_24() {
    for line in compare_with_cpu(&[18, 20, 22, 24], 22).unwrap() {
        println!("{line}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_msm_of_tiny_and_empty_inputs() {
    let gpu = Cuda::open().unwrap();
    for n in [0usize, 1, 2, 3, 31, 33] {
        let p = with_edge_points(sample_points::<ark_bn254::g1::Config>(n, 5));
        let s = sample_scalars(n, "edge", 5);
        assert_eq!(gpu.msm_g1(&p, &s).unwrap(), crate::msm::msm::<G1Projective>(&p, &s), "n = {n}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_injected_failure_is_an_error_and_the_next_msm_works() {
    let gpu = Cuda::open().unwrap();
    let p = sample_points::<ark_bn254::g1::Config>(64, 6);
    let s = sample_scalars(64, "random", 6);
    inject_failure_for_tests();
    let err = gpu.msm_g1(&p, &s).err().unwrap();
    assert!(matches!(err, Error::Device(_)), "{err}");
    assert_eq!(gpu.msm_g1(&p, &s).unwrap(), crate::msm::msm::<G1Projective>(&p, &s));
}

#[test]
fn scalars_upload_in_the_layout_the_kernels_read() {
    // The zero-copy view and the packed copy hold the same words.
    let s = sample_scalars(64, "edge", 8);
    let packed = msm::pack_scalars(&s);
    let bytes: Vec<u8> = packed.iter().flat_map(|w| w.to_le_bytes()).collect();
    assert_eq!(msm::scalars_as_bytes(&s).expect("Fr is four u64 limbs"), bytes.as_slice());
}

#[test]
fn the_cost_model_prefers_fewer_buckets_than_the_widest_window() {
    // At 2^20 a bucket reduced costs ~16 points added (H100 profile): the
    // plan stops short of 2^15 buckets per window.
    assert!(MsmPlan::new(1 << 20).unwrap().c < 16);
    assert_eq!(MsmPlan::new(1 << 24).unwrap().c, 16);
}

#[test]
fn tuning_overrides_apply_only_within_range() {
    std::env::set_var("ZKML_CUDA_TASK_LEN", "0");
    assert_eq!(MsmPlan::new(1 << 10).unwrap().task_len, plan::MIN_TASK_LEN);
    std::env::set_var("ZKML_CUDA_TASK_LEN", "64");
    assert_eq!(MsmPlan::new(1 << 10).unwrap().task_len, 64);
    std::env::remove_var("ZKML_CUDA_TASK_LEN");
}

// ---------------------------------------------------------------------------
// NTT: without a GPU

use crate::ntt::Domain;
use ntt::{scale_tables, stage_split, steps, twiddles, NttKind, Scale, Step, Tiling, GPU_TILING};

#[test]
fn the_ntt_stages_are_split_into_even_passes_that_fit_a_tile() {
    for tile_log in 1..=12 {
        for log_n in 1..=28 {
            let split = stage_split(log_n, tile_log);
            assert_eq!(split.len() as u32, log_n.div_ceil(tile_log), "{log_n} {tile_log}");
            let mut next = 0;
            for &(s0, k) in &split {
                assert_eq!(s0, next, "passes are contiguous: {split:?}");
                assert!(k >= 1 && k <= tile_log, "{split:?}");
                next = s0 + k;
            }
            assert_eq!(next, log_n, "every stage once: {split:?}");
            let (min, max) = (split.iter().map(|p| p.1).min().unwrap(), split.iter().map(|p| p.1).max().unwrap());
            assert!(max - min <= 1, "even: {split:?}");
        }
    }
    assert_eq!(stage_split(24, 10), vec![(0, 8), (8, 8), (16, 8)]);
    assert_eq!(stage_split(11, 10), vec![(0, 6), (6, 5)]);
    assert_eq!(stage_split(10, 10), vec![(0, 10)]);
}

#[test]
fn the_ntt_launches_tile_every_element_and_scale_once() {
    for log_n in 1..=28u32 {
        for kind in NttKind::ALL {
            let s = steps(log_n, kind, GPU_TILING);
            let want_first = match kind {
                NttKind::Ifft => Scale::Const,
                NttKind::CosetFft => Scale::Powers,
                _ => Scale::None,
            };
            assert_eq!(s[0], Step::BitReverse { scale: want_first });
            let passes = &s[1..];
            assert_eq!(passes.len(), stage_split(log_n, 10).len());
            for (i, step) in passes.iter().enumerate() {
                let Step::Pass { k, log_c, tiles, block, scale, .. } = *step else {
                    panic!("one bit reversal, first: {s:?}")
                };
                let len = 1u64 << (k + log_c);
                assert_eq!(tiles as u64 * len, 1u64 << log_n, "{s:?}");
                // 8 words per element in 32 KiB of shared memory.
                assert!(len <= 1 << 10, "{s:?}");
                assert!(len == 1 << 10 || log_n < 10, "full tiles from 2^10 up: {s:?}");
                assert!((32..=256).contains(&block), "{s:?}");
                let last = i + 1 == passes.len();
                let want = if last && kind == NttKind::CosetIfft { Scale::Powers } else { Scale::None };
                assert_eq!(scale, want, "{s:?}");
            }
        }
    }
}

#[test]
fn the_ntt_tables_hold_the_domains_powers() {
    for log_n in [1u32, 2, 5, 10, 11, 14] {
        let d = Domain::<Fr>::new(1 << log_n).unwrap();
        ntt::check_domain(&d).unwrap();
        let tw = twiddles(&d);
        assert_eq!(tw.len(), (d.size / 2).max(1));
        for (t, w) in tw.iter().enumerate() {
            assert_eq!(*w, d.element(t), "w^{t} at 2^{log_n}");
        }
        for kind in NttKind::ALL {
            let Some((lo, hi)) = scale_tables(&d, kind) else {
                assert_eq!(kind, NttKind::Fft);
                continue;
            };
            let factor = |i: usize| -> Fr {
                if kind == NttKind::Ifft {
                    hi[0]
                } else {
                    hi[i >> ntt::SCALE_LO_BITS] * lo[i & ((1 << ntt::SCALE_LO_BITS) - 1)]
                }
            };
            for i in (0..d.size).step_by((d.size / 64).max(1)).chain([d.size - 1]) {
                let want = match kind {
                    NttKind::Ifft => d.size_inv,
                    NttKind::CosetFft => d.coset_gen.pow([i as u64]),
                    _ => d.size_inv * d.coset_gen_inv.pow([i as u64]),
                };
                assert_eq!(factor(i), want, "{kind:?} factor {i} at 2^{log_n}");
            }
        }
    }
}

#[test]
fn the_gpu_ntt_refuses_a_domain_whose_omega_is_not_of_order_n() {
    let mut d = Domain::<Fr>::new(1 << 8).unwrap();
    d.omega = d.omega.square();
    d.omega_inv = d.omega_inv.square();
    let err = ntt::check_domain(&d).err().unwrap();
    assert!(err.to_string().contains("order 256"), "{err}");
}

/// Writes `v` as the host check reads it: "<name> <count>" and 8 hex words each.
fn write_fr(out: &mut String, name: &str, v: &[Fr]) {
    use std::fmt::Write;
    write!(out, "{name} {}", v.len()).unwrap();
    for w in msm::pack_scalars(v) {
        write!(out, " {w:x}").unwrap();
    }
    out.push('\n');
}

#[test]
fn the_ntt_kernels_run_on_the_host_equal_the_cpu_domain() {
    use std::fmt::Write;
    // The GPU's own tiling up to 2^12 (one and two passes, full and partial
    // tiles), and tiles of 2^1 .. 2^4 elements with a few threads each, so
    // small sizes take many strided passes (2^9 with 2-element tiles: nine).
    let mut tilings = vec![(GPU_TILING, 12)];
    for tile_log in 1..=4 {
        tilings.push((Tiling { tile_log, min_block: 1, max_block: 4 }, 9));
    }
    let mut text = String::new();
    let (mut cases, mut lines) = (0, 0);
    for (tiling, max_log) in tilings {
        for log_n in 1..=max_log {
            let d = Domain::<Fr>::new(1 << log_n).unwrap();
            let tw = twiddles(&d);
            let profile = if log_n % 2 == 0 { "edge" } else { "random" };
            let x = sample_scalars(d.size, profile, 100 + log_n as u64);
            for kind in NttKind::ALL {
                let mut want = x.clone();
                kind.run_cpu(&d, &mut want);
                let (lo, hi) = scale_tables(&d, kind).unwrap_or_default();
                writeln!(
                    text,
                    "case {}-2^{log_n}-tile2^{} {log_n} {}",
                    kind.name(),
                    tiling.tile_log,
                    u32::from(kind.inverse())
                )
                .unwrap();
                write_fr(&mut text, "lo", &lo);
                write_fr(&mut text, "hi", &hi);
                write_fr(&mut text, "tw", &tw);
                let plan = steps(log_n, kind, tiling);
                writeln!(text, "steps {}", plan.len()).unwrap();
                for step in plan {
                    match step {
                        Step::BitReverse { scale } => writeln!(text, "B {}", scale as u32),
                        Step::Pass { s0, k, log_c, tiles, block, scale } => {
                            writeln!(text, "P {s0} {k} {log_c} {tiles} {block} {}", scale as u32)
                        }
                    }
                    .unwrap();
                }
                write_fr(&mut text, "input", &x);
                write_fr(&mut text, "expect", &want);
                cases += 1;
                lines += if d.size <= 64 { 3 } else { 2 };
            }
        }
    }
    let file = std::env::temp_dir().join(format!("zkml-ntt-vectors-{}.txt", std::process::id()));
    std::fs::write(&file, format!("cases {cases}\n{text}")).unwrap();
    run_host_check_with("host_ntt_check.cpp", &[file.as_os_str()], lines);
    let _ = std::fs::remove_file(&file);
}

// ---------------------------------------------------------------------------
// NTT: on a GPU

/// Random elements in parallel chunks (2^24 in well under a second), the
/// first three 0, 1 and -1.
fn random_fr(n: usize, seed: u64) -> Vec<Fr> {
    use ark_ff::UniformRand;
    use rand::SeedableRng;
    use rayon::prelude::*;
    let mut out = vec![Fr::from(0u64); n];
    out.par_chunks_mut(1 << 14).enumerate().for_each(|(c, chunk)| {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ ((c as u64) << 32));
        for v in chunk {
            *v = Fr::rand(&mut rng);
        }
    });
    for (i, e) in [Fr::from(0u64), Fr::from(1u64), -Fr::from(1u64)].into_iter().enumerate().take(n) {
        out[i] = e;
    }
    out
}

fn first_difference(a: &[Fr], b: &[Fr]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("first at index {i}"),
        None => format!("lengths {} and {}", a.len(), b.len()),
    }
}

/// For each size: the four GPU transforms (upload, run, download) against
/// the CPU's, and the device-resident transforms round-tripping a buffer.
fn compare_ntt_with_cpu(gpu: &Cuda, log2_sizes: impl IntoIterator<Item = u32>, seed: u64) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for log2 in log2_sizes {
        let d = Domain::<Fr>::new(1 << log2).unwrap();
        let x = random_fr(d.size, seed + log2 as u64);
        let mut line = format!("2^{log2}:");
        let mut fft = Vec::new();
        for kind in NttKind::ALL {
            let mut want = x.clone();
            let t = std::time::Instant::now();
            kind.run_cpu(&d, &mut want);
            let cpu_ms = t.elapsed().as_secs_f64() * 1e3;
            let mut got = x.clone();
            let t = std::time::Instant::now();
            gpu.ntt(&d, &mut got, kind)?;
            let gpu_ms = t.elapsed().as_secs_f64() * 1e3;
            if got != want {
                return Err(Error::Device(format!(
                    "GPU {} of 2^{log2} differs from the CPU ({})",
                    kind.name(),
                    first_difference(&got, &want)
                )));
            }
            line += &format!(" {} equal (gpu {gpu_ms:.1} ms, cpu {cpu_ms:.1} ms);", kind.name());
            if kind == NttKind::Fft {
                fft = want;
            }
        }
        // On the device: fft, then ifft back to x; coset_fft, coset_ifft likewise.
        let buf = gpu.upload_scalars(&x)?;
        let mut back = vec![Fr::from(0u64); d.size];
        gpu.ntt_device(&d, &buf, NttKind::Fft)?;
        gpu.download_scalars(&buf, &mut back)?;
        if back != fft {
            return Err(Error::Device(format!(
                "device-resident fft of 2^{log2} differs ({})",
                first_difference(&back, &fft)
            )));
        }
        gpu.ntt_device(&d, &buf, NttKind::Ifft)?;
        gpu.ntt_device(&d, &buf, NttKind::CosetFft)?;
        gpu.ntt_device(&d, &buf, NttKind::CosetIfft)?;
        gpu.download_scalars(&buf, &mut back)?;
        if back != x {
            return Err(Error::Device(format!(
                "device-resident round trip of 2^{log2} differs ({})",
                first_difference(&back, &x)
            )));
        }
        lines.push(line + " device round trip equal");
    }
    Ok(lines)
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_ntt_self_check_passes() {
    // Every size from 2 to 2^16, each reported, so a failure shows its pattern.
    let gpu = Cuda::open().unwrap();
    let failed: Vec<String> = (1..=16)
        .filter_map(|log2| match gpu.ntt_self_check(log2, 3) {
            Ok(()) => {
                println!("2^{log2}: four transforms equal the CPU's");
                None
            }
            Err(e) => {
                println!("2^{log2}: {e}");
                Some(e.to_string())
            }
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_ntt_of_small_domains_equals_cpu() {
    let gpu = Cuda::open().unwrap();
    for line in compare_ntt_with_cpu(&gpu, 1..=9, 30).unwrap() {
        println!("{line}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_ntt_equals_cpu_from_2_10_to_2_17() {
    let gpu = Cuda::open().unwrap();
    for line in compare_ntt_with_cpu(&gpu, 10..=17, 31).unwrap() {
        println!("{line}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_ntt_equals_cpu_from_2_18_to_2_24() {
    let gpu = Cuda::open().unwrap();
    for line in compare_ntt_with_cpu(&gpu, 18..=24, 32).unwrap() {
        println!("{line}");
    }
}

/// fft, ifft, coset_fft and coset_ifft through the Backend trait against the
/// CPU backend; then an injected failure is a DeviceError and the next NTT works.
fn check_ntt_backend_and_injected_failure(gpu: &dyn crate::backend::Backend, log2: u32) {
    use crate::backend::{Backend, Cpu};
    let d = Domain::<Fr>::new(1 << log2).unwrap();
    let x = random_fr(d.size, 40);
    type Op = fn(&dyn Backend, &Domain<Fr>, &mut [Fr]) -> Result<()>;
    let ops: [(&str, Op); 4] = [
        ("fft", |b, d, a| b.fft(d, a)),
        ("ifft", |b, d, a| b.ifft(d, a)),
        ("coset_fft", |b, d, a| b.coset_fft(d, a)),
        ("coset_ifft", |b, d, a| b.coset_ifft(d, a)),
    ];
    for (name, op) in ops {
        let (mut got, mut want) = (x.clone(), x.clone());
        op(gpu, &d, &mut got).unwrap();
        op(&Cpu, &d, &mut want).unwrap();
        assert!(got == want, "{name} through the Backend trait");
    }
    inject_failure_for_tests();
    let mut a = x.clone();
    let err = gpu.coset_fft(&d, &mut a).err().unwrap();
    assert!(matches!(err, Error::Device(_)) && err.to_string().contains("injected failure"), "{err}");
    let mut want = x.clone();
    d.coset_fft(&mut want);
    let mut a = x.clone();
    gpu.coset_fft(&d, &mut a).unwrap();
    assert!(a == want, "the NTT after the failure");
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_ntt_through_the_backend_trait_and_an_injected_failure() {
    check_ntt_backend_and_injected_failure(&Cuda::open().unwrap(), 12);
}

/// A chain of squarings, x_{i+1} = x_i^2, with x_0 and the last x public.
fn squaring_chain(len: usize) -> (crate::r1cs::R1cs, Vec<Fr>) {
    use crate::r1cs::{ConstraintSystem, Lc};
    let mut values = vec![Fr::from(3u64)];
    for i in 0..len {
        values.push(values[i].square());
    }
    let mut cs = ConstraintSystem::new();
    let first = cs.alloc_public(values[0]);
    let last = cs.alloc_public(values[len]);
    let mut prev = first;
    for v in &values[1..] {
        let next = cs.alloc_private(*v);
        cs.enforce(Lc::var(prev), Lc::var(prev), Lc::var(next));
        prev = next;
    }
    cs.enforce(Lc::var(prev), Lc::one(), Lc::var(last));
    cs.finish()
}

/// The quotient h through the GPU's NTTs equals the CPU's, and a whole proof
/// through the Cuda backend (its MSMs and NTTs) verifies.
fn check_proof_through(gpu: &Cuda, chain: usize, domain_log2: u32) {
    use crate::groth16::{create_proof, generate_parameters, r1cs_to_qap, verify_proof};
    use rand::SeedableRng;
    let (r1cs, z) = squaring_chain(chain);
    let domain = r1cs_to_qap::domain_for(&r1cs).unwrap();
    assert_eq!(domain.size, 1 << domain_log2);
    let h_gpu = r1cs_to_qap::witness_map(&r1cs, &z, &domain, gpu, true).unwrap();
    let h_cpu = r1cs_to_qap::witness_map(&r1cs, &z, &domain, &crate::backend::Cpu, true).unwrap();
    assert!(h_gpu == h_cpu, "h differs: {}", first_difference(&h_gpu, &h_cpu));
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(50);
    let pk = generate_parameters(&r1cs, &mut rng).unwrap();
    let (proof, _) = create_proof(&pk, &r1cs, &z, gpu, &mut rng).unwrap();
    let public = &z[1..=r1cs.num_public];
    assert!(verify_proof(&pk.vk, &proof, public).unwrap(), "the GPU proof verifies");
    let mut wrong = public.to_vec();
    wrong[1] += Fr::from(1u64);
    assert!(!verify_proof(&pk.vk, &proof, &wrong).unwrap());

    // The key's points resident on the device: only the scalars travel, and
    // two proofs in a row with the same key verify.
    let key = gpu.upload_key(&pk).unwrap();
    assert_eq!(key.bytes(), super::key_device_bytes(&pk));
    let msms = super::ResidentMsms { gpu, key: &key, r1cs: None };
    // The quotient left on the device for the H MSM, and z sent once for
    // the A and B MSMs, give the CPU's sums.
    {
        use crate::groth16::{HostMsms, KeyMsms};
        let cpu = crate::backend::Cpu;
        let rows = r1cs_to_qap::evaluate_rows(&r1cs, &z, &domain, true).unwrap();
        let (want, _) = HostMsms(&cpu).quotient_msm(&cpu, &domain, rows.clone(), &pk.h_query).unwrap();
        let (got, _) = msms.quotient_msm(gpu, &domain, rows.clone(), &pk.h_query).unwrap();
        assert_eq!(got, want, "the H MSM of the quotient left on the device");
        let [a, b, mut c] = rows;
        c[0] += Fr::from(1u64);
        let (off, _) = msms.quotient_msm(gpu, &domain, [a, b, c], &pk.h_query).unwrap();
        assert_ne!(off, want, "another C row gives another H MSM");
        assert_eq!(msms.msms_of_z(&pk, &z).unwrap(), HostMsms(&cpu).msms_of_z(&pk, &z).unwrap());

        // The matrices resident too: the rows, the check and the quotient on
        // the device give the same H MSM, and a wrong witness is refused
        // naming the same constraint as the CPU's check.
        let matrices = gpu.upload_r1cs(&r1cs, 0).unwrap().expect("the matrices fit");
        assert!(matrices.bytes() >= super::r1cs_device_bytes(&r1cs) - 12);
        let on_device = super::ResidentMsms { gpu, key: &key, r1cs: Some(&matrices) };
        let mut t = crate::groth16::ProverTimings::default();
        let got = on_device.witness_quotient_msm(gpu, &r1cs, &z, &domain, true, &pk.h_query, &mut t).unwrap();
        assert_eq!(got, want, "the H MSM with the rows evaluated on the device");
        let mut bad = z.clone();
        bad[z.len() / 2] += Fr::from(1u64);
        let want_err = r1cs_to_qap::evaluate_rows(&r1cs, &bad, &domain, true).err().unwrap().to_string();
        let err = on_device.witness_quotient_msm(gpu, &r1cs, &bad, &domain, true, &pk.h_query, &mut t).err().unwrap();
        assert!(matches!(err, Error::Unsatisfied { .. }), "{err}");
        assert_eq!(err.to_string(), want_err);
        for _ in 0..2 {
            let (proof, _) = crate::groth16::create_proof_with(&pk, &r1cs, &z, gpu, &on_device, &mut rng).unwrap();
            assert!(verify_proof(&pk.vk, &proof, public).unwrap(), "the proof with the matrices resident verifies");
        }
        // Matrices of another system are refused, not misread.
        let (other, other_z) = squaring_chain(chain + 1);
        let err =
            on_device.witness_quotient_msm(gpu, &other, &other_z, &domain, true, &pk.h_query, &mut t).err().unwrap();
        assert!(matches!(err, Error::Internal(_)), "{err}");
        // Not enough room: no upload, the caller evaluates on the CPU.
        assert!(gpu.upload_r1cs(&r1cs, usize::MAX / 2).unwrap().is_none());
    }
    for _ in 0..2 {
        let (proof, _) = crate::groth16::create_proof_with(&pk, &r1cs, &z, gpu, &msms, &mut rng).unwrap();
        assert!(verify_proof(&pk.vk, &proof, public).unwrap(), "the resident-key proof verifies");
    }
    // An injected failure surfaces from the resident MSMs as a DeviceError.
    super::inject_failure_for_tests();
    let err = crate::groth16::create_proof_with(&pk, &r1cs, &z, gpu, &msms, &mut rng).err().unwrap();
    assert!(matches!(err, Error::Device(_)), "{err}");
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gpu_ntt_proof_through_the_cuda_backend_verifies() {
    check_proof_through(&Cuda::open().unwrap(), 5000, 13);
}

// ---------------------------------------------------------------------------
// The whole backend on a fake driver (host_fake_driver.cpp) that runs the
// kernels on the CPU: the Rust host side without a GPU.

#[test]
#[ignore = "compiles the kernels for sm_90 through NVRTC (minutes, then cached) and runs them on the CPU; cargo test --release -- --ignored fake_driver"]
fn fake_driver_runs_the_cuda_backend_on_the_cpu() {
    let lib = std::env::temp_dir().join(format!("zkml-fake-cuda-{}.so", std::process::id()));
    build_host("host_fake_driver.cpp", &["-shared", "-fPIC"], &lib);
    // Opening runs the MSM self-check on the fake.
    let driver = driver::Driver::open_first(&[lib.to_string_lossy().into_owned()]).unwrap();
    let gpu = Cuda::open_with(driver).unwrap();
    assert_eq!(gpu.info().name, "zkml host fake GPU");
    for line in compare_ntt_with_cpu(&gpu, 1..=13, 60).unwrap() {
        println!("{line}");
    }
    gpu.ntt_self_check(12, 61).unwrap();
    // More domains than the plan cache holds, then back to the first.
    for log2 in [3, 4, 5, 6, 7, 3] {
        gpu.ntt_self_check(log2, 62).unwrap();
    }
    assert!(gpu.ntt_plans.lock().unwrap().len() <= 4);
    // A buffer too small for the domain is refused, not overrun.
    let d = Domain::<Fr>::new(1 << 6).unwrap();
    let small = gpu.upload_scalars(&random_fr(32, 63)).unwrap();
    let err = gpu.ntt_device(&d, &small, NttKind::Fft).err().unwrap();
    assert!(matches!(err, Error::Internal(_)), "{err}");
    check_ntt_backend_and_injected_failure(&gpu, 10);
    check_proof_through(&gpu, 1000, 10);
    drop(gpu);
    let _ = std::fs::remove_file(&lib);
}
