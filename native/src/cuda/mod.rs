//! The CUDA backend: BN254 MSMs and Fr NTTs on an NVIDIA GPU.
//!
//! Nothing CUDA is needed to build: the driver (`libcuda.so.1`) and NVRTC are
//! opened at run time ([`driver`], [`nvrtc`]), the kernels in `native/cuda/`
//! are compiled for the GPU at hand and cached on disk. Opening the backend
//! also runs a self-check of the field and curve kernels against arkworks, so
//! a GPU that computes wrongly is refused before it touches a proof.

pub mod driver;
pub mod msm;
pub mod ntt;
pub mod nvrtc;
pub mod plan;
mod qap;

pub use qap::{r1cs_device_bytes, DeviceR1cs};

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ark_bn254::{Fq, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::short_weierstrass::Affine;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, PrimeField, UniformRand};
use rand::SeedableRng;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ntt::Domain;
use driver::{Device, Driver};
use msm::{GpuGroup, Kernels, ResidentBases, Run};
use ntt::NttKind;

/// What `--device auto` found, for the report.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    pub name: String,
    pub capability: (u32, u32),
    pub multiprocessors: u32,
    pub total_memory: usize,
    pub nvrtc: String,
}

pub struct Cuda {
    device: Arc<Device>,
    kernels: Kernels,
    info: DeviceInfo,
    /// One MSM at a time: the kernels share the default stream.
    lock: Mutex<()>,
    pool: driver::Pool,
    /// NTT tables of the domains used last, most recent last.
    ntt_plans: Mutex<Vec<Arc<ntt::NttPlan>>>,
    /// The outcome of the NTT check run before the first NTT (see
    /// `Cuda::ntt_verified`): Err holds why the GPU's NTT is refused.
    ntt_check: OnceLock<std::result::Result<(), String>>,
}

static INJECT_FAILURE: AtomicBool = AtomicBool::new(false);

/// Test hook: the next GPU MSM or NTT fails as a lost device would.
#[doc(hidden)]
pub fn inject_failure_for_tests() {
    INJECT_FAILURE.store(true, Ordering::SeqCst);
}

impl Cuda {
    /// Opens GPU 0, compiles (or loads from cache) the kernels for it and
    /// checks them. Any failure is an [`Error::Device`] saying why.
    pub fn open() -> Result<Self> {
        Self::open_with(Driver::open()?)
    }

    /// [`Cuda::open`] on a driver already loaded.
    pub fn open_with(driver: Arc<Driver>) -> Result<Self> {
        if driver.device_count()? == 0 {
            return Err(Error::Device("the CUDA driver sees no GPU".into()));
        }
        let device = Arc::new(Device::open(driver, 0)?);
        let nvrtc = nvrtc::Nvrtc::open()?;
        let (major, minor) = device.capability;
        // ZKML_CUDA_DEFINES (comma-separated) is a debugging switch, e.g.
        // ZKML_PORTABLE_ARITH to run the portable arithmetic on the device.
        let defines = std::env::var("ZKML_CUDA_DEFINES").unwrap_or_default();
        let defines: Vec<&str> = defines.split(',').filter(|d| !d.is_empty()).collect();
        let image = nvrtc.compile_cached(&format!("sm_{major}{minor}"), &defines)?;
        let kernels = Kernels::load(device.load_module(&image)?)?;
        let info = DeviceInfo {
            name: device.name.clone(),
            capability: device.capability,
            multiprocessors: device.multiprocessors,
            total_memory: device.total_memory,
            nvrtc: format!("NVRTC {}.{} ({})", nvrtc.version.0, nvrtc.version.1, nvrtc.path.display()),
        };
        let cuda = Self {
            device,
            kernels,
            info,
            lock: Mutex::new(()),
            pool: driver::Pool::default(),
            ntt_plans: Mutex::new(Vec::new()),
            ntt_check: OnceLock::new(),
        };
        cuda.self_check(256, 7)?;
        Ok(cuda)
    }

    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// Free and total device memory in bytes.
    pub fn memory(&self) -> Result<(usize, usize)> {
        self.device.make_current()?;
        self.device.memory_info()
    }

