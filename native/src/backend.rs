//! The seam between the prover and the hardware that runs its heavy kernels.
//!
//! The Groth16 prover asks a [`Backend`] for every MSM and NTT it needs. The
//! default methods are the CPU implementations from [`crate::msm`] and
//! [`crate::ntt`], so a CUDA backend overrides only what it accelerates and
//! inherits the rest; its tests compare each override against these defaults.
//!
//! Every call is fallible: a GPU can run out of memory or lose its context,
//! and that must reach the user as an error, never as a wrong proof or a crash.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use crate::error::{Error, Result};
use crate::ntt::Domain;

pub trait Backend: Send + Sync {
    /// Short name for logs and `--device` reports ("cpu", "cuda", ...).
    fn name(&self) -> &'static str;

    /// `sum_i scalars[i] * bases[i]` in G1. Panics if the lengths differ.
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective> {
        Ok(crate::msm::msm(bases, scalars))
    }

    /// `sum_i scalars[i] * bases[i]` in G2. Panics if the lengths differ.
    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective> {
        Ok(crate::msm::msm(bases, scalars))
    }

    /// See [`Domain::fft`]; panics unless `a.len() == d.size`.
    fn fft(&self, d: &Domain<Fr>, a: &mut [Fr]) -> Result<()> {
        d.fft(a);
        Ok(())
    }

    /// See [`Domain::ifft`]; panics unless `a.len() == d.size`.
    fn ifft(&self, d: &Domain<Fr>, a: &mut [Fr]) -> Result<()> {
        d.ifft(a);
        Ok(())
    }

    /// See [`Domain::coset_fft`]; panics unless `a.len() == d.size`.
    fn coset_fft(&self, d: &Domain<Fr>, a: &mut [Fr]) -> Result<()> {
        d.coset_fft(a);
        Ok(())
    }

    /// See [`Domain::coset_ifft`]; panics unless `a.len() == d.size`.
    fn coset_ifft(&self, d: &Domain<Fr>, a: &mut [Fr]) -> Result<()> {
        d.coset_ifft(a);
        Ok(())
    }

    /// The H MSM's scalars, A·B − C on the domain's odd coset (n values),
    /// from the three row evaluations of
    /// [`crate::groth16::r1cs_to_qap::evaluate_rows`]: six NTTs and a
    /// pointwise product (see `r1cs_to_qap::quotient_by_ntts`).
    fn quotient(&self, d: &Domain<Fr>, rows: [Vec<Fr>; 3]) -> Result<Vec<Fr>> {
        crate::groth16::r1cs_to_qap::quotient_by_ntts(self, d, rows)
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

/// The backend a user asked for, and what to tell them about the choice.
pub struct Selected {
    pub backend: Box<dyn Backend>,
    /// e.g. "cuda (NVIDIA H100 80GB HBM3, sm_90)" or "cpu (no CUDA driver found)".
    pub description: String,
}

/// The device a user asked for, opened: the CPU, or a GPU that passed its
/// self-check (opened once per prover, so its size costs nothing).
#[allow(clippy::large_enum_variant)]
pub enum Opened {
    Cpu,
    Cuda(crate::cuda::Cuda),
}

/// How the CPU is reported: "cpu (<why>, <n> threads)".
pub fn cpu_description(why: &str) -> String {
    format!("cpu ({why}, {} threads)", rayon::current_num_threads())
}

/// `device`: "cpu", "cuda" (an error without a usable GPU) or "auto" (the GPU
/// when one works, else the CPU, saying why). Returns the device opened and
/// its description.
pub fn open(device: &str) -> Result<(Opened, String)> {
    match device {
        "cpu" => Ok((Opened::Cpu, cpu_description("asked for"))),
        "cuda" | "auto" => match crate::cuda::Cuda::open() {
            Ok(gpu) => {
                let i = gpu.info();
                let description =
                    format!("cuda ({}, sm_{}{}, {} GiB)", i.name, i.capability.0, i.capability.1, i.total_memory >> 30);
                Ok((Opened::Cuda(gpu), description))
            }
            Err(e) if device == "auto" => Ok((
                Opened::Cpu,
                cpu_description(&format!("no usable GPU: {}", e.to_string().trim_start_matches("device error: "))),
            )),
            Err(e) => Err(e),
        },
        other => Err(Error::Device(format!("unknown device {other:?}: use auto, cpu or cuda"))),
    }
}

/// [`open`] as a [`Backend`] trait object.
pub fn select(device: &str) -> Result<Selected> {
    let (opened, description) = open(device)?;
    let backend: Box<dyn Backend> = match opened {
        Opened::Cpu => Box::new(Cpu),
        Opened::Cuda(gpu) => Box::new(gpu),
    };
    Ok(Selected { backend, description })
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
        let g1 = [G1Affine::generator(), (G1Affine::generator() * s[0]).into_affine()];
        let g2 = [G2Affine::generator(), G2Affine::generator()];
        assert_eq!(backend.msm_g1(&g1, &s).unwrap(), g1[0] * s[0] + g1[1] * s[1]);
        assert_eq!(backend.msm_g2(&g2, &s).unwrap(), G2Affine::generator() * (s[0] + s[1]));
        let d = Domain::<Fr>::new(8).unwrap();
        let coeffs: Vec<Fr> = (0..8).map(|_| Fr::rand(&mut rng)).collect();
        let mut a = coeffs.clone();
        backend.coset_fft(&d, &mut a).unwrap();
        backend.coset_ifft(&d, &mut a).unwrap();
        backend.fft(&d, &mut a).unwrap();
        backend.ifft(&d, &mut a).unwrap();
        assert_eq!(a, coeffs);
    }

    #[test]
    fn selecting_an_unknown_device_is_an_error_naming_the_choices() {
        let err = select("tpu").err().unwrap().to_string();
        assert!(err.contains("auto, cpu or cuda"), "{err}");
        assert_eq!(select("cpu").unwrap().backend.name(), "cpu");
    }

    #[test]
    fn auto_falls_back_to_the_cpu_and_says_why_when_no_gpu_works() {
        // With a driver path that cannot exist, CUDA is unusable wherever this runs.
        std::env::set_var("ZKML_CUDA_DRIVER", "/nonexistent/libcuda.so.1");
        let auto = select("auto").unwrap();
        let cuda = select("cuda");
        std::env::remove_var("ZKML_CUDA_DRIVER");
        assert_eq!(auto.backend.name(), "cpu");
        assert!(auto.description.contains("no usable GPU"), "{}", auto.description);
        let err = cuda.err().unwrap();
        assert!(matches!(err, Error::Device(_)), "{err}");
        assert!(err.to_string().contains("no CUDA driver found"), "{err}");
    }
}
