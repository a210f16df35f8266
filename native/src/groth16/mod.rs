//! Groth16 over BN254 (Groth, "On the Size of Pairing-based Non-interactive
//! Arguments", EUROCRYPT 2016), one file per phase like arkworks' layout:
//! `r1cs_to_qap` (our QAP reduction), `generator` (trusted setup), `prover`,
//! `verifier`, and `keys` (key and proof types; their files are in
//! `crate::formats`, which this module never uses).

pub mod generator;
pub mod keys;
pub mod prover;
pub mod r1cs_to_qap;
pub mod verifier;

pub use generator::generate_parameters;
pub use keys::{Proof, ProvingKey, VerifyingKey};
pub use prover::{create_proof, create_proof_from_rows, create_proof_with, HostMsms, KeyMsms, ProverTimings, Query};
pub use verifier::{check_verifying_key, pairing_check, prepare_inputs, verify_proof};
