//! The host side of the GPU NTT over BN254's Fr: the plan (how the stages are
//! cut into passes, the twiddle and scale tables, kept on the device per
//! domain), the launches, and the transfers. The kernels and what each pass
//! does are described in `native/cuda/ntt.cuh`.
//!
//! Every transform gives exactly what [`Domain`]'s CPU transform of the same
//! name gives: the same twiddles (powers of `d.omega`), the same coset shift
//! (`d.coset_gen`, `d.coset_gen_inv`) and normalisation (`d.size_inv`).
//!
//! | transform  | bit reversal scales by | passes        | last pass scales by |
//! |------------|------------------------|---------------|---------------------|
//! | fft        | –                      | w             | –                   |
//! | ifft       | 1/n                    | w^-1          | –                   |
//! | coset_fft  | g^i                    | w             | –                   |
//! | coset_ifft | –                      | w^-1          | (1/n) g^-i          |
//!
//! (1/n commutes with the transform, so the inverse applies it on the way in,
//! where it costs nothing extra; g^-i depends on the output index.)

use std::sync::Arc;

use ark_bn254::Fr;
use ark_ff::{BigInt, FftField, Field, One, PrimeField};
use rayon::prelude::*;

use super::driver::{Arg, Device, DeviceBuffer, Kernel, Module};
use super::msm::{scalars_as_bytes, upload_scalars};
use super::Cuda;
use crate::error::{Error, Result};
use crate::ntt::Domain;

/// How the passes are cut: tiles of at most `2^tile_log` elements (the shared
/// memory of one block), and threads per block between `min_block` and
/// `max_block` (a quarter of the tile when that lies between them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    pub tile_log: u32,
    pub min_block: u32,
    pub max_block: u32,
}

/// The GPU's tiling: `ZK_NTT_TILE_LOG` and `ZK_NTT_THREADS` of ntt.cuh.
pub const GPU_TILING: Tiling = Tiling { tile_log: 10, min_block: 32, max_block: 256 };

/// `ZK_NTT_SCALE_LO_BITS`: scale factors are `hi[i >> 10] * lo[i & 1023]`.
pub const SCALE_LO_BITS: u32 = 10;

/// Threads per block of the bit-reversal kernel.
const BITREV_BLOCK: u32 = 256;

/// Domains whose tables stay on the device (the prover uses one; each plan
/// holds n/2 twiddles, 256 MiB at 2^24).
const MAX_PLANS: usize = 4;

/// The domain size of the check run before a GPU's first NTT: two passes.
const SELF_CHECK_LOG2: u32 = 11;

/// The four transforms of [`Domain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NttKind {
    Fft,
    Ifft,
    CosetFft,
    CosetIfft,
}

impl NttKind {
    pub const ALL: [NttKind; 4] = [NttKind::Fft, NttKind::Ifft, NttKind::CosetFft, NttKind::CosetIfft];

