//! The whole Groth16 prover, resident key, on the GPU beside the CPU, same
//! machine, same run: `cargo bench --bench gpu_prover` (on a GPU machine;
//! `ZKML_BENCH_MAX_LOG2` caps the circuit size, default 20).
//!
//! Circuits: MLPs of 512-wide layers (random 8-bit weights, fixed seed), as
//! many layers as it takes to reach about 2^k constraints. For each: setup
//! (seeded, bench only), then a `pipeline::Prover` per device — the key read
//! once (and on CUDA uploaded once) — and three proofs each; the median proof
//! and its phases are printed: witness synthesis (CPU), the row evaluations
//! A·z, B·z, C·z with the satisfaction check (CPU), the quotient (six
//! NTTs and the product; on CUDA with the three uploads, h staying on the
//! device), the five MSMs (on CUDA against the resident points; z sent once
//! for A and B). Every proof is verified.

use std::time::Instant;

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;
use zkml_native::pipeline::{setup, Prover};
use zkml_native::program::builder::ProgramBuilder;
use zkml_native::program::Constants;

const BITS: u32 = 16;
const WIDTH: usize = 512;

fn mlp(layers: usize, rng: &mut StdRng) -> ((Vec<u8>, Vec<u8>), Vec<i64>) {
    let input: Vec<i64> = (0..WIDTH).map(|_| rng.gen_range(-1024..1024)).collect();
    let mut b = ProgramBuilder::new("bench-gpu-mlp");
    let mut src = b.tensor("x", &[1, WIDTH], 10, BITS);
    b.input("x", src);
    let mut x: Vec<i128> = input.iter().map(|v| *v as i128).collect();
    for l in 0..layers {
        let weight: Vec<i64> = (0..WIDTH * WIDTH).map(|_| rng.gen_range(-128..128)).collect();
        let acc: Vec<i128> =
            weight.chunks(WIDTH).map(|row| row.iter().zip(&x).map(|(w, x)| *w as i128 * x).sum()).collect();
        let max = acc.iter().map(|a| a.unsigned_abs()).max().unwrap_or(1).max(1);
        let shift = (128 - max.leading_zeros()).saturating_sub(BITS - 2);
        let h = b.tensor(&format!("h{l}"), &[1, WIDTH], 10, BITS);
        let wc = b.constant(&format!("w{l}"), &[WIDTH, WIDTH], &weight);
        let bc = b.constant(&format!("b{l}"), &[WIDTH], &vec![0; WIDTH]);
        b.instruction(json!({"op": "linear", "inputs": [src], "output": h, "weight": wc, "bias": bc, "shift": shift}));
        x = acc.iter().map(|a| a.div_euclid(1 << shift).max(0)).collect();
        let r = b.tensor(&format!("r{l}"), &[1, WIDTH], 10, BITS);
        b.instruction(json!({"op": "relu", "inputs": [h], "output": r}));
        src = r;
    }
    b.output("y", src);
    (b.build(), input)
}

fn main() {
    let max_log2: u32 = std::env::var("ZKML_BENCH_MAX_LOG2").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("zkml-gpu-prover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("| constraints | QAP domain | device | prove (ms) | synthesis | A·z, B·z, C·z | quotient (6 NTTs) | MSMs | prove excl. witness | key load (once) | proofs verify |");
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for log2 in (16..=max_log2).step_by(2) {
        // about 40 constraints per neuron: 512 neurons a layer
        let layers = ((1usize << log2) / (40 * WIDTH)).max(1);
        let mut rng = StdRng::seed_from_u64(log2 as u64);
        let ((program, constants), input) = mlp(layers, &mut rng);
        let pk = dir.join(format!("pk{log2}.bin"));
        let t = Instant::now();
        setup(&program, &constants, &pk, Some(7)).unwrap();
        let setup_s = t.elapsed().as_secs_f64();
        for device in ["cpu", "cuda"] {
            let t = Instant::now();
            let prover = match Prover::new(&program, Constants::Bytes(&constants), &pk, device) {
                Ok(p) => p,
                Err(e) => {
                    println!("| 2^{log2} | | {device} | error: {e} | | | | | | | |");
                    continue;
                }
            };
            let load = t.elapsed().as_secs_f64();
            let mut runs = Vec::new();
            let mut all_ok = true;
            for _ in 0..3 {
                let t = Instant::now();
                let out = prover.prove(std::slice::from_ref(&input), &[], None).unwrap();
                let total = t.elapsed().as_secs_f64();
                let vk: serde_json::Value = serde_json::from_str(&out.vk_json).unwrap();
                let proof: serde_json::Value = serde_json::from_str(&out.proof_json).unwrap();
                let ok = zkml_native::pipeline::verify(
                    &vk.to_string(),
                    &proof.to_string(),
                    &serde_json::to_string(&out.public).unwrap(),
                )
                .unwrap_or(false);
                all_ok &= ok;
                let stage = |name: &str| out.timings.iter().find(|(s, _)| *s == name).map(|(_, v)| *v).unwrap_or(0.0);
                runs.push((
                    total,
                    stage("synthesize"),
                    stage("evaluate"),
                    stage("quotient"),
                    stage("msm"),
                    out.device.clone(),
                ));
            }
            runs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            let (total, synth, eval, quot, msm, dev) = runs[1].clone();
            let info = zkml_native::pipeline::circuit_info(&program, &constants).unwrap();
            println!(
                "| {} | 2^{} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} ms | {} |",
                info.constraints,
                info.domain_size.trailing_zeros(),
                dev.split(" (").next().unwrap_or(device),
                total * 1e3,
                synth * 1e3,
                eval * 1e3,
                quot * 1e3,
                msm * 1e3,
                (eval + quot + msm) * 1e3,
                load * 1e3,
                all_ok
            );
        }
        eprintln!("2^{log2}: setup {setup_s:.1} s");
        let _ = std::fs::remove_file(&pk);
    }
}