    /// The test hook of [`inject_failure_for_tests`], checked by every MSM
    /// and NTT (not by the self-checks, so the failure lands inside a proof).
    fn injected_failure(&self) -> Result<()> {
        if INJECT_FAILURE.swap(false, Ordering::SeqCst) {
            return Err(Error::Device(format!("injected failure on {} (test hook)", self.info.name)));
        }
        Ok(())
    }

    fn run<T>(&self, f: impl FnOnce(&Run) -> Result<T>) -> Result<T> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.device.make_current()?;
        let out = f(&Run { device: &self.device, k: &self.kernels, pool: &self.pool })?;
        self.device.synchronize()?;
        Ok(out)
    }

    /// Uploads points for repeated MSMs.
    pub fn upload<P: GpuGroup>(&self, points: &[Affine<P>]) -> Result<ResidentBases> {
        self.run(|_| msm::upload_bases(&self.device, points))
    }

    /// MSM over points already on the device (the scalars are copied over).
    pub fn msm_resident<P: GpuGroup>(
        &self,
        bases: &ResidentBases,
        scalars: &[Fr],
    ) -> Result<ark_ec::short_weierstrass::Projective<P>> {
        self.injected_failure()?;
        self.run(|r| r.msm::<P>(bases, scalars))
    }

    /// Scalars uploaded once, for timing the kernels alone.
    pub fn upload_scalars(&self, scalars: &[Fr]) -> Result<driver::DeviceBuffer> {
        self.run(|_| {
            let buf = self.device.alloc(scalars.len() * 32)?;
            msm::upload_scalars(&buf, scalars)?;
            Ok(buf)
        })
    }

    pub fn msm_resident_scalars<P: GpuGroup>(
        &self,
        bases: &ResidentBases,
        scalars: &driver::DeviceBuffer,
    ) -> Result<ark_ec::short_weierstrass::Projective<P>> {
        if scalars.bytes != bases.len * 32 {
            return Err(Error::Internal("scalar buffer does not match the bases".into()));
        }
        self.run(|r| r.msm_device_scalars::<P>(bases, scalars))
    }

    fn msm_once<P: GpuGroup>(
        &self,
        bases: &[Affine<P>],
        scalars: &[Fr],
    ) -> Result<ark_ec::short_weierstrass::Projective<P>> {
        if bases.len() != scalars.len() {
            return Err(Error::Internal(format!("msm: {} bases but {} scalars", bases.len(), scalars.len())));
        }
        self.injected_failure()?;
        self.run(|r| {
            let resident = msm::upload_bases(&self.device, bases)?;
            r.msm::<P>(&resident, scalars)
        })
    }

    /// Field and curve kernels against arkworks on `n` random inputs.
    pub fn self_check(&self, n: usize, seed: u64) -> Result<()> {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let a: Vec<Fq> = (0..n).map(|_| Fq::rand(&mut rng)).collect();
        let mut b: Vec<Fq> = (0..n).map(|_| Fq::rand(&mut rng)).collect();
        b[0] = a[0]; // a - a, a + a
        b[1] = -a[1];
        let limbs = |v: &[Fq]| -> Vec<u32> {
            v.iter().flat_map(|f| f.0 .0.iter().flat_map(|l| [*l as u32, (*l >> 32) as u32])).collect()
        };
        let (out_prod, out_sum, out_diff) = self
            .run(|r| {
                let [da, db, dp, ds, dd] = [0; 5].map(|_| r.device.alloc(n * 32));
                let (da, db, dp, ds, dd) = (da?, db?, dp?, ds?, dd?);
                da.upload(&limbs(&a))?;
                db.upload(&limbs(&b))?;
                self.kernels.check_fq.launch(
                    n as u64,
                    256,
                    &[(&da).into(), (&db).into(), (n as u32).into(), (&dp).into(), (&ds).into(), (&dd).into()],
                )?;
                let mut out = [vec![0u32; n * 8], vec![0u32; n * 8], vec![0u32; n * 8]];
                dp.download_at(0, &mut out[0])?;
                ds.download_at(0, &mut out[1])?;
                dd.download_at(0, &mut out[2])?;
                Ok(out)
            })
            .map(|[p, s, d]| (p, s, d))?;
        let expect = |name: &str, got: &[u32], want: Vec<Fq>| -> Result<()> {
            if got != limbs(&want) {
                return Err(Error::Device(format!(
                    "GPU self-check failed: Fq {name} differs from the CPU on {}",
                    self.info.name
                )));
            }
            Ok(())
        };
        expect("multiplication", &out_prod, a.iter().zip(&b).map(|(x, y)| x * y).collect())?;
        expect("addition", &out_sum, a.iter().zip(&b).map(|(x, y)| x + y).collect())?;
        expect("subtraction", &out_diff, a.iter().zip(&b).map(|(x, y)| x - y).collect())?;

        let scalars: Vec<Fr> = (0..n).map(|i| if i < 2 { Fr::from(i as u64) } else { Fr::rand(&mut rng) }).collect();
        let canonical = self.run(|r| {
            let (ds, dout) = (r.device.alloc(n * 32)?, r.device.alloc(n * 32)?);
            ds.upload(&msm::pack_scalars(&scalars))?;
            self.kernels.check_fr.launch(n as u64, 256, &[(&ds).into(), (n as u32).into(), (&dout).into()])?;
            let mut out = vec![0u32; n * 8];
            dout.download_at(0, &mut out)?;
            Ok(out)
        })?;
        let want: Vec<u32> = scalars
            .iter()
            .flat_map(|s| s.into_bigint().0.iter().flat_map(|l| [*l as u32, (*l >> 32) as u32]).collect::<Vec<_>>())
            .collect();
        if canonical != want {
            return Err(Error::Device(format!(
                "GPU self-check failed: Fr conversion differs from the CPU on {}",
                self.info.name
            )));
        }
        self.check_group::<ark_bn254::g1::Config>(n.min(64), &mut rng)?;
        self.check_group::<ark_bn254::g2::Config>(n.min(64), &mut rng)
    }

    fn check_group<P: GpuGroup>(&self, n: usize, rng: &mut rand_chacha::ChaCha20Rng) -> Result<()> {
        let g = Affine::<P>::generator();
        let a: Vec<Affine<P>> = (0..n).map(|_| (g * Fr::rand(rng)).into_affine()).collect();
        let mut b: Vec<Affine<P>> = (0..n).map(|_| (g * Fr::rand(rng)).into_affine()).collect();
        b[0] = a[0]; // doubling through the addition formulas
        b[1] = -a[1]; // cancellation
        let per = 4 * P::COORD_LIMBS;
        let [madd, add, dbl] = self.run(|r| {
            let (da, db) = (r.device.alloc(n * 8 * P::COORD_LIMBS)?, r.device.alloc(n * 8 * P::COORD_LIMBS)?);
            da.upload(&msm::pack_affine(&a))?;
            db.upload(&msm::pack_affine(&b))?;
            let outs = [0; 3].map(|_| r.device.alloc(n * per * 4));
            let [o1, o2, o3] = outs;
            let (o1, o2, o3) = (o1?, o2?, o3?);
            self.kernels.group::<P>().check_add.launch(
                n as u64,
                256,
                &[(&da).into(), (&db).into(), (n as u32).into(), (&o1).into(), (&o2).into(), (&o3).into()],
            )?;
            let mut res = [vec![0u32; n * per], vec![0u32; n * per], vec![0u32; n * per]];
            o1.download_at(0, &mut res[0])?;
            o2.download_at(0, &mut res[1])?;
            o3.download_at(0, &mut res[2])?;
            Ok(res)
        })?;
        let sums: Vec<_> = a.iter().zip(&b).map(|(x, y)| *x + *y).collect();
        let doubles: Vec<_> = a.iter().map(|x| *x + *x).collect();
        for (name, got, want) in
            [("mixed addition", &madd, &sums), ("addition", &add, &sums), ("doubling", &dbl, &doubles)]
        {
            let got = msm::unpack_xyzz::<P>(got)?;
            if got != *want {
                return Err(Error::Device(format!(
                    "GPU self-check failed: {} {name} differs from the CPU on {}",
                    P::NAME,
                    self.info.name
                )));
            }
        }
        Ok(())
    }
}

