//! The Groth16 verifier: e(A, B) = e(alpha, beta) * e(vk_x, gamma) * e(C, delta)
//! with vk_x = IC_0 + sum_i x_i IC_{i+1}, checked as one 4-pair product.
//!
//! The points of `proof` and `vk` must already be on their curves and in the
//! prime-order subgroups (the JSON readers in `snarkjs.rs` check that).

use ark_bn254::{Bn254, Fr, G1Projective, G2Affine};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Zero;

use super::keys::{Proof, VerifyingKey};
use crate::error::{Error, Result};

pub fn prepare_inputs(vk: &VerifyingKey, public: &[Fr]) -> Result<G1Projective> {
    if public.len() + 1 != vk.gamma_abc_g1.len() {
        return Err(Error::Format(format!(
            "the verifying key expects {} public inputs, got {}",
            vk.gamma_abc_g1.len() - 1,
            public.len()
        )));
    }
    Ok(crate::msm::msm::<G1Projective>(&vk.gamma_abc_g1[1..], public) + vk.gamma_abc_g1[0])
}

/// Refuses keys that parse but let anyone forge proofs: a point at infinity
/// among alpha, beta, gamma, delta; delta equal to gamma (then A = alpha,
/// B = beta, C = -vk_x verifies for any public input); delta equal to the G2
/// generator (no phase-2 randomness: delta's discrete log is known).
/// Gamma may be the generator, as in snarkjs's keys.
pub fn check_verifying_key(vk: &VerifyingKey) -> Result<()> {
    let unsafe_key =
        |why: &str| Err(Error::Format(format!("unsafe verification key: {why}, so anyone can forge proofs for it")));
    if vk.alpha_g1.is_zero() || vk.beta_g2.is_zero() || vk.gamma_g2.is_zero() || vk.delta_g2.is_zero() {
        return unsafe_key("one of vk_alpha_1, vk_beta_2, vk_gamma_2, vk_delta_2 is the point at infinity");
    }
    if vk.delta_g2 == vk.gamma_g2 {
        return unsafe_key("vk_delta_2 equals vk_gamma_2");
    }
    if vk.delta_g2 == G2Affine::generator() {
        return unsafe_key("vk_delta_2 is the G2 generator (no phase-2 randomness)");
    }
    Ok(())
}

pub fn verify_proof(vk: &VerifyingKey, proof: &Proof, public: &[Fr]) -> Result<bool> {
    check_verifying_key(vk)?;
    pairing_check(vk, proof, public)
}

/// The pairing equation alone, for any key, a forgeable one included: a
/// prover checking its own proof against its own key (the key's safety is
/// the verifier's question, [`check_verifying_key`]).
pub fn pairing_check(vk: &VerifyingKey, proof: &Proof, public: &[Fr]) -> Result<bool> {
    let vk_x = prepare_inputs(vk, public)?.into_affine();
    let product: PairingOutput<Bn254> =
        Bn254::multi_pairing([-proof.a, vk.alpha_g1, vk_x, proof.c], [proof.b, vk.beta_g2, vk.gamma_g2, vk.delta_g2]);
    Ok(product.is_zero())
}
