//! Every file format of keys, proofs and circuits, below the Groth16 code
//! (which never reaches up here): our proving-key file (`proving_key`),
//! snarkjs's JSON (`snarkjs`), and iden3's binary container with its
//! `.r1cs`, `.wtns` and `.zkey` files.
//!
//! The container: 4 magic bytes, a u32 version, a u32 section count, then
//! each section as a u32 id, a u64 byte length and its bytes (all little
//! endian). Field elements are 32-byte little-endian integers; points in
//! `.zkey` files are affine, each coordinate in Montgomery form (R = 2^256)
//! little endian ("LEM"), the point at infinity all zeros.

pub mod proving_key;
pub mod ptau;
pub mod r1cs;
pub mod snarkjs;
pub mod wtns;
pub mod zkey;

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField, Zero};

use crate::error::{Error, Result};

/// An iden3 binary file being written: sections appended in order.
pub struct BinWriter {
    out: Vec<u8>,
    sections: u32,
    open: Option<usize>,
}

impl BinWriter {
    pub fn new(magic: &[u8; 4], version: u32) -> Self {
        let mut out = Vec::new();
        out.extend_from_slice(magic);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        Self { out, sections: 0, open: None }
    }

    pub fn section(&mut self, id: u32) {
        self.close();
        self.out.extend_from_slice(&id.to_le_bytes());
        self.open = Some(self.out.len());
        self.out.extend_from_slice(&0u64.to_le_bytes());
        self.sections += 1;
    }

    fn close(&mut self) {
        if let Some(at) = self.open.take() {
            let len = (self.out.len() - at - 8) as u64;
            self.out[at..at + 8].copy_from_slice(&len.to_le_bytes());
        }
    }

    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    /// A field element as a 32-byte little-endian integer.
    pub fn fr(&mut self, x: &Fr) {
        self.out.extend_from_slice(&le_bytes(&x.into_bigint()));
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.close();
        self.out[8..12].copy_from_slice(&self.sections.to_le_bytes());
        self.out
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn le_bytes(b: &BigInt<4>) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in b.0.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&limb.to_le_bytes());
    }
    out
}

pub(crate) fn bigint_le(bytes: &[u8]) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        *limb = u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    }
    BigInt(limbs)
}

/// BN254's r, little endian (the header of `.r1cs` and `.wtns` files).
pub fn r_le() -> [u8; 32] {
    le_bytes(&Fr::MODULUS)
}

/// BN254's q, little endian (the header of `.zkey` files).
pub fn q_le() -> [u8; 32] {
    le_bytes(&Fq::MODULUS)
}

/// An iden3 binary file read whole: its sections by id (each id once).
pub struct BinFile<'a> {
    sections: Vec<(u32, &'a [u8])>,
    what: String,
}

impl<'a> BinFile<'a> {
    pub fn parse(data: &'a [u8], magic: &[u8; 4], max_version: u32, what: &str) -> Result<Self> {
        let bad = |why: String| Error::Format(format!("{what}: {why}"));
        if data.len() < 12 || &data[..4] != magic {
            return Err(bad(format!("not a {} file (wrong magic bytes)", String::from_utf8_lossy(magic))));
        }
        let version = u32::from_le_bytes(data[4..8].try_into().expect("4"));
        if version == 0 || version > max_version {
            return Err(bad(format!("version {version} is not supported (up to {max_version})")));
        }
        let count = u32::from_le_bytes(data[8..12].try_into().expect("4"));
        let mut at = 12usize;
        let mut sections = Vec::new();
        for _ in 0..count {
            if data.len() - at < 12 {
                return Err(bad("truncated section header".into()));
            }
            let id = u32::from_le_bytes(data[at..at + 4].try_into().expect("4"));
            let len = u64::from_le_bytes(data[at + 4..at + 12].try_into().expect("8"));
            at += 12;
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= data.len() - at)
                .ok_or_else(|| bad(format!("section {id} runs past the end of the file")))?;
            if sections.iter().any(|(i, _)| *i == id) {
                return Err(bad(format!("section {id} appears twice")));
            }
            sections.push((id, &data[at..at + len]));
            at += len;
        }
        if at != data.len() {
            return Err(bad(format!("{} bytes after the last section", data.len() - at)));
        }
        Ok(Self { sections, what: what.to_string() })
    }

    pub fn section(&self, id: u32) -> Result<Reader<'a>> {
        self.sections
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, b)| Reader { data: b, at: 0, what: format!("{} section {id}", self.what) })
            .ok_or_else(|| Error::Format(format!("{}: section {id} is missing", self.what)))
    }
}