impl Backend for Cuda {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective> {
        self.msm_once(bases, scalars)
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective> {
        self.msm_once(bases, scalars)
    }

    fn fft(&self, d: &Domain<Fr>, a: &mut [Fr]) -> Result<()> {
        self.ntt(d, a, NttKind::Fft)
    }

    fn ifft(&self, d: &Domain<Fr>, a: &mut [Fr]) -> Result<()> {
        self.ntt(d, a, NttKind::Ifft)
    }

    fn coset_fft(&self, d: &Domain<Fr>, a: &mut [Fr]) -> Result<()> {
        self.ntt(d, a, NttKind::CosetFft)
    }

    fn coset_ifft(&self, d: &Domain<Fr>, a: &mut [Fr]) -> Result<()> {
        self.ntt(d, a, NttKind::CosetIfft)
    }

    fn quotient(&self, d: &Domain<Fr>, rows: [Vec<Fr>; 3]) -> Result<Vec<Fr>> {
        self.quotient_on_device(d, rows)
    }
}

/// A proving key's five point vectors on the GPU, uploaded once and used by
/// every proof of a `pipeline::Prover` (an empty vector is not uploaded).
pub struct ResidentKey {
    a: Option<ResidentBases>,
    b_g1: Option<ResidentBases>,
    b_g2: Option<ResidentBases>,
    h: Option<ResidentBases>,
    l: Option<ResidentBases>,
}

/// Device bytes of `n` affine points of `P` as the MSM kernels hold them.
fn resident_bytes<P: GpuGroup>(n: usize) -> usize {
    n * 8 * P::COORD_LIMBS
}

/// Device bytes the five point vectors of `pk` take once resident.
pub fn key_device_bytes(pk: &crate::groth16::ProvingKey) -> usize {
    use ark_bn254::{g1::Config as G1, g2::Config as G2};
    resident_bytes::<G1>(pk.a_query.len() + pk.b_g1_query.len() + pk.h_query.len() + pk.l_query.len())
        + resident_bytes::<G2>(pk.b_g2_query.len())
}

/// About how much device memory a proof needs beside the resident key: the
/// largest MSM's scalars, digits and sort buffers, and the NTT's vector and
/// tables. An estimate (the pool may round up), used only to refuse a key
/// that leaves too little room before uploading it.
pub fn proof_working_bytes(pk: &crate::groth16::ProvingKey) -> usize {
    let n = [pk.a_query.len(), pk.b_g2_query.len(), pk.h_query.len(), pk.l_query.len()].into_iter().max().unwrap_or(0);
    let windows = plan::MsmPlan::new(n.max(1)).map(|p| p.windows as usize).unwrap_or(32);
    let domain = pk.domain_size as usize;
    32 * n + 16 * windows * n + 48 * domain + (64 << 20)
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

impl ResidentKey {
    /// Device bytes held by the resident points.
    pub fn bytes(&self) -> usize {
        [&self.a, &self.b_g1, &self.b_g2, &self.h, &self.l].into_iter().flatten().map(|b| b.buffer.bytes).sum()
    }
}

impl Cuda {
    /// Uploads the five point vectors of `pk`, after checking with the
    /// driver that they and a proof's working memory fit the free memory;
    /// a key that does not fit is a [`Error::Device`] naming the sizes.
    pub fn upload_key(&self, pk: &crate::groth16::ProvingKey) -> Result<ResidentKey> {
        let need = key_device_bytes(pk);
        let working = proof_working_bytes(pk);
        let (free, total) = self.memory()?;
        if need + working > free {
            return Err(Error::Device(format!(
                "the proving key does not fit the GPU: its points take {} on the device, a proof needs about {} more, \
                 and {} has {} free of {}",
                mib(need),
                mib(working),
                self.info.name,
                mib(free),
                mib(total)
            )));
        }
        fn up<P: GpuGroup>(gpu: &Cuda, points: &[Affine<P>]) -> Result<Option<ResidentBases>> {
            if points.is_empty() {
                return Ok(None);
            }
            gpu.upload(points).map(Some)
        }
        let upload = || -> Result<ResidentKey> {
            Ok(ResidentKey {
                a: up(self, &pk.a_query)?,
                b_g1: up(self, &pk.b_g1_query)?,
                b_g2: up(self, &pk.b_g2_query)?,
                h: up(self, &pk.h_query)?,
                l: up(self, &pk.l_query)?,
            })
        };
        upload().map_err(|e| match e {
            Error::Device(why) => {
                Error::Device(format!("uploading the proving key to {} failed: {why}", self.info.name))
            }
            other => other,
        })
    }
}

/// The five MSMs of a proof on a [`ResidentKey`]: only the scalars travel;
/// with the constraint matrices resident too, the row evaluations and the
/// quotient run on the device and only the assignment travels.
pub struct ResidentMsms<'a> {
    pub gpu: &'a Cuda,
    pub key: &'a ResidentKey,
    pub r1cs: Option<&'a DeviceR1cs>,
}

impl ResidentMsms<'_> {
    fn bases(&self, query: crate::groth16::Query) -> &Option<ResidentBases> {
        use crate::groth16::Query;
        match query {
            Query::A => &self.key.a,
            Query::BG1 => &self.key.b_g1,
            Query::BG2 => &self.key.b_g2,
            Query::H => &self.key.h,
            Query::L => &self.key.l,
        }
    }

