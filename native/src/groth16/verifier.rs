//! The Groth16 verifier: e(A, B) = e(alpha, beta) * e(vk_x, gamma) * e(C, delta)
//! with vk_x = IC_0 + sum_i x_i IC_{i+1}, checked as one 4-pair product.
//!
//! The points of `proof` and `vk` must already be on their curves and in the
//! prime-order subgroups (the JSON readers in `snarkjs.rs` check that).

use ark_bn254::{Bn254, Fr, G1Projective};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::CurveGroup;
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

pub fn verify_proof(vk: &VerifyingKey, proof: &Proof, public: &[Fr]) -> Result<bool> {
    let vk_x = prepare_inputs(vk, public)?.into_affine();
    let product: PairingOutput<Bn254> = Bn254::multi_pairing(
        [-proof.a, vk.alpha_g1, vk_x, proof.c],
        [proof.b, vk.beta_g2, vk.gamma_g2, vk.delta_g2],
    );
    Ok(product.is_zero())
}
