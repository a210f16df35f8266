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

/// A·z, B·z and C·z at the domain's n points: row i < m is constraint i,
/// rows m..m+l+1 are the instance rows (A = z_j, B = C = 0), the rest zero.
/// With `check`, fails (naming the constraint) when `z` does not satisfy the
/// system: then no quotient h exists.
pub fn evaluate_rows(r1cs: &R1cs, z: &[Fr], domain: &Domain<Fr>, check: bool) -> Result<[Vec<Fr>; 3]> {
    let n = domain.size;
    let m = r1cs.num_constraints();
    let evals = |mat: &crate::r1cs::Matrix| -> Vec<Fr> {
        let mut e = vec![Fr::zero(); n];
        e[..m].par_iter_mut().enumerate().for_each(|(i, x)| *x = mat.row_dot(i, z));
        e
    };
    let mut a = evals(&r1cs.a);
    let b = evals(&r1cs.b);
    let c = evals(&r1cs.c);
    a[m..m + r1cs.num_public + 1].copy_from_slice(&z[..r1cs.num_public + 1]);

    if check {
        if let Some(row) = (0..m).into_par_iter().find_first(|&i| a[i] * b[i] != c[i]) {
            return Err(Error::Unsatisfied { row, label: r1cs.label_of(row).to_string() });
        }
    }
    Ok([a, b, c])
}

/// 1 / Z(x) for every x of the coset g*H: Z(g w^i) = g^n - 1 is the same at
/// every coset point.
pub fn vanishing_inverse_on_coset(domain: &Domain<Fr>) -> Fr {
    (domain.coset_gen.pow([domain.size as u64]) - Fr::from(1u64))
        .inverse()
        .expect("the coset generator is not an n-th root of unity")
}

/// The coefficients of h(X) = (A(X)B(X) - C(X)) / Z(X), n - 1 of them, from
/// the row evaluations of [`evaluate_rows`], with the seven NTTs on `backend`:
/// interpolate, move to the coset g*H where Z does not vanish, divide, come back.
pub fn quotient_by_ntts<B: Backend + ?Sized>(backend: &B, domain: &Domain<Fr>, rows: [Vec<Fr>; 3]) -> Result<Vec<Fr>> {
    let n = domain.size;
    let [mut a, mut b, mut c] = rows;
    for v in [&mut a, &mut b, &mut c] {
        backend.ifft(domain, v)?;
        backend.coset_fft(domain, v)?;
    }
    let z_inv = vanishing_inverse_on_coset(domain);
    a.par_iter_mut().zip(b.par_iter()).zip(c.par_iter()).for_each(|((a, b), c)| {
        *a = (*a * b - c) * z_inv;
    });
    backend.coset_ifft(domain, &mut a)?;
    // deg h <= n - 2 for a satisfying witness, so the top coefficient is zero.
    a.truncate(n - 1);
    Ok(a)
}

/// The coefficients of h(X) = (A(X)B(X) - C(X)) / Z(X) for the assignment `z`,
/// n - 1 of them ([`evaluate_rows`], then the backend's quotient). With
/// `check`, fails (naming the constraint) when `z` does not satisfy the system.
pub fn witness_map(r1cs: &R1cs, z: &[Fr], domain: &Domain<Fr>, backend: &dyn Backend, check: bool) -> Result<Vec<Fr>> {
    let rows = evaluate_rows(r1cs, z, domain, check)?;
    backend.quotient(domain, rows)
}