/// A cursor over one section; every read is bounds-checked.
pub struct Reader<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) at: usize,
    pub(crate) what: String,
}

impl<'a> Reader<'a> {
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.data.len() - self.at {
            return Err(Error::Format(format!("{}: truncated", self.what)));
        }
        let out = &self.data[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.at
    }

    pub fn error(&self, why: impl std::fmt::Display) -> Error {
        Error::Format(format!("{}: {why}", self.what))
    }

    pub fn done(&self) -> Result<()> {
        if self.at != self.data.len() {
            return Err(self.error(format!("{} unexpected bytes at the end", self.data.len() - self.at)));
        }
        Ok(())
    }

    /// A 32-byte little-endian integer below r.
    pub fn fr(&mut self) -> Result<Fr> {
        let b = bigint_le(self.take(32)?);
        Fr::from_bigint(b).ok_or_else(|| self.error("a field element is not below r"))
    }

    /// A coordinate in Montgomery form, checked below q.
    fn fq_lem(&mut self) -> Result<Fq> {
        let b = bigint_le(self.take(32)?);
        if b >= Fq::MODULUS {
            return Err(self.error("a coordinate is not below q"));
        }
        Ok(Fq::new_unchecked(b))
    }

    /// An affine G1 point (LEM), checked on the curve (G1 has cofactor 1).
    pub fn g1(&mut self) -> Result<G1Affine> {
        let (x, y) = (self.fq_lem()?, self.fq_lem()?);
        if x.is_zero() && y.is_zero() {
            return Ok(G1Affine::zero());
        }
        let p = G1Affine::new_unchecked(x, y);
        if !p.is_on_curve() {
            return Err(self.error("a G1 point is not on the curve"));
        }
        Ok(p)
    }

    /// An affine G2 point (LEM), checked on the curve; the subgroup check is
    /// the caller's (batched in parallel).
    pub fn g2_unchecked_subgroup(&mut self) -> Result<G2Affine> {
        let x = Fq2::new(self.fq_lem()?, self.fq_lem()?);
        let y = Fq2::new(self.fq_lem()?, self.fq_lem()?);
        if x.is_zero() && y.is_zero() {
            return Ok(G2Affine::zero());
        }
        let p = G2Affine::new_unchecked(x, y);
        if !p.is_on_curve() {
            return Err(self.error("a G2 point is not on the curve"));
        }
        Ok(p)
    }

    /// [`Reader::g2_unchecked_subgroup`] plus the subgroup check.
    pub fn g2(&mut self) -> Result<G2Affine> {
        let p = self.g2_unchecked_subgroup()?;
        if !p.is_in_correct_subgroup_assuming_on_curve() {
            return Err(self.error("a G2 point is outside the prime-order subgroup"));
        }
        Ok(p)
    }
}

/// Writes an affine G1 point in LEM form.
pub fn put_g1(w: &mut BinWriter, p: &G1Affine) {
    match p.xy() {
        None => w.bytes(&[0u8; 64]),
        Some((x, y)) => {
            w.bytes(&le_bytes(&x.0));
            w.bytes(&le_bytes(&y.0));
        }
    }
}

/// Writes an affine G2 point in LEM form.
pub fn put_g2(w: &mut BinWriter, p: &G2Affine) {
    match p.xy() {
        None => w.bytes(&[0u8; 128]),
        Some((x, y)) => {
            for c in [x.c0, x.c1, y.c0, y.c1] {
                w.bytes(&le_bytes(&c.0));
            }
        }
    }
}
