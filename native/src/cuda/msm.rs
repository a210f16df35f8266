//! The host side of the GPU MSM: buffers, launches and the final Horner sum
//! over windows. The kernels and the order they run in are described in
//! `native/cuda/msm.cuh`; [`super::plan`] fixes the sizes.

use std::sync::Arc;

use ark_bn254::{Fq, Fq2, Fr};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AdditiveGroup;
use ark_ff::{BigInt, Field, Zero};
use rayon::prelude::*;

use super::driver::{Device, DeviceBuffer, Kernel, Module, Pool, Pooled};
use super::plan::{MsmPlan, MIN_TASK_LEN, RUN_LEN};
use crate::error::{Error, Result};

const BLOCK: u32 = 256;
/// Threads per block of `zk_scan_block` and the items each thread scans.
const SCAN_TILE: usize = 256 * 8;

/// A group the GPU MSM runs on: how its points are laid out as u32 limbs.
pub trait GpuGroup: SWCurveConfig<ScalarField = Fr> {
    /// Kernel name prefix ("g1", "g2").
    const NAME: &'static str;
    /// u32 limbs of one coordinate (8 for Fq, 16 for Fq2).
    const COORD_LIMBS: usize;
    fn coord_limbs(c: &Self::BaseField, out: &mut [u32]);
    fn coord_from_limbs(limbs: &[u32]) -> Self::BaseField;
}

fn fq_limbs(f: &Fq, out: &mut [u32]) {
    for (i, limb) in f.0 .0.iter().enumerate() {
        out[2 * i] = *limb as u32;
        out[2 * i + 1] = (*limb >> 32) as u32;
    }
}

fn fq_from_limbs(l: &[u32]) -> Fq {
    let mut limbs = [0u64; 4];
    for (i, v) in limbs.iter_mut().enumerate() {
        *v = l[2 * i] as u64 | (l[2 * i + 1] as u64) << 32;
    }
    // The device keeps Montgomery form with R = 2^256, as arkworks does.
    Fq::new_unchecked(BigInt(limbs))
}

impl GpuGroup for ark_bn254::g1::Config {
    const NAME: &'static str = "g1";
    const COORD_LIMBS: usize = 8;
    fn coord_limbs(c: &Fq, out: &mut [u32]) {
        fq_limbs(c, out)
    }
    fn coord_from_limbs(l: &[u32]) -> Fq {
        fq_from_limbs(l)
    }
}

impl GpuGroup for ark_bn254::g2::Config {
    const NAME: &'static str = "g2";
    const COORD_LIMBS: usize = 16;
    fn coord_limbs(c: &Fq2, out: &mut [u32]) {
        fq_limbs(&c.c0, &mut out[..8]);
        fq_limbs(&c.c1, &mut out[8..]);
    }
    fn coord_from_limbs(l: &[u32]) -> Fq2 {
        Fq2::new(fq_from_limbs(&l[..8]), fq_from_limbs(&l[8..]))
    }
}

/// Affine points as the kernels read them: (x, y), the identity marked by an
/// all-ones top limb of x.
pub fn pack_affine<P: GpuGroup>(points: &[Affine<P>]) -> Vec<u32> {
    let per = 2 * P::COORD_LIMBS;
    let mut out = vec![0u32; points.len() * per];
    out.par_chunks_mut(per).zip(points.par_iter()).for_each(|(o, p)| {
        if p.infinity {
            o.fill(u32::MAX);
        } else {
            let (x, y) = o.split_at_mut(P::COORD_LIMBS);
            P::coord_limbs(&p.x, x);
            P::coord_limbs(&p.y, y);
        }
    });
    out
}

