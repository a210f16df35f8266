//! snarkjs's powers-of-tau file (`.ptau`, version 1), read and checked for
//! one circuit's QAP domain of n points, streamed: only the section table and
//! the points the circuit's phase 2 uses are read (the first 2n powers of
//! tau in G1, the first n of the others, and the Lagrange sections of size n
//! and 2n), never the whole file (the public 2^20 file is over 1 GB).
//!
//! Sections: 1 the header (n8, q, power, the ceremony's power); 2 tau^i in G1
//! (2^(power+1) − 1 points); 3 tau^i in G2; 4 alpha·tau^i and 5 beta·tau^i in
//! G1 (2^power each); 6 beta in G2; 7 the contributions; after `prepare
//! phase2`, 12–15 the same four in the Lagrange basis of every domain 2^k
//! (the domain of 2^k points starting at offset 2^k − 1).
//!
//! The checks, each naming the section it refutes: the header (BN254, a power
//! large enough for the circuit, prepared for phase 2); every point read on
//! its curve and, in G2, in the prime-order subgroup; the first powers equal
//! the generators; the powers consistent with one tau (and alpha, beta) by
//! random linear combinations checked with pairings,
//! e(Σ ρ_i [τ^(i+1)]_1, [1]_2) = e(Σ ρ_i [τ^i]_1, [τ]_2) and alike; and each
//! Lagrange section equal to the powers it was computed from:
//! Σ ρ_i [L_i(τ)] = Σ c_j [τ^j] with c the inverse NTT of ρ.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use ark_ff::UniformRand;
use rand::{CryptoRng, RngCore};

use super::{q_le, Reader};
use crate::error::{Error, Result};
use crate::ntt::Domain;

/// What a checked ptau file said about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtauInfo {
    /// Powers 2^power are available (the circuit's domain may be that big).
    pub power: u32,
    /// The ceremony's power (a truncated file has power < ceremony power).
    pub ceremony_power: u32,
}

struct PtauFile {
    file: std::fs::File,
    name: String,
    /// (id, offset, size) of every section.
    sections: Vec<(u32, u64, u64)>,
}

impl PtauFile {
    fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(format!("cannot read {name}"), e))?;
        let len = file.metadata().map_err(|e| Error::io(format!("cannot read {name}"), e))?.len();
        let bad = |why: &str| Error::Format(format!("{name}: {why}"));
        let mut head = [0u8; 12];
        file.read_exact(&mut head).map_err(|_| bad("not a powers-of-tau file (too short)"))?;
        if &head[..4] != b"ptau" {
            return Err(bad("not a powers-of-tau file (wrong magic bytes)"));
        }
        let version = u32::from_le_bytes(head[4..8].try_into().expect("4"));
        if version != 1 {
            return Err(bad(&format!("ptau version {version} is not supported")));
        }
        let count = u32::from_le_bytes(head[8..12].try_into().expect("4"));
        let mut sections = Vec::new();
        let mut at = 12u64;
        for _ in 0..count.min(64) {
            let mut h = [0u8; 12];
            file.seek(SeekFrom::Start(at))
                .and_then(|_| file.read_exact(&mut h))
                .map_err(|_| bad("truncated section table"))?;
            let id = u32::from_le_bytes(h[..4].try_into().expect("4"));
            let size = u64::from_le_bytes(h[4..].try_into().expect("8"));
            at += 12;
            if size > len.saturating_sub(at) {
                return Err(bad(&format!("section {id} runs past the end of the file")));
            }
            sections.push((id, at, size));
            at += size;
        }
        if count > 64 || at != len {
            return Err(bad("the section table does not cover the file"));
        }
        Ok(Self { file, name, sections })
    }

    fn section(&self, id: u32) -> Option<(u64, u64)> {
        self.sections.iter().find(|s| s.0 == id).map(|s| (s.1, s.2))
    }

    /// `count` items of `item` bytes at item index `first` of section `id`.
    fn read(&mut self, id: u32, item: usize, first: u64, count: usize, what: &str) -> Result<Vec<u8>> {
        let (offset, size) = self
            .section(id)
            .ok_or_else(|| Error::Format(format!("{}: section {id} ({what}) is missing", self.name)))?;
        let start = first * item as u64;
        let bytes = (count * item) as u64;
        if start + bytes > size {
            return Err(Error::Format(format!("{}: section {id} ({what}) holds too few points", self.name)));
        }
        let mut out = vec![0u8; bytes as usize];
        self.file
            .seek(SeekFrom::Start(offset + start))
            .and_then(|_| self.file.read_exact(&mut out))
            .map_err(|e| Error::io(format!("cannot read {}", self.name), e))?;
        Ok(out)
    }

    fn g1s(&mut self, id: u32, first: u64, count: usize, what: &str) -> Result<Vec<G1Affine>> {
        use rayon::prelude::*;
        let raw = self.read(id, 64, first, count, what)?;
        let name = format!("{}: section {id} ({what})", self.name);
        raw.par_chunks(64).map(|c| Reader { data: c, at: 0, what: name.clone() }.g1()).collect()
    }

    fn g2s(&mut self, id: u32, first: u64, count: usize, what: &str) -> Result<Vec<G2Affine>> {
        use rayon::prelude::*;
        let raw = self.read(id, 128, first, count, what)?;
        let name = format!("{}: section {id} ({what})", self.name);
        raw.par_chunks(128).map(|c| Reader { data: c, at: 0, what: name.clone() }.g2()).collect()
    }
}

