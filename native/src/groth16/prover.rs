//! The Groth16 prover.
//!
//!   A = alpha + sum_i z_i u_i(tau) + r delta                      (G1)
//!   B = beta  + sum_i z_i v_i(tau) + s delta                      (G2, and G1 for C)
//!   C = sum_{i private} z_i L_i + h(tau) Z(tau)/delta + s A + r B - r s delta
//! where h(tau) Z(tau)/delta is the H MSM over the values of A·B − C on the
//! odd coset (see `r1cs_to_qap`).
//! with fresh random r, s for every proof (zero knowledge).

use std::time::Instant;

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{UniformRand, Zero};
use rand::{CryptoRng, RngCore};

use super::keys::{Proof, ProvingKey};
use super::r1cs_to_qap::{domain_for, domain_for_rows, evaluate_rows};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ntt::Domain;
use crate::r1cs::{R1cs, WitnessRows};

/// Seconds spent in each prover phase.
#[derive(Clone, Debug, Default)]
pub struct ProverTimings {
    /// Constraint evaluation, satisfaction check and the NTTs for h
    /// (`evaluate` + `quotient`).
    pub qap: f64,
    /// A·z, B·z, C·z and the satisfaction check (on the CPU).
    pub evaluate: f64,
    /// The H MSM's scalars: six NTTs and the pointwise product, with their transfers
    /// on a GPU.
    pub quotient: f64,
    /// The five MSMs.
    pub msm: f64,
}

/// One of the proving key's five point vectors, for a [`KeyMsms`] that keeps
/// them elsewhere (on a GPU) and finds them by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    A,
    BG1,
    BG2,
    H,
    L,
}

/// Where the five MSMs of a proof run. `bases` is always the host copy of
/// `query`; an implementation may use its own copy of the same points.
pub trait KeyMsms: Sync {
    fn msm_g1(&self, query: Query, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective>;
    fn msm_g2(&self, query: Query, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective>;

    /// The three MSMs over the whole assignment: (A, B in G1, B in G2).
    /// An implementation may send `z` to its device once for all three.
    fn msms_of_z(&self, pk: &ProvingKey, z: &[Fr]) -> Result<(G1Projective, G1Projective, G2Projective)> {
        Ok((
            self.msm_g1(Query::A, &pk.a_query, z)?,
            self.msm_g1(Query::BG1, &pk.b_g1_query, z)?,
            self.msm_g2(Query::BG2, &pk.b_g2_query, z)?,
        ))
    }

    /// `sum_j h_j H_j` for the quotient h of the assignment `z`: the row
    /// evaluations A·z, B·z, C·z (checked when `check`), then
    /// [`KeyMsms::quotient_msm`]. Fills `timings.evaluate` and
    /// `timings.quotient`. An implementation may evaluate the rows where the
    /// matrices are (on a GPU).
    #[allow(clippy::too_many_arguments)]
    fn witness_quotient_msm(
        &self,
        backend: &dyn Backend,
        r1cs: &R1cs,
        z: &[Fr],
        domain: &Domain<Fr>,
        check: bool,
        h_bases: &[G1Affine],
        timings: &mut ProverTimings,
    ) -> Result<G1Projective> {
        quotient_msm_of_cpu_rows(self, backend, r1cs, z, domain, check, h_bases, timings)
    }

    /// `sum_j h_j H_j` for the quotient h of the row evaluations `rows`
    /// (see [`Backend::quotient`]), and the seconds spent computing h. An
    /// implementation may keep h where it computed it (on a GPU) for the MSM.
    fn quotient_msm(
        &self,
        backend: &dyn Backend,
        domain: &Domain<Fr>,
        rows: [Vec<Fr>; 3],
        h_bases: &[G1Affine],
    ) -> Result<(G1Projective, f64)> {
        let t = Instant::now();
        let h = backend.quotient(domain, rows)?;
        let seconds = t.elapsed().as_secs_f64();
        crate::progress::stage("msm");
        Ok((self.msm_g1(Query::H, h_bases, &h)?, seconds))
    }
}

/// [`KeyMsms::witness_quotient_msm`]'s default, for implementations that
/// override it only in some cases: the rows evaluated on the CPU, then
/// `msms`' own [`KeyMsms::quotient_msm`].
#[allow(clippy::too_many_arguments)]
pub fn quotient_msm_of_cpu_rows<M: KeyMsms + ?Sized>(
    msms: &M,
    backend: &dyn Backend,
    r1cs: &R1cs,
    z: &[Fr],
    domain: &Domain<Fr>,
    check: bool,
    h_bases: &[G1Affine],
    timings: &mut ProverTimings,
) -> Result<G1Projective> {
    crate::progress::stage("evaluate");
    let t = Instant::now();
    let rows = evaluate_rows(r1cs, z, domain, check)?;
    timings.evaluate = t.elapsed().as_secs_f64();
    crate::progress::stage("quotient");
    let (sum, seconds) = msms.quotient_msm(backend, domain, rows, h_bases)?;
    timings.quotient = seconds;
    Ok(sum)
}

/// The MSMs of a [`Backend`] on the host copy of the key (what
/// [`create_proof`] uses).
pub struct HostMsms<'a>(pub &'a dyn Backend);

impl KeyMsms for HostMsms<'_> {
    fn msm_g1(&self, _query: Query, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective> {
        self.0.msm_g1(bases, scalars)
    }
    fn msm_g2(&self, _query: Query, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective> {
        self.0.msm_g2(bases, scalars)
    }
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
    prove_inner(pk, r1cs, z, backend, &HostMsms(backend), rng, true)
}

/// [`create_proof`] with the NTTs on `backend` and the five MSMs on `msms`
/// (e.g. a GPU holding the key's points resident across proofs).
pub fn create_proof_with<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    r1cs: &R1cs,
    z: &[Fr],
    backend: &dyn Backend,
    msms: &dyn KeyMsms,
    rng: &mut R,
) -> Result<(Proof, ProverTimings)> {
    prove_inner(pk, r1cs, z, backend, msms, rng, true)
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
    let cpu = crate::backend::Cpu;
    prove_inner(pk, r1cs, z, &cpu, &HostMsms(&cpu), rng, false).map(|(p, _)| p)
}

fn prove_inner<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    r1cs: &R1cs,
    z: &[Fr],
    backend: &dyn Backend,
    msms: &dyn KeyMsms,
    rng: &mut R,
    check: bool,
) -> Result<(Proof, ProverTimings)> {
    let num_instance = r1cs.num_public + 1;
    if z.len() != r1cs.num_variables || pk.a_query.len() != z.len() || pk.vk.gamma_abc_g1.len() != num_instance {
        return Err(Error::Mismatch("the proving key does not fit this constraint system".into()));
    }
    let domain = domain_for(r1cs)?;
    if domain.size as u64 != pk.domain_size || pk.h_query.len() != domain.size {
        return Err(Error::Mismatch("the proving key was made for another QAP domain".into()));
    }
    let mut timings = ProverTimings::default();

    let t = Instant::now();
    let h_msm = msms.witness_quotient_msm(backend, r1cs, z, &domain, check, &pk.h_query, &mut timings)?;
    crate::progress::stage("msm");
    let proof = proof_around_h(pk, z, num_instance, h_msm, msms, rng)?;
    timings.msm = t.elapsed().as_secs_f64() - timings.evaluate - timings.quotient;
    timings.qap = timings.evaluate + timings.quotient;
    Ok((proof, timings))
}