/// XYZZ points from the device (x = X/ZZ, y = Y/ZZZ; ZZ = 0 is the identity),
/// each checked to lie on the curve.
pub fn unpack_xyzz<P: GpuGroup>(limbs: &[u32]) -> Result<Vec<Projective<P>>> {
    let k = P::COORD_LIMBS;
    limbs
        .chunks(4 * k)
        .map(|c| {
            let [x, y, zz, zzz] = [0, 1, 2, 3].map(|i| P::coord_from_limbs(&c[i * k..(i + 1) * k]));
            if zz.is_zero() {
                return Ok(Projective::<P>::zero());
            }
            let (Some(zz_inv), Some(zzz_inv)) = (zz.inverse(), zzz.inverse()) else {
                return Err(Error::Device("the GPU returned a malformed point".into()));
            };
            let p = Affine::<P>::new_unchecked(x * zz_inv, y * zzz_inv);
            if !p.is_on_curve() || zz.square() * zz != zzz.square() {
                return Err(Error::Device(format!("the GPU returned a {} point off the curve", P::NAME)));
            }
            Ok(p.into())
        })
        .collect()
}

/// `scalars`' memory as the kernels read it, when `Fr` is laid out as its four
/// little-endian u64 Montgomery limbs and nothing else (checked on a probe
/// value), so a large MSM uploads the caller's slice without a copy.
pub(crate) fn scalars_as_bytes(scalars: &[Fr]) -> Option<&[u8]> {
    if std::mem::size_of::<Fr>() != 32 || std::mem::align_of::<Fr>() > 8 {
        return None;
    }
    let probe = [-Fr::from(0x0123_4567_89ab_cdefu64)];
    // SAFETY: `probe` is 32 initialised bytes (size checked above).
    let bytes = unsafe { std::slice::from_raw_parts(probe.as_ptr().cast::<u8>(), 32) };
    let limbs: Vec<u8> = probe[0].0 .0.iter().flat_map(|l| l.to_le_bytes()).collect();
    if bytes != limbs.as_slice() {
        return None;
    }
    // SAFETY: same layout as the probe; the slice covers exactly the scalars.
    Some(unsafe { std::slice::from_raw_parts(scalars.as_ptr().cast::<u8>(), scalars.len() * 32) })
}

/// Copies scalars to the device in the kernels' layout.
pub(crate) fn upload_scalars(buffer: &DeviceBuffer, scalars: &[Fr]) -> Result<()> {
    match scalars_as_bytes(scalars) {
        Some(bytes) => buffer.upload(bytes),
        None => buffer.upload(&pack_scalars(scalars)),
    }
}

/// Scalars as the kernels read them: Montgomery limbs, eight u32 each.
pub fn pack_scalars(scalars: &[Fr]) -> Vec<u32> {
    let mut out = vec![0u32; scalars.len() * 8];
    out.par_chunks_mut(8).zip(scalars.par_iter()).for_each(|(o, s)| {
        for (i, limb) in s.0 .0.iter().enumerate() {
            o[2 * i] = *limb as u32;
            o[2 * i + 1] = (*limb >> 32) as u32;
        }
    });
    out
}

pub(crate) struct GroupKernels {
    pub sum_affine: Kernel,
    pub sum_xyzz: Kernel,
    pub reduce_segments: Kernel,
    pub sum_runs: Kernel,
    pub check_add: Kernel,
}

impl GroupKernels {
    fn load(module: &Module, group: &str) -> Result<Self> {
        let f = |name: &str| module.function(&format!("zk_{group}_{name}"));
        Ok(Self {
            sum_affine: f("sum_affine_tasks")?,
            sum_xyzz: f("sum_xyzz_tasks")?,
            reduce_segments: f("reduce_segments")?,
            sum_runs: f("sum_runs")?,
            check_add: f("check_add")?,
        })
    }
}

pub(crate) struct Kernels {
    pub digits: Kernel,
    pub scatter: Kernel,
    pub scan_block: Kernel,
    pub scan_add: Kernel,
    pub task_counts: Kernel,
    pub emit_tasks: Kernel,
    pub check_fq: Kernel,
    pub check_fr: Kernel,
    pub g1: GroupKernels,
    pub g2: GroupKernels,
    pub ntt: super::ntt::NttKernels,
    pub qap_combine: Kernel,
    pub qap_rows: Kernel,
    pub qap_check: Kernel,
    _module: Module,
}