fn random_vec<R: RngCore>(n: usize, rng: &mut R) -> Vec<Fr> {
    (0..n).map(|_| Fr::rand(rng)).collect()
}

fn msm1(b: &[G1Affine], s: &[Fr]) -> G1Projective {
    crate::msm::msm::<G1Projective>(b, s)
}

fn msm2(b: &[G2Affine], s: &[Fr]) -> G2Projective {
    crate::msm::msm::<G2Projective>(b, s)
}

/// Reads and checks `path` for a circuit whose QAP domain has `n` points
/// (see the module docs). Randomness from `rng` (the verifier's own).
pub fn check<R: RngCore + CryptoRng>(path: &Path, n: usize, rng: &mut R) -> Result<PtauInfo> {
    let mut f = PtauFile::open(path)?;
    let name = f.name.clone();
    let refuted = |id: u32, what: &str| {
        Error::Format(format!("{name}: section {id} ({what}) is inconsistent: not the powers of one secret"))
    };
    let header = f.read(1, 1, 0, 4 + 32 + 8, "header")?;
    if header[..4] != 32u32.to_le_bytes() || header[4..36] != q_le() {
        return Err(Error::Format(format!("{name}: not a BN254 (bn128) ceremony")));
    }
    let power = u32::from_le_bytes(header[36..40].try_into().expect("4"));
    let ceremony_power = u32::from_le_bytes(header[40..44].try_into().expect("4"));
    if !n.is_power_of_two() || n < 2 {
        return Err(Error::Internal(format!("a QAP domain of {n} points")));
    }
    let k = n.trailing_zeros();
    if k > power {
        return Err(Error::Mismatch(format!(
            "{name} has 2^{power} powers of tau but the circuit needs 2^{k} (its QAP domain): \
             use a ceremony file of power {k} or more"
        )));
    }
    if (12..=15).any(|id| f.section(id).is_none()) {
        return Err(Error::Format(format!(
            "{name} is not prepared for phase 2 (no Lagrange sections): run `snarkjs powersoftau prepare phase2` on it"
        )));
    }
    // Powers: 2n of tau in G1 where the file has them (it holds 2^(power+1) − 1).
    let g1_avail = (f.section(2).map_or(0, |s| s.1) / 64) as usize;
    let m1 = (2 * n).min(g1_avail);
    let tau_g1 = f.g1s(2, 0, m1, "tau in G1")?;
    let tau_g2 = f.g2s(3, 0, n, "tau in G2")?;
    let alpha_g1 = f.g1s(4, 0, n, "alpha tau in G1")?;
    let beta_g1 = f.g1s(5, 0, n, "beta tau in G1")?;
    let beta_g2 = f.g2s(6, 0, 1, "beta in G2")?[0];
    if tau_g1[0] != G1Affine::generator() {
        return Err(refuted(2, "tau in G1"));
    }
    if tau_g2[0] != G2Affine::generator() {
        return Err(refuted(3, "tau in G2"));
    }
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    let t2 = tau_g2[1];
    let t1 = tau_g1[1];
    // e(Σρ P[i+1], [1]_2) = e(Σρ P[i], [τ]_2) for a sequence P of powers in G1.
    let mut shift_g1 = |p: &[G1Affine], id: u32, what: &str| -> Result<()> {
        let rho = random_vec(p.len() - 1, rng);
        let hi = msm1(&p[1..], &rho);
        let lo = msm1(&p[..p.len() - 1], &rho);
        if Bn254::pairing(hi, g2) != Bn254::pairing(lo, t2) {
            return Err(refuted(id, what));
        }
        Ok(())
    };
    shift_g1(&tau_g1, 2, "tau in G1")?;
    shift_g1(&alpha_g1, 4, "alpha tau in G1")?;
    shift_g1(&beta_g1, 5, "beta tau in G1")?;
    let rho = random_vec(n - 1, rng);
    if Bn254::pairing(t1, msm2(&tau_g2[..n - 1], &rho)) != Bn254::pairing(g1, msm2(&tau_g2[1..], &rho)) {
        return Err(refuted(3, "tau in G2"));
    }
    // alpha and beta against tau: e([α]_1, [τ]_2)... only their ratio to the
    // tau powers is fixed by the file: [β]_2 must match [β]_1.
    if Bn254::pairing(beta_g1[0], g2) != Bn254::pairing(g1, beta_g2) {
        return Err(refuted(6, "beta in G2"));
    }
    // Lagrange sections: Σρ_i L_i = Σ c_j τ^j, c = ifft(ρ).
    let mut lagrange = |size: usize| -> Result<()> {
        let d = Domain::<Fr>::new(size).ok_or_else(|| Error::Internal(format!("no domain of {size}")))?;
        let first = (size - 1) as u64;
        let rho = random_vec(size, rng);
        let mut c = rho.clone();
        d.ifft(&mut c);
        let l1 = f.g1s(12, first, size, "tau in G1, Lagrange basis")?;
        if msm1(&l1, &rho) != msm1(&tau_g1[..size], &c) {
            return Err(refuted(12, "tau in G1, Lagrange basis"));
        }
        if size <= n {
            let l2 = f.g2s(13, first, size, "tau in G2, Lagrange basis")?;
            if msm2(&l2, &rho) != msm2(&tau_g2[..size], &c) {
                return Err(refuted(13, "tau in G2, Lagrange basis"));
            }
            let la = f.g1s(14, first, size, "alpha tau in G1, Lagrange basis")?;
            if msm1(&la, &rho) != msm1(&alpha_g1[..size], &c) {
                return Err(refuted(14, "alpha tau in G1, Lagrange basis"));
            }
            let lb = f.g1s(15, first, size, "beta tau in G1, Lagrange basis")?;
            if msm1(&lb, &rho) != msm1(&beta_g1[..size], &c) {
                return Err(refuted(15, "beta tau in G1, Lagrange basis"));
            }
        }
        Ok(())
    };
    lagrange(n)?;
    if tau_g1.len() >= 2 * n {
        lagrange(2 * n)?;
    }
    Ok(PtauInfo { power, ceremony_power })
}
