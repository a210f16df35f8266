//! zkml's native core: R1CS gadgets and witness generation, Groth16 over BN254,
//! and the MSM/NTT the prover spends its time in.

pub mod backend;
pub mod cuda;
pub mod error;
pub mod formats;
pub mod gadgets;
pub mod groth16;
pub mod io;
pub mod msm;
pub mod ntt;
pub mod ops;
pub mod pipeline;
pub mod program;
pub mod progress;
pub mod r1cs;
/// snarkjs's JSON (keys, proofs, public signals): `formats::snarkjs`.
pub use formats::snarkjs;
pub mod synth;

#[cfg(feature = "python")]
mod python;
