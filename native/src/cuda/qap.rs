//! The QAP on the GPU, and the proof's MSMs fed from device memory.
//!
//! With a [`pipeline::Prover`](crate::pipeline::Prover) on CUDA the
//! constraint matrices A, B, C go to the device once ([`DeviceR1cs`], beside
//! the resident key, when they fit). A proof then sends only the assignment
//! z; the device evaluates A·z, B·z, C·z (`zk_qap_rows` in bn254.cu), checks
//! a·b = c row by row (`zk_qap_check`, which names the first failing
//! constraint), runs an inverse NTT and an NTT on the odd coset on each
//! vector, and `a·b − c` pointwise (`zk_qap_combine`), which leaves the H
//! MSM's scalars (A·B − C on the coset, see `groth16::r1cs_to_qap`) in the
//! first buffer, where the H MSM reads them against the resident points.
//! Nothing comes back but the sums.
//!
//! Without resident matrices the CPU evaluates the rows and the three
//! vectors are uploaded ([`Cuda::quotient_on_device`] is the [`Backend`]
//! form, which downloads h). The assignment goes over once for the A, B (G1)
//! and B (G2) MSMs instead of three times.

use std::time::Instant;

use ark_bn254::{g1::Config as G1, g2::Config as G2, Fr, G1Affine, G1Projective, G2Projective};

use super::driver::{DeviceBuffer, Pooled};
use super::msm::{upload_scalars, Run};
use super::ntt::{download_scalars, NttKind};
use super::{Cuda, ResidentMsms};
use crate::error::{Error, Result};
use crate::groth16::{ProverTimings, ProvingKey};
use crate::ntt::Domain;
use crate::r1cs::{Matrix, R1cs};

/// Threads per block of `zk_qap_combine`.
const COMBINE_BLOCK: u32 = 256;

/// Threads per block of the row evaluation and check kernels.
const ROWS_BLOCK: u32 = 256;

/// One constraint matrix on the device, in compressed-row form.
struct DeviceMatrix {
    row_start: DeviceBuffer,
    cols: DeviceBuffer,
    vals: DeviceBuffer,
}

/// A constraint system's three matrices on the device, uploaded once by a
/// prover and used by each proof's row evaluations.
pub struct DeviceR1cs {
    a: DeviceMatrix,
    b: DeviceMatrix,
    c: DeviceMatrix,
    /// Constraints (rows of each matrix), instance variables (1 + public),
    /// variables, and nonzeros per matrix: what a later system must match.
    rows: usize,
    instance: usize,
    variables: usize,
    nonzeros: [usize; 3],
}

/// Device bytes of `r1cs`'s matrices as [`DeviceR1cs`] holds them.
pub fn r1cs_device_bytes(r1cs: &R1cs) -> usize {
    [&r1cs.a, &r1cs.b, &r1cs.c].iter().map(|m| 4 * m.row_start.len() + 36 * m.num_nonzeros()).sum()
}

impl DeviceR1cs {
    /// Device bytes held.
    pub fn bytes(&self) -> usize {
        [&self.a, &self.b, &self.c].iter().map(|m| m.row_start.bytes + m.cols.bytes + m.vals.bytes).sum()
    }

    /// Whether `r1cs` has the shape these matrices were uploaded from. The
    /// structure of a circuit's system does not depend on its input; this
    /// guards against a caller mixing systems.
    fn fits(&self, r1cs: &R1cs) -> bool {
        self.rows == r1cs.num_constraints()
            && self.instance == r1cs.num_public + 1
            && self.variables == r1cs.num_variables
            && self.nonzeros == [r1cs.a.num_nonzeros(), r1cs.b.num_nonzeros(), r1cs.c.num_nonzeros()]
    }
}

