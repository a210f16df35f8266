//! The seam between the prover and the hardware that runs its heavy kernels.
//!
//! The Groth16 prover asks a [`Backend`] for every MSM and NTT it needs. The
//! default methods are the CPU implementations from [`crate::msm`] and
//! [`crate::ntt`], so a CUDA backend overrides only what it accelerates and
//! inherits the rest; its tests compare each override against these defaults.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use crate::ntt::Domain;

pub trait Backend: Send + Sync {
    /// Short name for logs and `--device` reports ("cpu", "cuda", ...).
    fn name(&self) -> &'static str;

    /// `sum_i scalars[i] * bases[i]` in G1. Panics if the lengths differ.
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> G1Projective {
        crate::msm::msm(bases, scalars)
    }

    /// `sum_i scalars[i] * bases[i]` in G2. Panics if the lengths differ.
    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> G2Projective {
        crate::msm::msm(bases, scalars)
    }

    /// See [`Domain::fft`]; panics unless `a.len() == d.size`.
    fn fft(&self, d: &Domain<Fr>, a: &mut [Fr]) {
        d.fft(a)
    }

    /// See [`Domain::ifft`]; panics unless `a.len() == d.size`.
    fn ifft(&self, d: &Domain<Fr>, a: &mut [Fr]) {
        d.ifft(a)
    }

    /// See [`Domain::coset_fft`]; panics unless `a.len() == d.size`.
    fn coset_fft(&self, d: &Domain<Fr>, a: &mut [Fr]) {
        d.coset_fft(a)
    }

    /// See [`Domain::coset_ifft`]; panics unless `a.len() == d.size`.
    fn coset_ifft(&self, d: &Domain<Fr>, a: &mut [Fr]) {
        d.coset_ifft(a)
    }
}

/// The multi-threaded CPU implementation (rayon's global pool).
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

impl Backend for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn cpu_backend_is_usable_as_a_trait_object() {
        let backend: Box<dyn Backend> = Box::new(Cpu);
        assert_eq!(backend.name(), "cpu");
        let mut rng = StdRng::seed_from_u64(1);
        let s = [Fr::rand(&mut rng), Fr::rand(&mut rng)];
        let g1 = [
            G1Affine::generator(),
            (G1Affine::generator() * s[0]).into_affine(),
        ];
        let g2 = [G2Affine::generator(), G2Affine::generator()];
        assert_eq!(backend.msm_g1(&g1, &s), g1[0] * s[0] + g1[1] * s[1]);
        assert_eq!(
            backend.msm_g2(&g2, &s),
            G2Affine::generator() * (s[0] + s[1])
        );
        let d = Domain::<Fr>::new(8).unwrap();
        let coeffs: Vec<Fr> = (0..8).map(|_| Fr::rand(&mut rng)).collect();
        let mut a = coeffs.clone();
        backend.coset_fft(&d, &mut a);
        backend.coset_ifft(&d, &mut a);
        backend.fft(&d, &mut a);
        backend.ifft(&d, &mut a);
        assert_eq!(a, coeffs);
    }
}
