//! zkml's Groth16 prover against ark-groth16 on the same constraint systems,
//! side by side in one run.
//!
//! `cargo bench --bench prover` synthesises MLP circuits from quantized
//! programs (random weights, fixed seed), makes keys for both provers, and
//! times proving. Ours: program -> witness + R1CS (synthesis) -> proof.
//! ark-groth16: the same R1CS and assignment replayed through its
//! ConstraintSynthesizer -> proof. Both proofs are checked by their own verifier.

use std::time::{Duration, Instant};

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_relations::lc;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable};
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::json;
use zkml_native::backend::Cpu;
use zkml_native::groth16::{create_proof, generate_parameters, verify_proof};
use zkml_native::program::builder::ProgramBuilder;
use zkml_native::program::Circuit;
use zkml_native::r1cs::R1cs;
use zkml_native::synth::synthesize;

const BITS: u32 = 16;

/// An MLP program with layer widths `dims`, ReLU between layers, and each
/// shift chosen so a random input stays inside 16 bits. Returns the program
/// (circuit.json and constants.bin bytes) and that input.
fn mlp(dims: &[usize], rng: &mut StdRng) -> ((Vec<u8>, Vec<u8>), Vec<i64>) {
    let input: Vec<i64> = (0..dims[0]).map(|_| rng.gen_range(-1024..1024)).collect();
    let mut b = ProgramBuilder::new("bench-mlp");
    let mut src = b.tensor("x", &[1, dims[0]], 10, BITS);
    b.input("x", src);
    let mut x: Vec<i128> = input.iter().map(|v| *v as i128).collect();
    for (l, w) in dims.windows(2).enumerate() {
        let (k, n) = (w[0], w[1]);
        let weight: Vec<i64> = (0..n * k).map(|_| rng.gen_range(-128..128)).collect();
        let acc: Vec<i128> =
            weight.chunks(k).map(|row| row.iter().zip(&x).map(|(w, x)| *w as i128 * x).sum()).collect();
        let max = acc.iter().map(|a| a.unsigned_abs()).max().unwrap_or(1).max(1);
        let shift = (128 - max.leading_zeros()).saturating_sub(BITS - 2);
        let h = b.tensor(&format!("h{l}"), &[1, n], 10, BITS);
        let wc = b.constant(&format!("w{l}"), &[n, k], &weight);
        let bc = b.constant(&format!("b{l}"), &[n], &vec![0; n]);
        b.instruction(json!({"op": "linear", "inputs": [src], "output": h, "weight": wc, "bias": bc, "shift": shift}));
        src = h;
        x = acc.iter().map(|a| a.div_euclid(1 << shift)).collect();
        if l + 2 < dims.len() {
            let r = b.tensor(&format!("r{l}"), &[1, n], 10, BITS);
            b.instruction(json!({"op": "relu", "inputs": [h], "output": r}));
            src = r;
            x.iter_mut().for_each(|v| *v = (*v).max(0));
        }
    }
    b.output("y", src);
    (b.build(), input)
}

/// Our R1CS and assignment, replayed into arkworks' constraint system.
#[derive(Clone)]
struct Replay<'a> {
    r1cs: &'a R1cs,
    z: &'a [Fr],
}

impl ConstraintSynthesizer<Fr> for Replay<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let mut vars = vec![Variable::One];
        for (i, v) in self.z.iter().enumerate().skip(1) {
            vars.push(if i <= self.r1cs.num_public {
                cs.new_input_variable(|| Ok(*v))?
            } else {
                cs.new_witness_variable(|| Ok(*v))?
            });
        }
        let lc_of = |m: &zkml_native::r1cs::Matrix, row: usize| -> LinearCombination<Fr> {
            let mut lc = lc!();
            for (col, coeff) in m.row(row) {
                lc += (*coeff, vars[col]);
            }
            lc
        };
        for row in 0..self.r1cs.num_constraints() {
            cs.enforce_constraint(lc_of(&self.r1cs.a, row), lc_of(&self.r1cs.b, row), lc_of(&self.r1cs.c, row))?;
        }
        Ok(())
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let cases: [(&str, &[usize], usize); 3] = [
        ("MLP 64-32-10 (digits-sized)", &[64, 32, 10], 7),
        ("MLP 784-128-10", &[784, 128, 10], 5),
        ("MLP 784-512-512-10", &[784, 512, 512, 10], 3),
    ];
    println!("| circuit | constraints | zkml prove (ms) | ark-groth16 prove (ms) | zkml/ark |");
    println!("|---|---:|---:|---:|---:|");
    let mut rng = StdRng::seed_from_u64(2026);
    for (label, dims, reps) in cases {
        if !filters.is_empty() && !filters.iter().any(|f| label.contains(f.as_str())) {
            continue;
        }
        let ((program, constants), input) = mlp(dims, &mut rng);
        let circuit = Circuit::from_parts(&program, &constants).expect("valid bench program");
        let s = synthesize(&circuit, Some(std::slice::from_ref(&input))).expect("input fits");
        let mut crng = ChaCha20Rng::seed_from_u64(1);
        let pk = generate_parameters(&s.r1cs, &mut crng).expect("setup");
        let replay = Replay { r1cs: &s.r1cs, z: &s.assignment };
        let (ark_pk, ark_vk) = Groth16::<Bn254>::circuit_specific_setup(replay.clone(), &mut crng).expect("ark setup");
        let public = s.public_inputs().to_vec();

        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for rep in 0..=reps {
            // Ours, from the program: synthesis (R1CS + witness) then proof.
            let t = Instant::now();
            let s2 = synthesize(&circuit, Some(std::slice::from_ref(&input))).unwrap();
            let (proof, _) = create_proof(&pk, &s2.r1cs, &s2.assignment, &Cpu, &mut crng).unwrap();
            let ours_t = t.elapsed();
            assert!(verify_proof(&pk.vk, &proof, &public).unwrap());
            // arkworks, from the same R1CS and assignment.
            let t = Instant::now();
            let ark_proof = Groth16::<Bn254>::prove(&ark_pk, replay.clone(), &mut crng).unwrap();
            let theirs_t = t.elapsed();
            assert!(Groth16::<Bn254>::verify(&ark_vk, &public, &ark_proof).unwrap());
            if rep > 0 {
                ours.push(ours_t);
                theirs.push(theirs_t);
            }
        }
        let (a, b) = (median(ours), median(theirs));
        println!(
            "| {label} | {} | {:.1} | {:.1} | {:.2} |",
            s.r1cs.num_constraints(),
            a.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            a.as_secs_f64() / b.as_secs_f64()
        );
    }
}
