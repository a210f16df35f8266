//! Without a GPU: the plan, the digit decomposition and a CPU model of the
//! kernel pipeline against the CPU MSM; the portable field and curve code on
//! the host; every kernel through NVRTC. With a GPU (`cargo test -- --ignored`
//! on a machine with one): the kernels against the CPU.

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ff::{BigInteger, PrimeField};
use num_bigint::BigInt;

use super::plan::{booth_digits, model_msm, MsmPlan, SCALAR_BITS};
use crate::msm::signed_magnitude;
use super::*;

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
        assert!(
            plan.c * (plan.windows - 1) < SCALAR_BITS,
            "a window too many: {plan:?}"
        );
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
    assert!(
        err.to_string().contains("beyond the GPU path's limit"),
        "{err}"
    );
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
                assert!(
                    d.unsigned_abs() <= 1 << (c - 1),
                    "digit {d} too large for c = {c}"
                );
                acc += BigInt::from(d) << (w as u32 * c);
            }
            let want = BigInt::from_bytes_le(
                num_bigint::Sign::Plus,
                &k.to_bytes_le(),
            );
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
            assert_eq!(
                model_msm(&g1, &s).unwrap(),
                crate::msm::msm::<G1Projective>(&g1, &s),
                "G1 n={n} {profile}"
            );
            assert_eq!(
                model_msm(&g2, &s).unwrap(),
                crate::msm::msm::<G2Projective>(&g2, &s),
                "G2 n={n} {profile}"
            );
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
    assert_eq!(
        model_msm(&points, &scalars).unwrap(),
        crate::msm::msm::<G1Projective>(&points, &scalars)
    );
}

/// Builds `native/cuda/<file>` with the host C++ compiler, runs it, and checks
/// that it printed at least `min_lines` lines, each ending in "1".
fn run_host_check(file: &str, min_lines: usize) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cuda");
    let exe = std::env::temp_dir().join(format!("zkml-{file}-{}", std::process::id()));
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let built = std::process::Command::new(&cxx)
        .args(["-O2", "-std=c++17", "-I"])
        .arg(&dir)
        .arg(dir.join(file))
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("a C++ compiler ({cxx}) is needed for this test: {e}"));
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let out = std::process::Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_file(&exe);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{file} failed: {text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= min_lines, "{text}");
    for line in lines {
        assert!(
            line.ends_with(": 1") || line.ends_with(" 1"),
            "{file}: {line}"
        );
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
        assert!(
            ptx.contains(&format!(".entry {name}(")),
            "kernel {name} missing from the PTX"
        );
    }
    // The PTX carry chains are in there (not the portable fallback).
    assert!(ptx.contains("madc.hi.cc.u32") && ptx.contains("subc.cc.u32"));
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
        assert_eq!(
            gpu.msm_g1(&p, &s).unwrap(),
            crate::msm::msm::<G1Projective>(&p, &s),
            "n = {n}"
        );
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
    assert_eq!(
        gpu.msm_g1(&p, &s).unwrap(),
        crate::msm::msm::<G1Projective>(&p, &s)
    );
}

#[test]
fn scalars_upload_in_the_layout_the_kernels_read() {
    // The zero-copy view and the packed copy hold the same words.
    let s = sample_scalars(64, "edge", 8);
    let packed = msm::pack_scalars(&s);
    let bytes: Vec<u8> = packed.iter().flat_map(|w| w.to_le_bytes()).collect();
    assert_eq!(
        msm::scalars_as_bytes(&s).expect("Fr is four u64 limbs"),
        bytes.as_slice()
    );
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
