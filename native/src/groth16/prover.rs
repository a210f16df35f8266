//! The Groth16 prover.
//!
//!   A = alpha + sum_i z_i u_i(tau) + r delta                      (G1)
//!   B = beta  + sum_i z_i v_i(tau) + s delta                      (G2, and G1 for C)
//!   C = sum_{i private} z_i L_i + sum_j h_j tau^j Z(tau)/delta + s A + r B - r s delta
//! with fresh random r, s for every proof (zero knowledge).

use std::time::Instant;

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::UniformRand;
use rand::{CryptoRng, RngCore};

use super::keys::{Proof, ProvingKey};
use super::r1cs_to_qap::{domain_for, witness_map};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::r1cs::R1cs;

/// Seconds spent in each prover phase.
#[derive(Clone, Debug, Default)]
pub struct ProverTimings {
    /// Constraint evaluation, satisfaction check and the NTTs for h.
    pub qap: f64,
    /// The five MSMs.
    pub msm: f64,
}

/// Prove that `z` satisfies `r1cs`. Refuses (naming the constraint) when it
/// does not: such a proof could never verify.
pub fn create_proof<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    r1cs: &R1cs,
    z: &[Fr],
    backend: &dyn Backend,
    rng: &mut R,
) -> Result<(Proof, ProverTimings)> {
    prove_inner(pk, r1cs, z, backend, rng, true)
}

/// The prover without its satisfaction check, so tests can show that a proof
/// built from a false witness fails verification on its own.
#[cfg(test)]
pub(crate) fn create_proof_unchecked<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    r1cs: &R1cs,
    z: &[Fr],
    rng: &mut R,
) -> Result<Proof> {
    prove_inner(pk, r1cs, z, &crate::backend::Cpu, rng, false).map(|(p, _)| p)
}

fn prove_inner<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    r1cs: &R1cs,
    z: &[Fr],
    backend: &dyn Backend,
    rng: &mut R,
    check: bool,
) -> Result<(Proof, ProverTimings)> {
    let num_instance = r1cs.num_public + 1;
    if z.len() != r1cs.num_variables || pk.a_query.len() != z.len() || pk.vk.gamma_abc_g1.len() != num_instance {
        return Err(Error::Mismatch("the proving key does not fit this constraint system".into()));
    }
    let domain = domain_for(r1cs)?;
    if domain.size as u64 != pk.domain_size || pk.h_query.len() != domain.size - 1 {
        return Err(Error::Mismatch("the proving key was made for another QAP domain".into()));
    }
    let mut timings = ProverTimings::default();

    let t = Instant::now();
    let h = witness_map(r1cs, z, &domain, backend, check)?;
    timings.qap = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    let private = &z[num_instance..];
    let delta_g1: G1Projective = pk.delta_g1.into();
    let delta_g2: G2Projective = pk.vk.delta_g2.into();

    let a = backend.msm_g1(&pk.a_query, z)? + pk.vk.alpha_g1 + delta_g1 * r;
    let b_g2 = backend.msm_g2(&pk.b_g2_query, z)? + pk.vk.beta_g2 + delta_g2 * s;
    let b_g1 = backend.msm_g1(&pk.b_g1_query, z)? + pk.beta_g1 + delta_g1 * s;
    let c = backend.msm_g1(&pk.l_query, private)? + backend.msm_g1(&pk.h_query, &h)? + a * s + b_g1 * r - delta_g1 * (r * s);
    timings.msm = t.elapsed().as_secs_f64();

    let [a, c] = {
        let v = G1Projective::normalize_batch(&[a, c]);
        [v[0], v[1]]
    };
    Ok((Proof { a, b: b_g2.into_affine(), c }, timings))
}
