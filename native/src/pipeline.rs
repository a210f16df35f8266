//! The operations the Python package calls, on bytes and paths: circuit
//! statistics, setup, prove, verify. Everything here returns `Result`; the
//! Python layer (`python.rs`) turns errors into `zkml.errors` classes.

use std::path::Path;
use std::time::Instant;

use ark_bn254::Fr;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::backend;
#[cfg(test)]
use crate::backend::Cpu;
use crate::error::{Error, Result};
use crate::groth16::keys::{read_proving_key, write_proving_key, KeyHeader};
use crate::groth16::{create_proof, generate_parameters, r1cs_to_qap::domain_for, verify_proof};
use crate::program::Circuit;
use crate::snarkjs;
use crate::synth::{synthesize, Synthesis};

#[derive(Debug, Clone)]
pub struct CircuitInfo {
    pub circuit_hash: String,
    pub constraints: usize,
    pub variables: usize,
    pub public_inputs: usize,
    pub domain_size: usize,
    pub nonzeros: usize,
    /// Constraint count per gadget region (instruction), in program order.
    pub by_region: Vec<(String, usize)>,
}

/// `program` and `constants` are the bytes of `circuit.json` and
/// `constants.bin` everywhere below.
pub fn circuit_info(program: &[u8], constants: &[u8]) -> Result<CircuitInfo> {
    let circuit = Circuit::from_parts(program, constants)?;
    let s = synthesize(&circuit, None)?;
    let r = &s.r1cs;
    Ok(CircuitInfo {
        circuit_hash: circuit.hash_hex(),
        constraints: r.num_constraints(),
        variables: r.num_variables,
        public_inputs: r.num_public,
        domain_size: domain_for(r)?.size,
        nonzeros: r.a.num_nonzeros() + r.b.num_nonzeros() + r.c.num_nonzeros(),
        by_region: r.constraints_by_label(),
    })
}

/// Witness only: the outputs and public signals for `inputs`, after checking
/// that the witness satisfies every constraint.
pub fn evaluate(program: &[u8], constants: &[u8], inputs: &[Vec<i64>]) -> Result<(Vec<Vec<i64>>, Vec<Fr>)> {
    let circuit = Circuit::from_parts(program, constants)?;
    let s = synthesize(&circuit, Some(inputs))?;
    check_satisfied(&s)?;
    Ok((s.outputs.clone(), s.public_inputs().to_vec()))
}

fn check_satisfied(s: &Synthesis) -> Result<()> {
    match s.r1cs.first_unsatisfied(&s.assignment) {
        Some(row) => Err(Error::Unsatisfied { row, label: s.r1cs.label_of(row).to_string() }),
        None => Ok(()),
    }
}

fn rng(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(s) => ChaCha20Rng::seed_from_u64(s),
        None => ChaCha20Rng::from_entropy(),
    }
}

/// Circuit-specific setup with local randomness; writes the proving key to
/// `pk_path` and returns the verifying key as snarkjs JSON. `seed` makes it
/// reproducible and is for tests only. It needs no input: the circuit is
/// synthesised in structure-only mode.
pub fn setup(program: &[u8], constants: &[u8], pk_path: &Path, seed: Option<u64>) -> Result<String> {
    let circuit = Circuit::from_parts(program, constants)?;
    let s = synthesize(&circuit, None)?;
    let pk = generate_parameters(&s.r1cs, &mut rng(seed))?;
    let header = KeyHeader { circuit_hash: circuit.hash, r1cs_digest: s.r1cs.digest() };
    write_proving_key(pk_path, &header, &pk)?;
    Ok(snarkjs::vk_to_json(&pk.vk).to_string())
}