impl Kernels {
    pub fn load(module: Module) -> Result<Self> {
        Ok(Self {
            digits: module.function("zk_msm_digits")?,
            scatter: module.function("zk_msm_scatter")?,
            scan_block: module.function("zk_scan_block")?,
            scan_add: module.function("zk_scan_add")?,
            task_counts: module.function("zk_task_counts")?,
            emit_tasks: module.function("zk_emit_tasks")?,
            check_fq: module.function("zk_check_fq")?,
            check_fr: module.function("zk_check_fr_canonical")?,
            g1: GroupKernels::load(&module, "g1")?,
            g2: GroupKernels::load(&module, "g2")?,
            ntt: super::ntt::NttKernels::load(&module)?,
            qap_combine: module.function("zk_qap_combine")?,
            qap_rows: module.function("zk_qap_rows")?,
            qap_check: module.function("zk_qap_check")?,
            _module: module,
        })
    }

    pub fn group<P: GpuGroup>(&self) -> &GroupKernels {
        if P::NAME == "g1" {
            &self.g1
        } else {
            &self.g2
        }
    }
}

/// Points uploaded once and used by many MSMs (a proving key's queries).
pub struct ResidentBases {
    pub(crate) buffer: DeviceBuffer,
    pub len: usize,
    pub group: &'static str,
}

pub(crate) fn upload_bases<P: GpuGroup>(device: &Arc<Device>, points: &[Affine<P>]) -> Result<ResidentBases> {
    let packed = pack_affine(points);
    let buffer = device.alloc(packed.len() * 4)?;
    buffer.upload(&packed)?;
    Ok(ResidentBases { buffer, len: points.len(), group: P::NAME })
}

fn u32_len(x: usize) -> Result<u32> {
    u32::try_from(x).map_err(|_| Error::Device(format!("{x} exceeds a 32-bit kernel argument")))
}

/// One MSM's launches on a device.
pub(crate) struct Run<'a> {
    pub device: &'a Arc<Device>,
    pub k: &'a Kernels,
    pub pool: &'a Pool,
}

