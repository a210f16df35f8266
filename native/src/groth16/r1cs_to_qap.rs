//! Our R1CS -> QAP reduction.
//!
//! The domain holds one point per constraint plus one per instance variable
//! (the constant one and every public input): row m + j gets A = x_j, B = C = 0.
//! Those extra rows make the public polynomials u_j linearly independent of
//! each other and of the private ones, which Groth16's soundness relies on.

use ark_bn254::Fr;
use ark_ff::{Field, Zero};
use rayon::prelude::*;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ntt::Domain;
use crate::r1cs::R1cs;

pub fn domain_for(r1cs: &R1cs) -> Result<Domain<Fr>> {
    let rows = r1cs.num_constraints() + r1cs.num_public + 1;
    Domain::new(rows).ok_or_else(|| Error::Program(format!("{rows} QAP rows exceed BN254's largest NTT domain (2^28)")))
}

/// u_i(tau), v_i(tau), w_i(tau) for every variable i, and Z(tau).
pub fn evaluate_at(r1cs: &R1cs, domain: &Domain<Fr>, tau: Fr) -> (Vec<Fr>, Vec<Fr>, Vec<Fr>, Fr) {
    let lagrange = domain.lagrange_coefficients_at(tau);
    let n_vars = r1cs.num_variables;
    let column_sums = |m: &crate::r1cs::Matrix| {
        let mut out = vec![Fr::zero(); n_vars];
        for (row, l) in lagrange.iter().enumerate().take(m.num_rows()) {
            for (col, coeff) in m.row(row) {
                out[col] += *coeff * l;
            }
        }
        out
    };
    let mut u = column_sums(&r1cs.a);
    let v = column_sums(&r1cs.b);
    let w = column_sums(&r1cs.c);
    let m = r1cs.num_constraints();
    for (j, uj) in u.iter_mut().enumerate().take(r1cs.num_public + 1) {
        *uj += lagrange[m + j];
    }
    (u, v, w, domain.vanishing_at(tau))
}

/// The coefficients of h(X) = (A(X)B(X) - C(X)) / Z(X) for the assignment `z`,
/// n - 1 of them. With `check`, fails (naming the constraint) when `z` does not
/// satisfy the system: then no such polynomial h exists.
pub fn witness_map(r1cs: &R1cs, z: &[Fr], domain: &Domain<Fr>, backend: &dyn Backend, check: bool) -> Result<Vec<Fr>> {
    let n = domain.size;
    let m = r1cs.num_constraints();
    let evals = |mat: &crate::r1cs::Matrix| -> Vec<Fr> {
        let mut e = vec![Fr::zero(); n];
        e[..m].par_iter_mut().enumerate().for_each(|(i, x)| *x = mat.row_dot(i, z));
        e
    };
    let mut a = evals(&r1cs.a);
    let mut b = evals(&r1cs.b);
    let mut c = evals(&r1cs.c);
    a[m..m + r1cs.num_public + 1].copy_from_slice(&z[..r1cs.num_public + 1]);

    if check {
        if let Some(row) = (0..m).into_par_iter().find_first(|&i| a[i] * b[i] != c[i]) {
            return Err(Error::Unsatisfied { row, label: r1cs.label_of(row).to_string() });
        }
    }

    // Interpolate, move to the coset g*H where Z does not vanish, divide, and
    // come back: Z(g*w^i) = g^n - 1 is the same for every coset point.
    for v in [&mut a, &mut b, &mut c] {
        backend.ifft(domain, v)?;
        backend.coset_fft(domain, v)?;
    }
    let z_inv = (domain.coset_gen.pow([n as u64]) - Fr::from(1u64))
        .inverse()
        .expect("the coset generator is not an n-th root of unity");
    a.par_iter_mut().zip(b.par_iter()).zip(c.par_iter()).for_each(|((a, b), c)| {
        *a = (*a * b - c) * z_inv;
    });
    backend.coset_ifft(domain, &mut a)?;
    // deg h <= n - 2 for a satisfying witness, so the top coefficient is zero.
    a.truncate(n - 1);
    Ok(a)
}