pub struct ProveOutput {
    pub proof_json: String,
    pub public: Vec<String>,
    pub outputs: Vec<Vec<i64>>,
    /// (stage, seconds): synthesize, load_key, qap, msm
    pub timings: Vec<(&'static str, f64)>,
    pub backend: &'static str,
    /// Which device proved, and why (see [`backend::select`]).
    pub device: String,
    /// The verifying key inside the proving key, as snarkjs JSON, so the
    /// caller can check it against the verification key beside it.
    pub vk_json: String,
}

/// `device`: "auto", "cpu" or "cuda" (see [`backend::select`]).
pub fn prove(
    program: &[u8],
    constants: &[u8],
    pk_path: &Path,
    inputs: &[Vec<i64>],
    seed: Option<u64>,
    device: &str,
) -> Result<ProveOutput> {
    let mut selected = backend::select(device)?;
    let t = Instant::now();
    let circuit = Circuit::from_parts(program, constants)?;
    let s = synthesize(&circuit, Some(inputs))?;
    let t_synth = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let header = KeyHeader { circuit_hash: circuit.hash, r1cs_digest: s.r1cs.digest() };
    let pk = read_proving_key(pk_path, &header)?;
    let t_load = t.elapsed().as_secs_f64();

    let mut rng = rng(seed);
    let (proof, timings) = match create_proof(&pk, &s.r1cs, &s.assignment, selected.backend.as_ref(), &mut rng) {
        // With "auto", a GPU that fails mid-proof (out of memory, a lost
        // context) hands the proof to the CPU and says so; "cuda" reports it.
        Err(Error::Device(why)) if device == "auto" => {
            selected = backend::Selected {
                backend: Box::new(crate::backend::Cpu),
                description: format!("cpu (the GPU failed during the proof: {why})"),
            };
            create_proof(&pk, &s.r1cs, &s.assignment, selected.backend.as_ref(), &mut rng)?
        }
        other => other?,
    };
    let backend = selected.backend.as_ref();
    let public = s.public_inputs();
    Ok(ProveOutput {
        proof_json: snarkjs::proof_to_json(&proof).to_string(),
        public: public.iter().map(snarkjs::dec).collect(),
        outputs: s.outputs,
        timings: vec![("synthesize", t_synth), ("load_key", t_load), ("qap", timings.qap), ("msm", timings.msm)],
        backend: backend.name(),
        device: selected.description,
        vk_json: snarkjs::vk_to_json(&pk.vk).to_string(),
    })
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Format(format!("{what} is not valid JSON: {e}")))
}