    pub fn name(self) -> &'static str {
        match self {
            NttKind::Fft => "fft",
            NttKind::Ifft => "ifft",
            NttKind::CosetFft => "coset_fft",
            NttKind::CosetIfft => "coset_ifft",
        }
    }

    /// Whether the twiddles are powers of `omega_inv`.
    pub fn inverse(self) -> bool {
        matches!(self, NttKind::Ifft | NttKind::CosetIfft)
    }

    /// The CPU transform of the same name.
    pub fn run_cpu(self, d: &Domain<Fr>, a: &mut [Fr]) {
        match self {
            NttKind::Fft => d.fft(a),
            NttKind::Ifft => d.ifft(a),
            NttKind::CosetFft => d.coset_fft(a),
            NttKind::CosetIfft => d.coset_ifft(a),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a kernel multiplies each element by (`ZK_NTT_SCALE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    None = 0,
    /// By `hi[0]`.
    Const = 1,
    /// By `hi[i >> SCALE_LO_BITS] * lo[i & (2^SCALE_LO_BITS - 1)]`.
    Powers = 2,
}

/// One kernel launch of a transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `zk_ntt_bitrev` over all n elements, scaling on the way.
    BitReverse { scale: Scale },
    /// `zk_ntt_pass`: stages `s0 .. s0 + k` in `tiles` blocks of `block`
    /// threads, each block holding `2^log_c` columns of `2^k` elements.
    Pass { s0: u32, k: u32, log_c: u32, tiles: u32, block: u32, scale: Scale },
}

/// Stages `0 .. log_n` cut into the fewest passes of at most `tile_log`
/// stages, as even as possible (earlier passes take the extra stage):
/// `(s0, k)` per pass.
pub fn stage_split(log_n: u32, tile_log: u32) -> Vec<(u32, u32)> {
    assert!(tile_log >= 1, "a tile holds at least one butterfly");
    let passes = log_n.div_ceil(tile_log).max(1);
    let (base, extra) = (log_n / passes, log_n % passes);
    let mut s0 = 0;
    (0..passes)
        .map(|p| {
            let k = base + u32::from(p < extra);
            let pass = (s0, k);
            s0 += k;
            pass
        })
        .collect()
}

/// The launches of one transform of size `2^log_n` (`log_n >= 1`).
pub fn steps(log_n: u32, kind: NttKind, tiling: Tiling) -> Vec<Step> {
    let first_scale = match kind {
        NttKind::Fft | NttKind::CosetIfft => Scale::None,
        NttKind::Ifft => Scale::Const,
        NttKind::CosetFft => Scale::Powers,
    };
    let mut out = vec![Step::BitReverse { scale: first_scale }];
    let split = stage_split(log_n, tiling.tile_log);
    let last = split.len() - 1;
    for (p, &(s0, k)) in split.iter().enumerate() {
        // As many columns as fit the tile (and as there are).
        let log_c = (tiling.tile_log - k).min(log_n - k);
        let len = 1u32 << (k + log_c);
        out.push(Step::Pass {
            s0,
            k,
            log_c,
            tiles: 1 << (log_n - k - log_c),
            block: (len / 4).clamp(tiling.min_block, tiling.max_block),
            scale: if p == last && kind == NttKind::CosetIfft { Scale::Powers } else { Scale::None },
        });
    }
    out
}

/// `start * ratio^i` for `i < len`, in parallel chunks.
fn powers(start: Fr, ratio: Fr, len: usize) -> Vec<Fr> {
    const CHUNK: usize = 1 << 12;
    let mut out = vec![Fr::one(); len];
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        let mut x = start * ratio.pow([(c * CHUNK) as u64]);
        for v in chunk {
            *v = x;
            x *= ratio;
        }
    });
    out
}

/// `omega^t` for `t < n/2` (one entry for n = 2): every twiddle of every
/// stage, and through `w^-t = -w^(n/2 - t)` of the inverse too.
pub fn twiddles(d: &Domain<Fr>) -> Vec<Fr> {
    powers(Fr::one(), d.omega, (d.size / 2).max(1))
}

/// `(lo, hi)` for the scaled step of `kind` (see the module table), or None.
pub fn scale_tables(d: &Domain<Fr>, kind: NttKind) -> Option<(Vec<Fr>, Vec<Fr>)> {
    let lo_len = d.size.min(1 << SCALE_LO_BITS);
    let hi_len = (d.size >> SCALE_LO_BITS).max(1);
    let two_level = |start: Fr, ratio: Fr| {
        (powers(Fr::one(), ratio, lo_len), powers(start, ratio.pow([1u64 << SCALE_LO_BITS]), hi_len))
    };
    match kind {
        NttKind::Fft => None,
        NttKind::Ifft => Some((vec![d.size_inv], vec![d.size_inv])),
        NttKind::CosetFft => Some(two_level(Fr::one(), d.coset_gen)),
        NttKind::CosetIfft => Some(two_level(d.size_inv, d.coset_gen_inv)),
    }
}

/// The GPU path reads the inverse twiddles off the forward table, which is
/// right when `omega` has order exactly n and `omega_inv` is its inverse: true
/// of every [`Domain::new`], checked here for any other.
pub fn check_domain(d: &Domain<Fr>) -> Result<()> {
    let n = d.size;
    let ok = n.is_power_of_two()
        && n >= 2
        && n == 1usize << d.log_size
        && d.log_size <= Fr::TWO_ADICITY
        && d.omega.pow([(n / 2) as u64]) == -Fr::one()
        && d.omega * d.omega_inv == Fr::one();
    if ok {
        Ok(())
    } else {
        Err(Error::Internal(format!("the GPU NTT needs a radix-2 domain whose omega has order {n}")))
    }
}

pub(crate) struct NttKernels {
    pub bitrev: Kernel,
    pub pass: Kernel,
}

impl NttKernels {
    pub fn load(module: &Module) -> Result<Self> {
        Ok(Self { bitrev: module.function("zk_ntt_bitrev")?, pass: module.function("zk_ntt_pass")? })
    }
}

/// A domain's tables on the device.
pub struct NttPlan {
    pub domain: Domain<Fr>,
    twiddles: DeviceBuffer,
    /// (lo, hi) per [`NttKind`] that scales.
    scales: [Option<(DeviceBuffer, DeviceBuffer)>; 4],
}

fn upload_fr(device: &Arc<Device>, v: &[Fr]) -> Result<DeviceBuffer> {
    let buf = device.alloc(v.len() * 32)?;
    upload_scalars(&buf, v)?;
    Ok(buf)
}

impl NttPlan {
    pub(crate) fn new(device: &Arc<Device>, d: &Domain<Fr>) -> Result<Self> {
        check_domain(d)?;
        let twiddles = upload_fr(device, &twiddles(d))?;
        let mut scales = [None, None, None, None];
        for kind in NttKind::ALL {
            if let Some((lo, hi)) = scale_tables(d, kind) {
                scales[kind.index()] = Some((upload_fr(device, &lo)?, upload_fr(device, &hi)?));
            }
        }
        Ok(Self { domain: *d, twiddles, scales })
    }

    /// Launches `kind`'s steps on the first n elements of `data`.
    pub(crate) fn launch(&self, k: &NttKernels, data: &DeviceBuffer, kind: NttKind) -> Result<()> {
        let d = &self.domain;
        if data.bytes < d.size * 32 {
            return Err(Error::Internal(format!("an NTT of {} elements on a {}-byte buffer", d.size, data.bytes)));
        }
        let log_n = d.log_size;
        // Scale tables are read only when a step asks; otherwise any pointer.
        let (lo, hi) = match &self.scales[kind.index()] {
            Some((lo, hi)) => (Arg::from(lo), Arg::from(hi)),
            None => (Arg::from(&self.twiddles), Arg::from(&self.twiddles)),
        };
        for step in steps(log_n, kind, GPU_TILING) {
            match step {
                Step::BitReverse { scale } => k.bitrev.launch(
                    d.size as u64,
                    BITREV_BLOCK,
                    &[data.into(), log_n.into(), (scale as u32).into(), lo, hi],
                )?,
                Step::Pass { s0, k: stages, log_c, tiles, block, scale } => k.pass.launch(
                    tiles as u64 * block as u64,
                    block,
                    &[
                        data.into(),
                        (&self.twiddles).into(),
                        log_n.into(),
                        s0.into(),
                        stages.into(),
                        log_c.into(),
                        u32::from(kind.inverse()).into(),
                        (scale as u32).into(),
                        lo,
                        hi,
                    ],
                )?,
            }
        }
        Ok(())
    }
}

/// Copies the first `out.len()` elements of `data` into `out`, refusing any
/// value that is not below r (a GPU computing wrongly).
pub(crate) fn download_scalars(data: &DeviceBuffer, out: &mut [Fr]) -> Result<()> {
    // The uploads' layout probe: Fr is its four u64 Montgomery limbs.
    if scalars_as_bytes(&[]).is_some() {
        // SAFETY: same size and layout as the probe checked, and any bytes
        // are a valid `Fr` value (range checked below).
        let bytes = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), out.len() * 32) };
        data.download_at(0, bytes)?;
    } else {
        let mut limbs = vec![0u32; out.len() * 8];
        data.download_at(0, &mut limbs)?;
        out.par_iter_mut().zip(limbs.par_chunks(8)).for_each(|(o, l)| {
            let mut w = [0u64; 4];
            for (i, v) in w.iter_mut().enumerate() {
                *v = l[2 * i] as u64 | (l[2 * i + 1] as u64) << 32;
            }
            *o = Fr::new_unchecked(BigInt(w));
        });
    }
    if !out.par_iter().all(|x| x.0 < Fr::MODULUS) {
        return Err(Error::Device("the GPU returned a field element out of range".into()));
    }
    Ok(())
}

impl Cuda {
    /// `kind` of `a` on the GPU (upload, transform, download): the same as
    /// the CPU [`Domain`] transform of that name.
    ///
    /// # Panics
    /// If `a.len() != d.size`, as the CPU transform does.
    pub fn ntt(&self, d: &Domain<Fr>, a: &mut [Fr], kind: NttKind) -> Result<()> {
        assert_eq!(a.len(), d.size, "NTT input has {} elements but the domain has {}", a.len(), d.size);
        self.injected_failure()?;
        self.ntt_verified()?;
        self.ntt_unchecked(d, a, kind)
    }

    /// `kind` in place on the first `d.size` elements of a buffer already on
    /// the device (Montgomery limbs, as [`Cuda::upload_scalars`] leaves them).
    pub fn ntt_device(&self, d: &Domain<Fr>, data: &DeviceBuffer, kind: NttKind) -> Result<()> {
        self.injected_failure()?;
        self.ntt_verified()?;
        self.run(|r| self.ntt_plan(d)?.launch(&r.k.ntt, data, kind))
    }

    /// Copies the first `out.len()` elements of a device buffer back.
    pub fn download_scalars(&self, data: &DeviceBuffer, out: &mut [Fr]) -> Result<()> {
        self.run(|_| download_scalars(data, out))
    }

    fn ntt_unchecked(&self, d: &Domain<Fr>, a: &mut [Fr], kind: NttKind) -> Result<()> {
        self.run(|r| {
            let plan = self.ntt_plan(d)?;
            let data = r.pool.take(r.device, d.size * 32)?;
            upload_scalars(&data, a)?;
            plan.launch(&r.k.ntt, &data, kind)?;
            download_scalars(&data, a)
        })
    }

    /// The plan for `d`, from the cache or made now (most recent last).
    pub(super) fn ntt_plan(&self, d: &Domain<Fr>) -> Result<Arc<NttPlan>> {
        let mut plans = self.ntt_plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = plans.iter().position(|p| p.domain == *d) {
            let plan = plans.remove(i);
            plans.push(Arc::clone(&plan));
            return Ok(plan);
        }
        if plans.len() >= MAX_PLANS {
            plans.remove(0);
        }
        let plan = Arc::new(NttPlan::new(&self.device, d)?);
        plans.push(Arc::clone(&plan));
        Ok(plan)
    }

    /// Before the first NTT: the four transforms of a random vector against
    /// the CPU. A mismatch is remembered (every later NTT fails with it); a
    /// device error is returned and the check runs again next time.
    pub(super) fn ntt_verified(&self) -> Result<()> {
        if let Some(done) = self.ntt_check.get() {
            return done.clone().map_err(Error::Device);
        }
        match self.ntt_self_check(SELF_CHECK_LOG2, 17) {
            Ok(()) => {
                let _ = self.ntt_check.set(Ok(()));
                Ok(())
            }
            Err(Error::Device(why)) if why.starts_with("GPU self-check failed") => {
                let _ = self.ntt_check.set(Err(why.clone()));
                Err(Error::Device(why))
            }
            Err(e) => Err(e),
        }
    }

    /// The GPU's fft, ifft, coset_fft and coset_ifft of 2^log_n random
    /// elements against the CPU's.
    pub fn ntt_self_check(&self, log_n: u32, seed: u64) -> Result<()> {
        let d = Domain::<Fr>::new(1 << log_n).ok_or_else(|| Error::Internal(format!("no NTT domain of 2^{log_n}")))?;
        let x = super::sample_scalars(d.size, "random", seed);
        for kind in NttKind::ALL {
            let mut want = x.clone();
            kind.run_cpu(&d, &mut want);
            let mut got = x.clone();
            self.ntt_unchecked(&d, &mut got, kind)?;
            if got != want {
                return Err(Error::Device(format!(
                    "GPU self-check failed: NTT {} of 2^{log_n} differs from the CPU on {}",
                    kind.name(),
                    self.info.name
                )));
            }
        }
        Ok(())
    }
}