impl Cuda {
    /// Uploads the matrices of `r1cs` when they fit in the free device
    /// memory with `reserve` bytes to spare; `Ok(None)` when they do not
    /// (the rows are then evaluated on the CPU).
    pub fn upload_r1cs(&self, r1cs: &R1cs, reserve: usize) -> Result<Option<DeviceR1cs>> {
        let rows = r1cs.num_constraints();
        for (m, name) in [(&r1cs.a, "A"), (&r1cs.b, "B"), (&r1cs.c, "C")] {
            if m.num_rows() != rows {
                return Err(Error::Internal(format!("matrix {name} has {} rows for {rows} constraints", m.num_rows())));
            }
        }
        let need = r1cs_device_bytes(r1cs);
        let (free, _) = self.memory()?;
        if need + reserve > free {
            return Ok(None);
        }
        let up = |m: &Matrix| -> Result<DeviceMatrix> {
            let starts: Vec<u32> = m
                .row_start
                .iter()
                .map(|&v| {
                    u32::try_from(v).map_err(|_| {
                        Error::Device(format!("{v} nonzeros exceed the GPU row evaluation's 32-bit offsets"))
                    })
                })
                .collect::<Result<_>>()?;
            let row_start = self.device.alloc(starts.len() * 4)?;
            row_start.upload(&starts)?;
            let cols = self.device.alloc(m.cols.len() * 4)?;
            cols.upload(&m.cols)?;
            let vals = self.device.alloc(m.vals.len() * 32)?;
            upload_scalars(&vals, &m.vals)?;
            Ok(DeviceMatrix { row_start, cols, vals })
        };
        let matrices = self.run(|_| Ok((up(&r1cs.a)?, up(&r1cs.b)?, up(&r1cs.c)?)));
        let (a, b, c) = matrices.map_err(|e| match e {
            Error::Device(why) => {
                Error::Device(format!("uploading the constraint matrices to {} failed: {why}", self.info.name))
            }
            other => other,
        })?;
        Ok(Some(DeviceR1cs {
            a,
            b,
            c,
            rows,
            instance: r1cs.num_public + 1,
            variables: r1cs.num_variables,
            nonzeros: [r1cs.a.num_nonzeros(), r1cs.b.num_nonzeros(), r1cs.c.num_nonzeros()],
        }))
    }

    /// Within a run: A·z, B·z, C·z on the device into three fresh buffers
    /// of n elements, with the satisfaction check when `check`.
    fn rows_in_run<'a>(
        &self,
        r: &Run<'a>,
        m: &DeviceR1cs,
        r1cs: &R1cs,
        z: &[Fr],
        d: &Domain<Fr>,
        check: bool,
    ) -> Result<[Pooled<'a>; 3]> {
        if !m.fits(r1cs) || z.len() != m.variables || d.size < m.rows + m.instance {
            return Err(Error::Internal("the constraint matrices on the device are not this system's".into()));
        }
        let n = d.size;
        let u32_of = |v: usize| u32::try_from(v).map_err(|_| Error::Internal(format!("{v} rows exceed one launch")));
        let zb = r.pool.take(r.device, z.len() * 32)?;
        upload_scalars(&zb, z)?;
        let out = [r.pool.take(r.device, n * 32)?, r.pool.take(r.device, n * 32)?, r.pool.take(r.device, n * 32)?];
        for ((mat, buf), instance) in [&m.a, &m.b, &m.c].into_iter().zip(out.iter()).zip([m.instance, 0, 0]) {
            r.k.qap_rows.launch(
                n as u64,
                ROWS_BLOCK,
                &[
                    (&mat.row_start).into(),
                    (&mat.cols).into(),
                    (&mat.vals).into(),
                    (&zb).into(),
                    u32_of(m.rows)?.into(),
                    u32_of(instance)?.into(),
                    u32_of(n)?.into(),
                    buf.into(),
                ],
            )?;
        }
        if check && m.rows > 0 {
            let first = r.pool.take(r.device, 4)?;
            first.fill_u32(u32::MAX, 1)?;
            r.k.qap_check.launch(
                m.rows as u64,
                ROWS_BLOCK,
                &[(&out[0]).into(), (&out[1]).into(), (&out[2]).into(), u32_of(m.rows)?.into(), (&first).into()],
            )?;
            let mut row = [0u32];
            first.download_at(0, &mut row)?;
            if row[0] != u32::MAX {
                let row = row[0] as usize;
                return Err(Error::Unsatisfied { row, label: r1cs.label_of(row).to_string() });
            }
        }
        Ok(out)
    }

    /// Within a run: uploads the three row evaluations and leaves the
    /// H MSM's n scalars (A·B − C on the odd coset) in the returned
    /// buffer. The caller has run
    /// [`Cuda::ntt_verified`].
    fn quotient_in_run<'a>(&self, r: &Run<'a>, d: &Domain<Fr>, rows: &[Vec<Fr>; 3]) -> Result<Pooled<'a>> {
        for (v, name) in rows.iter().zip(["A", "B", "C"]) {
            if v.len() != d.size {
                return Err(Error::Internal(format!(
                    "the {name} row evaluations have {} elements but the domain has {}",
                    v.len(),
                    d.size
                )));
            }
        }
        let n = d.size;
        let bufs = [r.pool.take(r.device, n * 32)?, r.pool.take(r.device, n * 32)?, r.pool.take(r.device, n * 32)?];
        for (buf, v) in bufs.iter().zip(rows.iter()) {
            upload_scalars(buf, v)?;
        }
        self.quotient_of_device_rows(r, d, bufs)
    }

    /// Within a run: the quotient from row evaluations already on the
    /// device, left in the first buffer (returned).
    fn quotient_of_device_rows<'a>(&self, r: &Run<'a>, d: &Domain<Fr>, bufs: [Pooled<'a>; 3]) -> Result<Pooled<'a>> {
        let plan = self.ntt_plan(d)?;
        let n = d.size;
        for buf in bufs.iter() {
            plan.launch(&r.k.ntt, buf, NttKind::Ifft)?;
            plan.launch(&r.k.ntt, buf, NttKind::CosetFft)?;
        }
        let [a, b, c] = bufs;
        let n32 = u32::try_from(n).map_err(|_| Error::Internal(format!("a quotient of {n} elements")))?;
        r.k.qap_combine.launch(n as u64, COMBINE_BLOCK, &[(&a).into(), (&b).into(), (&c).into(), n32.into()])?;
        Ok(a)
    }

    /// [`Backend::quotient`] on the GPU: three uploads, six NTTs and the
    /// product on the device, one download.
    pub fn quotient_on_device(&self, d: &Domain<Fr>, rows: [Vec<Fr>; 3]) -> Result<Vec<Fr>> {
        self.injected_failure()?;
        self.ntt_verified()?;
        self.run(|r| {
            let h = self.quotient_in_run(r, d, &rows)?;
            let mut out = vec![Fr::from(0u64); d.size];
            download_scalars(&h, &mut out)?;
            Ok(out)
        })
    }
}