    fn msm<P: GpuGroup>(
        &self,
        query: crate::groth16::Query,
        host: &[Affine<P>],
        scalars: &[Fr],
    ) -> Result<ark_ec::short_weierstrass::Projective<P>> {
        match self.bases(query) {
            Some(b) if b.len == host.len() => self.gpu.msm_resident::<P>(b, scalars),
            None if host.is_empty() && scalars.is_empty() => Ok(ark_ec::short_weierstrass::Projective::<P>::default()),
            _ => Err(Error::Internal(format!("the resident {query:?} query does not match the proving key"))),
        }
    }
}

impl crate::groth16::KeyMsms for ResidentMsms<'_> {
    fn msm_g1(&self, query: crate::groth16::Query, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective> {
        self.msm(query, bases, scalars)
    }
    fn msm_g2(&self, query: crate::groth16::Query, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective> {
        self.msm(query, bases, scalars)
    }
    fn msms_of_z(
        &self,
        pk: &crate::groth16::ProvingKey,
        z: &[Fr],
    ) -> Result<(G1Projective, G1Projective, G2Projective)> {
        use crate::groth16::Query;
        match self.msms_of_z_on_device(pk, z)? {
            Some(sums) => Ok(sums),
            None => Ok((
                self.msm(Query::A, &pk.a_query, z)?,
                self.msm(Query::BG1, &pk.b_g1_query, z)?,
                self.msm(Query::BG2, &pk.b_g2_query, z)?,
            )),
        }
    }
    fn witness_quotient_msm(
        &self,
        backend: &dyn Backend,
        r1cs: &crate::r1cs::R1cs,
        z: &[Fr],
        domain: &Domain<Fr>,
        check: bool,
        h_bases: &[G1Affine],
        timings: &mut crate::groth16::ProverTimings,
    ) -> Result<G1Projective> {
        match self.r1cs {
            Some(m) => self.witness_quotient_msm_on_device(m, r1cs, z, domain, check, h_bases, timings),
            None => crate::groth16::prover::quotient_msm_of_cpu_rows(
                self, backend, r1cs, z, domain, check, h_bases, timings,
            ),
        }
    }
    fn quotient_msm(
        &self,
        _backend: &dyn Backend,
        domain: &Domain<Fr>,
        rows: [Vec<Fr>; 3],
        h_bases: &[G1Affine],
    ) -> Result<(G1Projective, f64)> {
        self.quotient_msm_on_device(domain, rows, h_bases)
    }
}

/// `n` distinct points: chunks start at random multiples of the generator and
/// step by a random point (fast enough for 2^24 test points).
pub fn sample_points<P: GpuGroup>(n: usize, seed: u64) -> Vec<Affine<P>> {
    use rayon::prelude::*;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let step = Affine::<P>::generator() * Fr::rand(&mut rng);
    let chunk = 1 << 12;
    let starts: Vec<Fr> = (0..n.div_ceil(chunk)).map(|_| Fr::rand(&mut rng)).collect();
    let projective: Vec<_> = starts
        .par_iter()
        .enumerate()
        .flat_map_iter(|(c, s)| {
            let len = chunk.min(n - c * chunk);
            std::iter::successors(Some(Affine::<P>::generator() * s), move |p| Some(*p + step)).take(len)
        })
        .collect();
    ark_ec::short_weierstrass::Projective::<P>::normalize_batch(&projective)
}

/// Scalars of the given profile: "random", "witness" (mostly 0, ±1 and a
/// few bits, as a circuit's witness), or "edge" (0, 1, r-1, (r-1)/2,
/// (r+1)/2, 2^k, mixed with random).
pub fn sample_scalars(n: usize, profile: &str, seed: u64) -> Vec<Fr> {
    use rand::Rng;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let half = Fr::from_bigint(Fr::MODULUS_MINUS_ONE_DIV_TWO).expect("(r-1)/2 < r");
    (0..n)
        .map(|i| match profile {
            "witness" => match rng.gen_range(0..100) {
                0..=39 => Fr::from(0u64),
                40..=69 => Fr::from(1u64),
                70..=79 => -Fr::from(rng.gen_range(1..1u64 << 8)),
                80..=94 => Fr::from(rng.gen_range(0..1u64 << 16)),
                _ => Fr::rand(&mut rng),
            },
            "edge" => match i % 8 {
                0 => Fr::from(0u64),
                1 => Fr::from(1u64),
                2 => -Fr::from(1u64),
                3 => half,
                4 => half + Fr::from(1u64),
                5 => Fr::from(2u64).pow([rng.gen_range(0..254u64)]),
                _ => Fr::rand(&mut rng),
            },
            _ => Fr::rand(&mut rng),
        })
        .collect()
}

/// Points with the edge cases an MSM must survive: the identity, a point
/// repeated, a point and its negation.
fn with_edge_points<P: GpuGroup>(mut points: Vec<Affine<P>>) -> Vec<Affine<P>> {
    if points.len() >= 8 {
        points[0] = Affine::<P>::identity();
        points[2] = points[1];
        points[3] = -points[1];
        points[5] = points[4];
    }
    points
}

fn compare_group<P: GpuGroup>(gpu: &Cuda, log2: u32, seed: u64, lines: &mut Vec<String>) -> Result<()> {
    let n = 1usize << log2;
    let points = with_edge_points(sample_points::<P>(n, seed));
    let resident = gpu.upload(&points)?;
    for profile in ["random", "witness", "edge"] {
        let scalars = sample_scalars(n, profile, seed ^ 0x5eed);
        let t = std::time::Instant::now();
        let want = crate::msm::msm::<ark_ec::short_weierstrass::Projective<P>>(&points, &scalars);
        let cpu_s = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let got = gpu.msm_resident::<P>(&resident, &scalars)?;
        let gpu_s = t.elapsed().as_secs_f64();
        let again = gpu.msm_resident::<P>(&resident, &scalars)?;
        if got != want || again != got {
            return Err(Error::Device(format!(
                "GPU {} MSM of 2^{log2} {profile} scalars differs from the CPU ({})",
                P::NAME,
                if got == want { "the repeated run differs" } else { "first run" }
            )));
        }
        lines.push(format!(
            "{} 2^{log2} {profile}: equal to CPU, repeat identical (gpu {:.1} ms, cpu {:.1} ms)",
            P::NAME,
            gpu_s * 1e3,
            cpu_s * 1e3
        ));
    }
    Ok(())
}

/// GPU MSMs against the CPU MSM for each size in `log2_sizes`, G1 and G2.
pub fn compare_with_cpu(log2_sizes: &[u32], seed: u64) -> Result<Vec<String>> {
    let gpu = Cuda::open()?;
    let mut lines = vec![format!(
        "device: {} (sm_{}{}), {}",
        gpu.info.name, gpu.info.capability.0, gpu.info.capability.1, gpu.info.nvrtc
    )];
    for &log2 in log2_sizes {
        compare_group::<ark_bn254::g1::Config>(&gpu, log2, seed + log2 as u64, &mut lines)?;
        compare_group::<ark_bn254::g2::Config>(&gpu, log2, seed + log2 as u64, &mut lines)?;
    }
    Ok(lines)
}