/// Ok(true) for a valid proof, Ok(false) for an invalid one, Err for malformed
/// input (bad points, a public input >= r, the wrong number of inputs).
pub fn verify(vk_json: &str, proof_json: &str, public_json: &str) -> Result<bool> {
    let vk = snarkjs::vk_from_json(&parse_json(vk_json, "the verification key")?)?;
    let proof = snarkjs::proof_from_json(&parse_json(proof_json, "the proof")?)?;
    let public = snarkjs::public_from_json(&parse_json(public_json, "the public inputs")?)?;
    verify_proof(&vk, &proof, &public)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::{tiny_builder, tiny_program};

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("zkml-pipeline-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join("pk.bin")
    }

    #[test]
    fn a_key_with_delta_equal_to_gamma_is_refused_not_fooled_by_a_forged_proof() {
        use crate::groth16::prepare_inputs;
        use ark_ec::{AffineRepr, CurveGroup};
        let (prog, consts) = tiny_program();
        let pk = tmp("degenerate");
        let vk_json = setup(&prog, &consts, &pk, Some(4)).unwrap();
        let mut vk_value: serde_json::Value = serde_json::from_str(&vk_json).unwrap();
        vk_value["vk_delta_2"] = vk_value["vk_gamma_2"].clone();
        let vk = snarkjs::vk_from_json(&vk_value).unwrap();
        // The forgery: A = alpha, B = beta, C = -vk_x, for public signals never proved.
        let public = vec![Fr::from(123u64); vk.gamma_abc_g1.len() - 1];
        let vk_x = prepare_inputs(&vk, &public).unwrap();
        let forged = crate::groth16::Proof { a: vk.alpha_g1, b: vk.beta_g2, c: (-vk_x).into_affine() };
        let public_json = snarkjs::public_to_json(&public).to_string();
        let err = verify(&vk_value.to_string(), &snarkjs::proof_to_json(&forged).to_string(), &public_json).err().unwrap();
        assert!(err.to_string().contains("vk_delta_2 equals vk_gamma_2"), "{err}");
        // delta = the generator (no phase 2) and a point at infinity are refused too.
        vk_value["vk_delta_2"] = snarkjs::g2_to_json(&ark_bn254::G2Affine::generator());
        let err = verify(&vk_value.to_string(), &snarkjs::proof_to_json(&forged).to_string(), &public_json).err().unwrap();
        assert!(err.to_string().contains("G2 generator"), "{err}");
        vk_value["vk_delta_2"] = snarkjs::g2_to_json(&ark_bn254::G2Affine::zero());
        let err = verify(&vk_value.to_string(), &snarkjs::proof_to_json(&forged).to_string(), &public_json).err().unwrap();
        assert!(err.to_string().contains("point at infinity"), "{err}");
    }

    #[test]
    fn a_proving_key_with_a_forged_point_count_is_an_error_not_an_abort() {
        use sha2::{Digest, Sha256};
        let (prog, consts) = tiny_program();
        let pk = tmp("hostile-count");
        setup(&prog, &consts, &pk, Some(5)).unwrap();
        let mut data = std::fs::read(&pk).unwrap();
        // Header (104 bytes), alpha (64), beta, gamma, delta (128 each), then IC.
        let ic_at = 104 + 64 + 3 * 128;
        let ic = u64::from_le_bytes(data[ic_at..ic_at + 8].try_into().unwrap()) as usize;
        let a_query_at = ic_at + 8 + ic * 64 + 2 * 64;
        for (at, count) in [(a_query_at, 1u64 << 36), (ic_at, u64::MAX), (a_query_at, 3)] {
            let mut forged = data.clone();
            forged[at..at + 8].copy_from_slice(&count.to_le_bytes());
            let checksum: [u8; 32] = Sha256::digest(&forged[104..]).into();
            forged[72..104].copy_from_slice(&checksum);
            std::fs::write(&pk, &forged).unwrap();
            let err = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], Some(2), "cpu").err().unwrap();
            assert!(matches!(err, Error::Format(_)), "{err}");
            assert!(err.to_string().contains("not a valid zkml proving key"), "{err}");
        }
        data.push(0);
        let checksum: [u8; 32] = Sha256::digest(&data[104..]).into();
        data[72..104].copy_from_slice(&checksum);
        std::fs::write(&pk, &data).unwrap();
        let err = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], Some(2), "cpu").err().unwrap();
        assert!(err.to_string().contains("left over"), "{err}");
    }

    #[test]
    fn a_negated_or_rerandomised_proof_verifies_only_for_the_same_public_signals() {
        use ark_ec::CurveGroup;
        use ark_ff::{Field, UniformRand};
        let (prog, consts) = tiny_program();
        let pk = tmp("malleable");
        let vk = setup(&prog, &consts, &pk, Some(8)).unwrap();
        let out = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], Some(9), "cpu").unwrap();
        let other = prove(&prog, &consts, &pk, &[vec![4, -3, 6]], Some(10), "cpu").unwrap();
        let public = serde_json::to_string(&out.public).unwrap();
        let other_public = serde_json::to_string(&other.public).unwrap();
        let p = snarkjs::proof_from_json(&serde_json::from_str(&out.proof_json).unwrap()).unwrap();
        let t = Fr::rand(&mut rng(Some(11)));
        let variants = [
            // (-A, -B, C): e(-A, -B) = e(A, B).
            crate::groth16::Proof { a: -p.a, b: -p.b, c: p.c },
            // (tA, B/t, C).
            crate::groth16::Proof { a: (p.a * t).into_affine(), b: (p.b * t.inverse().unwrap()).into_affine(), c: p.c },
        ];
        for v in variants {
            assert_ne!(v.a, p.a);
            let json = snarkjs::proof_to_json(&v).to_string();
            // Valid by design (proofs are malleable), so never an identifier...
            assert!(verify(&vk, &json, &public).unwrap());
            // ...and harmless: it proves nothing new.
            assert!(!verify(&vk, &json, &other_public).unwrap());
        }
    }

    #[test]
    fn setup_prove_verify_round_trip_and_rejections() {
        let (prog, consts) = tiny_program();
        let pk = tmp("roundtrip");
        let vk = setup(&prog, &consts, &pk, Some(1)).unwrap();
        let out = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], Some(2), "cpu").unwrap();
        assert_eq!(out.outputs, vec![vec![6, 0]]);
        let public = serde_json::to_string(&out.public).unwrap();
        assert!(verify(&vk, &out.proof_json, &public).unwrap());

        // Another input's public signals do not verify with this proof.
        let other = prove(&prog, &consts, &pk, &[vec![4, -3, 6]], Some(3), "cpu").unwrap();
        let other_public = serde_json::to_string(&other.public).unwrap();
        assert!(!verify(&vk, &out.proof_json, &other_public).unwrap());

        // A swapped proof element fails.
        let mut p: serde_json::Value = serde_json::from_str(&out.proof_json).unwrap();
        let q: serde_json::Value = serde_json::from_str(&other.proof_json).unwrap();
        p["pi_c"] = q["pi_c"].clone();
        assert!(!verify(&vk, &p.to_string(), &public).unwrap());

        // The wrong number of public inputs is an error, not a verdict.
        assert!(verify(&vk, &out.proof_json, "[\"1\"]").is_err());
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_key_for_another_circuit_is_refused() {
        let (prog, consts) = tiny_program();
        let pk = tmp("mismatch");
        setup(&prog, &consts, &pk, Some(1)).unwrap();
        // The same document shape with another bias: another blob, hence
        // another constants_sha256 and another circuit hash.
        let mut other = tiny_builder();
        other.set_constant(1, &[2], &[3, -2]);
        let (other, other_consts) = other.build();
        let err = prove(&other, &other_consts, &pk, &[vec![4, -3, 5]], None, "cpu").err().unwrap();
        assert!(matches!(err, Error::Mismatch(_)), "{err}");
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn setup_needs_no_input_and_prove_reports_an_out_of_range_input() {
        use crate::program::builder::ProgramBuilder;
        use serde_json::json;
        // y = 2^13 x0 + 2^20 at 8 bits: 0 at x0 = -128, 2^20 at x0 = 0.
        let mut b = ProgramBuilder::new("bias");
        let x = b.tensor("x", &[2], 0, 8);
        let y = b.tensor("y", &[1], 0, 8);
        b.input("x", x);
        b.output("y", y);
        let index = b.constant("index", &[1, 2], &[0, 1]);
        let weight = b.constant("weight", &[1, 2], &[1 << 13, 0]);
        let row = b.constant("row", &[1], &[0]);
        let bias = b.constant("bias", &[1], &[1 << 20]);
        b.instruction(json!({"op": "affine", "inputs": [x], "output": y, "index": index, "weight": weight,
                             "row": row, "bias": bias, "shift": 0}));
        let (prog, consts) = b.build();
        let info = circuit_info(&prog, &consts).unwrap();
        assert_eq!(info.public_inputs, 2);
        let pk = tmp("no-input");
        let vk = setup(&prog, &consts, &pk, Some(12)).unwrap();
        let err = prove(&prog, &consts, &pk, &[vec![0, 0]], Some(13), "cpu").err().unwrap();
        assert!(matches!(err, Error::OutOfRange(_)), "{err}");
        let out = prove(&prog, &consts, &pk, &[vec![-128, 3]], Some(13), "cpu").unwrap();
        assert_eq!(out.outputs, vec![vec![0]]);
        assert!(verify(&vk, &out.proof_json, &serde_json::to_string(&out.public).unwrap()).unwrap());
        let (outputs, public) = evaluate(&prog, &consts, &[vec![-128, 0]]).unwrap();
        assert_eq!((outputs, public.len()), (vec![vec![0]], 2));
        // 2^13 (-127) + 2^20 = 8192 does not fit 8 bits either.
        let err = evaluate(&prog, &consts, &[vec![-127, 0]]).err().unwrap();
        assert!(matches!(&err, Error::OutOfRange(m) if m.contains("value 8192 of tensor 'y'")), "{err}");
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn the_constants_of_another_build_are_refused() {
        let (prog, mut consts) = tiny_program();
        consts[8] ^= 1;
        let err = circuit_info(&prog, &consts).err().unwrap();
        assert!(matches!(&err, Error::Program(m) if m.contains("do not belong together")), "{err}");
        let err = evaluate(&prog, &consts[..8], &[vec![1, 2, 3]]).err().unwrap();
        assert!(matches!(&err, Error::Program(m) if m.contains("constants.bin holds 8 bytes")), "{err}");
    }

    #[test]
    fn the_prover_refuses_an_unsatisfying_witness() {
        let (prog, consts) = tiny_program();
        let circuit = Circuit::from_parts(&prog, &consts).unwrap();
        let s = synthesize(&circuit, Some(&[vec![4, -3, 5]])).unwrap();
        let pk = generate_parameters(&s.r1cs, &mut rng(Some(5))).unwrap();
        let mut z = s.assignment.clone();
        z[s.r1cs.num_public] += Fr::from(1u64);
        let err = create_proof(&pk, &s.r1cs, &z, &Cpu, &mut rng(Some(6))).err().unwrap();
        assert!(matches!(err, Error::Unsatisfied { ref label, .. } if label == "public inputs"), "{err}");
    }

    #[test]
    fn a_proof_of_a_false_output_does_not_verify() {
        // Claim output element 0 is 7 instead of 6: patch the witness all the way
        // (output value, the relu input, and the packed public signal), prove
        // without the prover's own check, and let the verifier judge.
        use crate::groth16::prover::create_proof_unchecked;
        let (prog, consts) = tiny_program();
        let circuit = Circuit::from_parts(&prog, &consts).unwrap();
        let s = synthesize(&circuit, Some(&[vec![4, -3, 5]])).unwrap();
        let pk = generate_parameters(&s.r1cs, &mut rng(Some(7))).unwrap();
        let mut z = s.assignment.clone();
        let out_col = s.r1cs.num_public;
        z[out_col] += Fr::from(1u64); // output 0 is the lowest packed field: +1 means 6 -> 7
        for (i, v) in z.iter_mut().enumerate().skip(out_col + 1) {
            if *v == Fr::from(6u64) && i > out_col {
                *v = Fr::from(7u64);
            }
        }
        assert!(s.r1cs.first_unsatisfied(&z).is_some());
        let proof = create_proof_unchecked(&pk, &s.r1cs, &z, &mut rng(Some(8))).unwrap();
        let public = &z[1..=s.r1cs.num_public];
        assert!(!verify_proof(&pk.vk, &proof, public).unwrap());
        // The honest statement with the same key does verify.
        let honest = create_proof(&pk, &s.r1cs, &s.assignment, &Cpu, &mut rng(Some(9))).unwrap().0;
        assert!(verify_proof(&pk.vk, &honest, s.public_inputs()).unwrap());
    }
}
