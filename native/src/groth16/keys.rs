//! Key and proof types, named after the paper and arkworks (their file
//! formats are in `crate::formats`).
//!
//! Notation: u_i, v_i, w_i are the QAP polynomials of variable i (columns of A,
//! B, C interpolated over the domain), Z the vanishing polynomial, tau the
//! secret evaluation point.

use ark_bn254::{G1Affine, G2Affine};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};

#[derive(Clone, Debug, PartialEq, CanonicalSerialize, CanonicalDeserialize)]
pub struct VerifyingKey {
    /// [alpha]_1
    pub alpha_g1: G1Affine,
    /// [beta]_2
    pub beta_g2: G2Affine,
    /// [gamma]_2
    pub gamma_g2: G2Affine,
    /// [delta]_2
    pub delta_g2: G2Affine,
    /// [(beta*u_i(tau) + alpha*v_i(tau) + w_i(tau)) / gamma]_1 for the constant
    /// one and each public input (snarkjs calls these IC).
    pub gamma_abc_g1: Vec<G1Affine>,
}

#[derive(Clone, Debug, PartialEq, CanonicalSerialize, CanonicalDeserialize)]
pub struct ProvingKey {
    pub vk: VerifyingKey,
    /// [beta]_1
    pub beta_g1: G1Affine,
    /// [delta]_1
    pub delta_g1: G1Affine,
    /// [u_i(tau)]_1 for every variable i
    pub a_query: Vec<G1Affine>,
    /// [v_i(tau)]_1 for every variable i
    pub b_g1_query: Vec<G1Affine>,
    /// [v_i(tau)]_2 for every variable i
    pub b_g2_query: Vec<G2Affine>,
    /// [L_{2i+1}(tau) / delta]_1 for i < n: the Lagrange basis of the
    /// 2n-point domain at its odd points, each a multiple of Z(tau) (see
    /// `r1cs_to_qap::h_scalars_at`; snarkjs's H section)
    pub h_query: Vec<G1Affine>,
    /// [(beta*u_i(tau) + alpha*v_i(tau) + w_i(tau)) / delta]_1 for every private i
    pub l_query: Vec<G1Affine>,
    /// QAP domain size n (a power of two)
    pub domain_size: u64,
}

/// A proof: two G1 points and one G2 point (256 bytes uncompressed on the EVM).
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Proof {
    pub a: G1Affine,
    pub b: G2Affine,
    pub c: G1Affine,
}
