//! Our R1CS -> QAP reduction.
//!
//! The domain holds one point per constraint plus one per instance variable
//! (the constant one and every public input): row m + j gets A = x_j, B = C = 0.
//! Those extra rows make the public polynomials u_j linearly independent of
//! each other and of the private ones, which Groth16's soundness relies on.

use ark_bn254::Fr;
use ark_ff::Zero;
use rayon::prelude::*;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ntt::Domain;
use crate::r1cs::R1cs;

/// The QAP domain: n = the smallest power of two with a point per row (as
/// snarkjs sizes it), its coset the odd powers of a primitive 2n-th root
/// ([`Domain::with_odd_coset`]), where the quotient is evaluated.
pub fn domain_for(r1cs: &R1cs) -> Result<Domain<Fr>> {
    domain_for_rows(r1cs.num_constraints() + r1cs.num_public + 1)
}

/// [`domain_for`] a system of `rows` QAP rows (constraints + instance variables).
pub fn domain_for_rows(rows: usize) -> Result<Domain<Fr>> {
    Domain::new(rows)
        .and_then(Domain::with_odd_coset)
        .ok_or_else(|| Error::Program(format!("{rows} QAP rows exceed BN254's largest Groth16 domain (2^27)")))
}

/// The H query's scalars at `tau`: `L_{2i+1}(tau)` for i < n, the Lagrange
/// basis of the 2n-point domain at its odd points. Each is a multiple of
/// Z(tau) (the odd 2n-th roots are the roots of X^n + 1, and
/// X^2n - 1 = Z(X)(X^n + 1)), and for a satisfying witness
/// `sum_i P(w_2n^(2i+1)) L_{2i+1}(tau) = P(tau) = h(tau) Z(tau)` where
/// P = A·B − C vanishes on the even points. This is snarkjs's layout of the
/// H section, so keys move between the two unchanged.
pub fn h_scalars_at(domain: &Domain<Fr>, tau: Fr) -> Result<Vec<Fr>> {
    let double = Domain::<Fr>::new(2 * domain.size)
        .ok_or_else(|| Error::Program(format!("no NTT domain of {} points", 2 * domain.size)))?;
    let all = double.lagrange_coefficients_at(tau);
    Ok(all.into_iter().skip(1).step_by(2).collect())
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

/// The values of P = A·B − C on the domain's odd coset
/// (`P(w_2n^(2i+1))`, n of them), from the row evaluations of
/// [`evaluate_rows`], with six NTTs on `backend`: interpolate, evaluate on the
/// coset, multiply pointwise. With the H query of [`h_scalars_at`] their MSM
/// is `[h(tau) Z(tau) / delta]_1`.
pub fn quotient_by_ntts<B: Backend + ?Sized>(backend: &B, domain: &Domain<Fr>, rows: [Vec<Fr>; 3]) -> Result<Vec<Fr>> {
    let [mut a, mut b, mut c] = rows;
    for v in [&mut a, &mut b, &mut c] {
        backend.ifft(domain, v)?;
        backend.coset_fft(domain, v)?;
    }
    a.par_iter_mut().zip(b.par_iter()).zip(c.par_iter()).for_each(|((a, b), c)| {
        *a = *a * b - c;
    });
    Ok(a)
}

/// The values of A·B − C on the odd coset for the assignment `z`
/// ([`evaluate_rows`], then the backend's quotient), the scalars of the H
/// MSM. With `check`, fails (naming the constraint) when `z` does not satisfy
/// the system.
pub fn witness_map(r1cs: &R1cs, z: &[Fr], domain: &Domain<Fr>, backend: &dyn Backend, check: bool) -> Result<Vec<Fr>> {
    let rows = evaluate_rows(r1cs, z, domain, check)?;
    backend.quotient(domain, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, One, UniformRand};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    fn eval(coeffs: &[Fr], x: Fr) -> Fr {
        coeffs.iter().rev().fold(Fr::zero(), |acc, c| acc * x + c)
    }

    /// P = h·Z for a random h of degree n − 2: the H scalars weighted by P on
    /// the odd coset give h(tau) Z(tau), and the coset is where Z = −2.
    #[test]
    fn the_odd_coset_lagrange_basis_gives_h_of_tau_times_z_of_tau() {
        let mut rng = StdRng::seed_from_u64(3);
        for n in [2usize, 4, 16, 64] {
            let d = Domain::<Fr>::new(n).unwrap().with_odd_coset().unwrap();
            let h: Vec<Fr> = (0..n - 1).map(|_| Fr::rand(&mut rng)).collect();
            // P(X) = h(X) (X^n − 1)
            let mut p = vec![Fr::zero(); 2 * n];
            for (j, hj) in h.iter().enumerate() {
                p[j] -= hj;
                p[j + n] += hj;
            }
            let tau = Fr::rand(&mut rng);
            let scalars = h_scalars_at(&d, tau).unwrap();
            assert_eq!(scalars.len(), n);
            let mut x = d.coset_gen;
            let mut sum = Fr::zero();
            for s in &scalars {
                assert_eq!(x.pow([n as u64]), -Fr::one(), "odd coset point");
                sum += eval(&p, x) * s;
                x *= d.omega;
            }
            assert_eq!(sum, eval(&h, tau) * d.vanishing_at(tau), "n = {n}");
            // A P that is not a multiple of Z is not reproduced: the sum
            // only sees the odd points.
            let mut q = p.clone();
            q[0] += Fr::one();
            let mut x = d.coset_gen;
            let mut sum = Fr::zero();
            for s in &scalars {
                sum += eval(&q, x) * s;
                x *= d.omega;
            }
            assert_ne!(sum, eval(&q, tau), "n = {n}");
        }
    }

    /// The quotient's NTTs evaluate A·B − C on the odd coset.
    #[test]
    fn quotient_by_ntts_is_a_times_b_minus_c_on_the_odd_coset() {
        let mut rng = StdRng::seed_from_u64(4);
        let d = Domain::<Fr>::new(16).unwrap().with_odd_coset().unwrap();
        let rows: [Vec<Fr>; 3] = std::array::from_fn(|_| (0..16).map(|_| Fr::rand(&mut rng)).collect());
        let got = quotient_by_ntts(&crate::backend::Cpu, &d, rows.clone()).unwrap();
        let interp = |v: &Vec<Fr>| {
            let mut c = v.clone();
            d.ifft(&mut c);
            c
        };
        let (a, b, c) = (interp(&rows[0]), interp(&rows[1]), interp(&rows[2]));
        let mut x = d.coset_gen;
        for g in got {
            assert_eq!(g, eval(&a, x) * eval(&b, x) - eval(&c, x));
            x *= d.omega;
        }
    }
}
