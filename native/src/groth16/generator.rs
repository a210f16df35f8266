//! Trusted setup (circuit-specific), with local randomness.
//!
//! Every secret (tau, alpha, beta, gamma, delta) is drawn from the RNG given,
//! used, and dropped when this function returns: whoever controls that RNG can
//! forge proofs, which is why a local setup is for development only.

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{Field, UniformRand, Zero};
use rand::{CryptoRng, RngCore};

use super::keys::{ProvingKey, VerifyingKey};
use super::r1cs_to_qap::{domain_for, evaluate_at, h_scalars_at};
use crate::error::{Error, Result};
use crate::msm::fixed_base_batch;
use crate::r1cs::R1cs;

fn nonzero<R: RngCore>(rng: &mut R) -> Fr {
    loop {
        let x = Fr::rand(rng);
        if !x.is_zero() {
            return x;
        }
    }
}

pub fn generate_parameters<R: RngCore + CryptoRng>(r1cs: &R1cs, rng: &mut R) -> Result<ProvingKey> {
    let domain = domain_for(r1cs)?;
    // tau must lie outside the 2n-point domain: then Z(tau) != 0 (else the
    // key is useless) and the H query's Lagrange basis is defined.
    let tau = loop {
        let t = Fr::rand(rng);
        if !(t.pow([2 * domain.size as u64]) - Fr::from(1u64)).is_zero() {
            break t;
        }
    };
    let (alpha, beta, gamma, delta) = (nonzero(rng), nonzero(rng), nonzero(rng), nonzero(rng));
    let gamma_inv = gamma.inverse().expect("nonzero");
    let delta_inv = delta.inverse().expect("nonzero");

    let (u, v, w, _z_tau) = evaluate_at(r1cs, &domain, tau);
    let num_instance = r1cs.num_public + 1;
    // beta*u_i + alpha*v_i + w_i, divided by gamma (public) or delta (private).
    let combined: Vec<Fr> = u.iter().zip(&v).zip(&w).map(|((u, v), w)| beta * u + alpha * v + w).collect();
    let ic: Vec<Fr> = combined[..num_instance].iter().map(|x| *x * gamma_inv).collect();
    let l: Vec<Fr> = combined[num_instance..].iter().map(|x| *x * delta_inv).collect();

    let h: Vec<Fr> = h_scalars_at(&domain, tau)?.into_iter().map(|x| x * delta_inv).collect();

    let g1 = G1Projective::generator();
    let g2 = G2Projective::generator();
    let pk = ProvingKey {
        vk: VerifyingKey {
            alpha_g1: (g1 * alpha).into_affine(),
            beta_g2: (g2 * beta).into_affine(),
            gamma_g2: (g2 * gamma).into_affine(),
            delta_g2: (g2 * delta).into_affine(),
            gamma_abc_g1: fixed_base_batch(g1, &ic),
        },
        beta_g1: (g1 * beta).into_affine(),
        delta_g1: (g1 * delta).into_affine(),
        a_query: fixed_base_batch(g1, &u),
        b_g1_query: fixed_base_batch(g1, &v),
        b_g2_query: fixed_base_batch(g2, &v),
        h_query: fixed_base_batch(g1, &h),
        l_query: fixed_base_batch(g1, &l),
        domain_size: domain.size as u64,
    };
    if pk.vk.gamma_abc_g1.len() != num_instance || pk.l_query.len() + num_instance != r1cs.num_variables {
        return Err(Error::Internal("key sizes do not match the constraint system".into()));
    }
    Ok(pk)
}