impl<'a> Run<'a> {
    fn alloc(&self, bytes: usize) -> Result<Pooled<'a>> {
        self.pool.take(self.device, bytes)
    }

    fn alloc_u32(&self, n: usize) -> Result<Pooled<'a>> {
        self.alloc(n * 4)
    }

    fn read_u32(&self, buf: &DeviceBuffer, index: usize) -> Result<u32> {
        let mut v = [0u32];
        buf.download_at(index * 4, &mut v)?;
        Ok(v[0])
    }

    /// Exclusive scan of `len` u32s into a new buffer.
    fn scan(&self, input: &DeviceBuffer, len: usize) -> Result<Pooled<'a>> {
        let out = self.alloc_u32(len)?;
        self.scan_into(input, &out, len)?;
        Ok(out)
    }

    fn scan_into(&self, input: &DeviceBuffer, out: &DeviceBuffer, len: usize) -> Result<()> {
        let blocks = len.div_ceil(SCAN_TILE);
        let sums = self.alloc_u32(blocks)?;
        self.k.scan_block.launch(
            (blocks * 256) as u64,
            256,
            &[input.into(), out.into(), u32_len(len)?.into(), (&sums).into()],
        )?;
        if blocks > 1 {
            let scanned = self.scan(&sums, blocks)?;
            self.k.scan_add.launch(len as u64, BLOCK, &[out.into(), u32_len(len)?.into(), (&scanned).into()])?;
        }
        Ok(())
    }

    /// `sum_i scalars[i] * bases[i]` with the bases already on the device.
    pub fn msm<P: GpuGroup>(&self, bases: &ResidentBases, scalars: &[Fr]) -> Result<Projective<P>> {
        if bases.group != P::NAME {
            return Err(Error::Internal(format!("{} bases passed to a {} MSM", bases.group, P::NAME)));
        }
        if bases.len != scalars.len() {
            return Err(Error::Internal(format!("msm: {} bases but {} scalars", bases.len, scalars.len())));
        }
        let n = scalars.len();
        if n == 0 {
            return Ok(Projective::zero());
        }
        let scalar_buf = self.alloc(n * 32)?;
        upload_scalars(&scalar_buf, scalars)?;
        self.msm_device_scalars::<P>(bases, &scalar_buf)
    }

    /// [`Run::msm`] with the scalars already on the device (8 u32 limbs each,
    /// Montgomery form): the first `bases.len` of the buffer.
    pub fn msm_device_scalars<P: GpuGroup>(
        &self,
        bases: &ResidentBases,
        scalars: &DeviceBuffer,
    ) -> Result<Projective<P>> {
        let n = bases.len;
        if bases.group != P::NAME {
            return Err(Error::Internal(format!("{} bases passed to a {} MSM", bases.group, P::NAME)));
        }
        if scalars.bytes < n * 32 {
            return Err(Error::Internal(format!("an MSM of {n} points with {} bytes of scalars", scalars.bytes)));
        }
        let plan = MsmPlan::new(n)?;
        let g = self.k.group::<P>();
        let mut profile = Profile::new(self.device);
        let xyzz_bytes = 4 * P::COORD_LIMBS * 4;
        let entries = plan.windows as usize * n;
        let m = plan.slots();

        // 1. digits and bucket counts (slot m stays 0, so scans end in the total).
        let keys = self.alloc_u32(entries)?;
        let vals = self.alloc_u32(entries)?;
        let counts = self.alloc_u32(m + 1)?;
        counts.fill_u32(0, m + 1)?;
        self.k.digits.launch(
            n as u64,
            BLOCK,
            &[
                scalars.into(),
                u32_len(n)?.into(),
                plan.c.into(),
                plan.windows.into(),
                (&keys).into(),
                (&vals).into(),
                (&counts).into(),
            ],
        )?;

        profile.mark("digits")?;
        // 2. counting sort by (window, bucket).
        let offsets = self.scan(&counts, m + 1)?;
        let total = self.read_u32(&offsets, m)? as usize;
        if total == 0 {
            return Ok(Projective::zero());
        }
        let cursor = self.alloc_u32(m + 1)?;
        cursor.copy_from(&offsets, (m + 1) * 4)?;
        let sorted = self.alloc_u32(total)?;
        self.k.scatter.launch(
            entries as u64,
            BLOCK,
            &[
                (&keys).into(),
                (&vals).into(),
                u32_len(n)?.into(),
                plan.windows.into(),
                plan.stride.into(),
                (&cursor).into(),
                (&sorted).into(),
            ],
        )?;
        drop((keys, vals, cursor));
        profile.mark("sort")?;

        // 3. bucket sums, level by level, until each bucket has one sum.
        let mut level_counts = counts;
        let mut level_offsets = offsets;
        let mut level_len = total;
        let mut level_sums: Option<Pooled> = None;
        loop {
            let task_len = if level_sums.is_none() { plan.task_len } else { MIN_TASK_LEN };
            let ntask = self.alloc_u32(m + 1)?;
            ntask.fill_u32(0, m + 1)?;
            self.k.task_counts.launch(
                m as u64,
                BLOCK,
                &[(&level_counts).into(), u32_len(m)?.into(), task_len.into(), (&ntask).into()],
            )?;
            let task_offsets = self.scan(&ntask, m + 1)?;
            let tasks = self.read_u32(&task_offsets, m)? as usize;
            if tasks == level_len && level_sums.is_some() {
                break;
            }
            let task_begin = self.alloc_u32(tasks + 1)?;
            self.k.emit_tasks.launch(
                m as u64,
                BLOCK,
                &[
                    (&level_counts).into(),
                    (&level_offsets).into(),
                    (&task_offsets).into(),
                    u32_len(m)?.into(),
                    task_len.into(),
                    (&task_begin).into(),
                ],
            )?;
            task_begin.upload_at(tasks * 4, &[u32_len(level_len)?])?;
            let out = self.alloc(tasks * xyzz_bytes)?;
            match &level_sums {
                None => g.sum_affine.launch(
                    tasks as u64,
                    BLOCK,
                    &[
                        (&bases.buffer).into(),
                        (&sorted).into(),
                        (&task_begin).into(),
                        u32_len(tasks)?.into(),
                        (&out).into(),
                    ],
                )?,
                Some(prev) => g.sum_xyzz.launch(
                    tasks as u64,
                    BLOCK,
                    &[(&**prev).into(), (&task_begin).into(), u32_len(tasks)?.into(), (&out).into()],
                )?,
            }
            level_sums = Some(out);
            profile.mark(if level_len == total { "bucket sums" } else { "bucket sums (next level)" })?;
            level_counts = ntask;
            level_offsets = task_offsets;
            level_len = tasks;
        }
        let sums = level_sums.ok_or_else(|| Error::Internal("no bucket sums".into()))?;

        // 4. sum_d d * B_d per window: segments, then a tree over them.
        let segments = plan.segments_per_window() as usize;
        let windows = plan.windows as usize;
        let mut partial = self.alloc(windows * segments * xyzz_bytes)?;
        g.reduce_segments.launch(
            (windows * segments) as u64,
            BLOCK,
            &[
                (&sums).into(),
                (&level_counts).into(),
                (&level_offsets).into(),
                plan.stride.into(),
                plan.windows.into(),
                plan.segment.into(),
                (&partial).into(),
            ],
        )?;
        profile.mark("segments")?;
        let mut per_group = segments;
        while per_group > 1 {
            let next = per_group.div_ceil(RUN_LEN as usize);
            let out = self.alloc(windows * next * xyzz_bytes)?;
            g.sum_runs.launch(
                (windows * next) as u64,
                BLOCK,
                &[(&partial).into(), plan.windows.into(), u32_len(per_group)?.into(), RUN_LEN.into(), (&out).into()],
            )?;
            partial = out;
            per_group = next;
        }

        profile.mark("segment tree")?;
        // 5. sum_w 2^(c w) S_w on the host.
        let mut limbs = vec![0u32; windows * 4 * P::COORD_LIMBS];
        partial.download_at(0, &mut limbs)?;
        let window_sums = unpack_xyzz::<P>(&limbs)?;
        let mut acc = Projective::<P>::zero();
        for s in window_sums.iter().rev() {
            for _ in 0..plan.c {
                acc.double_in_place();
            }
            acc += s;
        }
        profile.mark("host finish")?;
        profile.report(&format!("{} 2^{:.1} c={} windows={}", P::NAME, (n as f64).log2(), plan.c, plan.windows));
        Ok(acc)
    }
}