impl ResidentMsms<'_> {
    /// [`crate::groth16::KeyMsms::witness_quotient_msm`] with the matrices
    /// on the device: z goes over, the sum of the H MSM comes back.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn witness_quotient_msm_on_device(
        &self,
        m: &DeviceR1cs,
        r1cs: &R1cs,
        z: &[Fr],
        d: &Domain<Fr>,
        check: bool,
        h_bases: &[G1Affine],
        timings: &mut ProverTimings,
    ) -> Result<G1Projective> {
        let resident = match &self.key.h {
            Some(b) if b.len == h_bases.len() && b.len == d.size => b,
            _ => return Err(Error::Internal("the resident H query does not match the proving key".into())),
        };
        self.gpu.injected_failure()?;
        self.gpu.ntt_verified()?;
        crate::progress::stage("evaluate");
        let t = Instant::now();
        self.gpu.run(|r| {
            let rows = self.gpu.rows_in_run(r, m, r1cs, z, d, check)?;
            r.device.synchronize()?;
            timings.evaluate = t.elapsed().as_secs_f64();
            crate::progress::stage("quotient");
            let h = self.gpu.quotient_of_device_rows(r, d, rows)?;
            r.device.synchronize()?;
            timings.quotient = t.elapsed().as_secs_f64() - timings.evaluate;
            crate::progress::stage("msm");
            r.msm_device_scalars::<G1>(resident, &h)
        })
    }

    /// [`crate::groth16::KeyMsms::quotient_msm`] with h left on the device
    /// for the H MSM against the resident points.
    pub(super) fn quotient_msm_on_device(
        &self,
        d: &Domain<Fr>,
        rows: [Vec<Fr>; 3],
        h_bases: &[G1Affine],
    ) -> Result<(G1Projective, f64)> {
        let resident = match &self.key.h {
            Some(b) if b.len == h_bases.len() && b.len == d.size => b,
            _ => return Err(Error::Internal("the resident H query does not match the proving key".into())),
        };
        self.gpu.injected_failure()?;
        self.gpu.ntt_verified()?;
        let t = Instant::now();
        self.gpu.run(|r| {
            let h = self.gpu.quotient_in_run(r, d, &rows)?;
            r.device.synchronize()?;
            let seconds = t.elapsed().as_secs_f64();
            crate::progress::stage("msm");
            Ok((r.msm_device_scalars::<G1>(resident, &h)?, seconds))
        })
    }

    /// [`crate::groth16::KeyMsms::msms_of_z`] with z uploaded once for the
    /// three MSMs; `None` when the resident queries are not all there (the
    /// caller then runs them one by one, which reports any mismatch).
    pub(super) fn msms_of_z_on_device(
        &self,
        pk: &ProvingKey,
        z: &[Fr],
    ) -> Result<Option<(G1Projective, G1Projective, G2Projective)>> {
        let (Some(a), Some(b_g1), Some(b_g2)) = (&self.key.a, &self.key.b_g1, &self.key.b_g2) else {
            return Ok(None);
        };
        let n = z.len();
        if [a.len, b_g1.len, b_g2.len] != [n; 3]
            || [pk.a_query.len(), pk.b_g1_query.len(), pk.b_g2_query.len()] != [n; 3]
        {
            return Ok(None);
        }
        self.gpu.injected_failure()?;
        self.gpu.run(|r| {
            let scalars = r.pool.take(r.device, n * 32)?;
            upload_scalars(&scalars, z)?;
            Ok(Some((
                r.msm_device_scalars::<G1>(a, &scalars)?,
                r.msm_device_scalars::<G1>(b_g1, &scalars)?,
                r.msm_device_scalars::<G2>(b_g2, &scalars)?,
            )))
        })
    }
}