/// Prove that the assignment of `w` satisfies the constraint system whose
/// row values it recorded (a witness-only synthesis,
/// [`crate::synth::synthesize_witness`]), with the NTTs on `backend` and the
/// MSMs on `msms`. Refuses (naming the constraint and its region, as
/// [`create_proof`] does) when a recorded row breaks `a * b = c`. The QAP
/// starts from the recorded rows: no matrix is needed, and `w.rows` is
/// taken (left empty).
///
/// The rows must be those of the system the key was made for; if they are
/// not, the proof does not verify (`pipeline::Prover` verifies each proof
/// before returning it).
pub fn create_proof_from_rows<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    w: &mut WitnessRows,
    backend: &dyn Backend,
    msms: &dyn KeyMsms,
    rng: &mut R,
) -> Result<(Proof, ProverTimings)> {
    let num_instance = w.num_public + 1;
    if pk.a_query.len() != w.assignment.len() || pk.vk.gamma_abc_g1.len() != num_instance {
        return Err(Error::Mismatch("the proving key does not fit this constraint system".into()));
    }
    let domain = domain_for_rows(w.num_constraints() + num_instance)?;
    if domain.size as u64 != pk.domain_size || pk.h_query.len() != domain.size {
        return Err(Error::Mismatch("the proving key was made for another QAP domain".into()));
    }
    let mut timings = ProverTimings::default();

    crate::progress::stage("evaluate");
    let t = Instant::now();
    if let Some(row) = w.first_unsatisfied() {
        return Err(Error::Unsatisfied { row, label: w.label_of(row).to_string() });
    }
    // The QAP's rows: the constraints, then the instance rows (A = z_j,
    // B = C = 0), then zeros, as `evaluate_rows` lays them out.
    let z = &w.assignment;
    let [mut a, mut b, mut c] = std::mem::take(&mut w.rows);
    a.extend_from_slice(&z[..num_instance]);
    for v in [&mut a, &mut b, &mut c] {
        v.resize(domain.size, Fr::zero());
    }
    timings.evaluate = t.elapsed().as_secs_f64();
    crate::progress::stage("quotient");
    let (h_msm, seconds) = msms.quotient_msm(backend, &domain, [a, b, c], &pk.h_query)?;
    timings.quotient = seconds;
    let proof = proof_around_h(pk, z, num_instance, h_msm, msms, rng)?;
    timings.msm = t.elapsed().as_secs_f64() - timings.evaluate - timings.quotient;
    timings.qap = timings.evaluate + timings.quotient;
    Ok((proof, timings))
}

/// The proof around the H MSM's sum: fresh r and s, the MSMs over z and
/// its private part, and the three elements.
fn proof_around_h<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    z: &[Fr],
    num_instance: usize,
    h_msm: G1Projective,
    msms: &dyn KeyMsms,
    rng: &mut R,
) -> Result<Proof> {
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    let private = &z[num_instance..];
    let delta_g1: G1Projective = pk.delta_g1.into();
    let delta_g2: G2Projective = pk.vk.delta_g2.into();

    let (a_msm, b_g1_msm, b_g2_msm) = msms.msms_of_z(pk, z)?;
    let a = a_msm + pk.vk.alpha_g1 + delta_g1 * r;
    let b_g2 = b_g2_msm + pk.vk.beta_g2 + delta_g2 * s;
    let b_g1 = b_g1_msm + pk.beta_g1 + delta_g1 * s;
    let c = msms.msm_g1(Query::L, &pk.l_query, private)? + h_msm + a * s + b_g1 * r - delta_g1 * (r * s);

    let [a, c] = {
        let v = G1Projective::normalize_batch(&[a, c]);
        [v[0], v[1]]
    };
    Ok(Proof { a, b: b_g2.into_affine(), c })
}