/// `ZKML_CUDA_PROFILE=1`: time each phase of an MSM (synchronising after
/// each, so the total grows a little) and print one line to stderr.
struct Profile<'a> {
    device: Option<&'a Arc<Device>>,
    last: std::time::Instant,
    phases: Vec<(&'static str, f64)>,
}

impl<'a> Profile<'a> {
    fn new(device: &'a Arc<Device>) -> Self {
        let on = std::env::var_os("ZKML_CUDA_PROFILE").is_some_and(|v| v != "0");
        Self { device: on.then_some(device), last: std::time::Instant::now(), phases: Vec::new() }
    }

    fn mark(&mut self, phase: &'static str) -> Result<()> {
        if let Some(d) = self.device {
            d.synchronize()?;
            let now = std::time::Instant::now();
            self.phases.push((phase, (now - self.last).as_secs_f64() * 1e3));
            self.last = now;
        }
        Ok(())
    }

    fn report(&self, what: &str) {
        if self.device.is_some() {
            let total: f64 = self.phases.iter().map(|p| p.1).sum();
            let parts: Vec<String> = self.phases.iter().map(|(p, t)| format!("{p} {t:.2}")).collect();
            eprintln!("profile {what}: total {total:.2} ms = {}", parts.join(" + "));
        }
    }
}
