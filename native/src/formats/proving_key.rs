//! zkml's proving-key file: 8 magic bytes (format version in the last two),
//! the circuit hash, the constraint-system digest, the SHA-256 of the body,
//! then the body: the [`ProvingKey`] in arkworks' uncompressed serialisation.

use ark_bn254::{G1Affine, G2Affine};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

use super::hex;
use crate::error::Error;
use crate::groth16::ProvingKey;

/// Version 2: the H query in the Lagrange basis of the odd coset (snarkjs's
/// layout); version 1 held it in the power basis.
const PK_MAGIC: &[u8; 8] = b"ZKMLPK\x00\x02";
const PK_MAGIC_V1: &[u8; 8] = b"ZKMLPK\x00\x01";

/// Header of a proving-key file: what it was made for.
pub struct KeyHeader {
    pub circuit_hash: [u8; 32],
    pub r1cs_digest: [u8; 32],
}

/// Write `pk` atomically: a temporary file beside `path`, fsync, rename. A
/// failure leaves no partial key behind.
pub fn write_proving_key(path: &Path, header: &KeyHeader, pk: &ProvingKey) -> crate::error::Result<()> {
    let mut body = Vec::with_capacity(pk.uncompressed_size());
    pk.serialize_uncompressed(&mut body).map_err(|e| Error::Internal(format!("serialising the proving key: {e}")))?;
    let body_hash: [u8; 32] = Sha256::digest(&body).into();
    crate::io::write_atomic(path, |f| {
        f.write_all(PK_MAGIC)?;
        f.write_all(&header.circuit_hash)?;
        f.write_all(&header.r1cs_digest)?;
        f.write_all(&body_hash)?;
        f.write_all(&body)
    })
}

/// Read a proving key and check that it belongs to `expected`.
pub fn read_proving_key(path: &Path, expected: &KeyHeader) -> crate::error::Result<ProvingKey> {
    let (pk, r1cs_digest) = read_proving_key_for(path, &expected.circuit_hash)?;
    check_r1cs_digest(path, &r1cs_digest, &expected.r1cs_digest)?;
    Ok(pk)
}

/// The key's constraint-system digest must be `expected`: a key made by
/// another zkml version's synthesis for the same program cannot prove.
pub fn check_r1cs_digest(path: &Path, found: &[u8; 32], expected: &[u8; 32]) -> crate::error::Result<()> {
    if found != expected {
        return Err(Error::Mismatch(format!(
            "proving key {} was made for a different constraint system (another zkml version?); run setup again",
            path.display()
        )));
    }
    Ok(())
}

/// [`read_proving_key`] checking only the circuit hash; returns the key and
/// the constraint-system digest it was made for, for the caller to compare
/// with [`check_r1cs_digest`] once it has synthesised the circuit anyway.
pub fn read_proving_key_for(path: &Path, circuit: &[u8; 32]) -> crate::error::Result<(ProvingKey, [u8; 32])> {
    let data = std::fs::read(path).map_err(|e| Error::io(format!("cannot read proving key {}", path.display()), e))?;
    let bad = |what: &str| Error::Format(format!("{} is not a valid zkml proving key: {what}", path.display()));
    if data.len() >= 8 && &data[..8] == PK_MAGIC_V1 {
        return Err(Error::Format(format!(
            "proving key {} was made by an older zkml (key format 1); run setup again",
            path.display()
        )));
    }
    if data.len() < 8 + 96 || &data[..8] != PK_MAGIC {
        return Err(bad("wrong magic bytes or truncated"));
    }
    let circuit_hash = &data[8..40];
    let r1cs_digest = &data[40..72];
    let body_hash = &data[72..104];
    let body = &data[104..];
    if circuit_hash != circuit {
        return Err(Error::Mismatch(format!(
            "proving key {} was made for circuit {}, not {}",
            path.display(),
            hex(circuit_hash),
            hex(circuit)
        )));
    }
    let r1cs_digest: [u8; 32] = r1cs_digest.try_into().expect("32 bytes");
    if Sha256::digest(body).as_slice() != body_hash {
        return Err(bad("checksum mismatch (the file is corrupted)"));
    }
    // Every length prefix is checked against the bytes that follow it before
    // anything is allocated: a forged count (checksum recomputed) must be an
    // error, not an allocation failure that aborts the process.
    check_layout(body).map_err(|what| bad(&what))?;
    // The checksum vouches for the bytes we wrote ourselves, so the (slow) curve
    // and subgroup checks on every point are skipped.
    let pk = ProvingKey::deserialize_uncompressed_unchecked(body).map_err(|e| bad(&e.to_string()))?;
    Ok((pk, r1cs_digest))
}

/// Walks the uncompressed layout of a [`ProvingKey`] (fields in declaration
/// order, each `Vec` as a u64 count then its items) and checks that every
/// count fits in the bytes left and that nothing is left over.
fn check_layout(body: &[u8]) -> std::result::Result<(), String> {
    struct Walk<'a> {
        body: &'a [u8],
        offset: usize,
    }
    impl Walk<'_> {
        fn skip(&mut self, bytes: usize, what: &str) -> std::result::Result<(), String> {
            if bytes > self.body.len() - self.offset {
                return Err(format!("truncated in {what}"));
            }
            self.offset += bytes;
            Ok(())
        }
        fn vector(&mut self, item: usize, what: &str) -> std::result::Result<(), String> {
            let count: [u8; 8] = self
                .body
                .get(self.offset..self.offset + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("truncated at the length of {what}"))?;
            self.offset += 8;
            let count = u64::from_le_bytes(count);
            let bytes = usize::try_from(count)
                .ok()
                .and_then(|c| c.checked_mul(item))
                .filter(|&b| b <= self.body.len() - self.offset)
                .ok_or_else(|| format!("{what} claims {count} points, more than the file holds"))?;
            self.offset += bytes;
            Ok(())
        }
    }
    let g1 = G1Affine::default().uncompressed_size();
    let g2 = G2Affine::default().uncompressed_size();
    let mut walk = Walk { body, offset: 0 };
    walk.skip(g1 + 3 * g2, "the verifying key")?;
    walk.vector(g1, "IC")?;
    walk.skip(2 * g1, "beta_g1 and delta_g1")?;
    for (item, what) in [(g1, "a_query"), (g1, "b_g1_query"), (g2, "b_g2_query"), (g1, "h_query"), (g1, "l_query")] {
        walk.vector(item, what)?;
    }
    walk.skip(8, "the domain size")?;
    if walk.offset != body.len() {
        return Err(format!("{} bytes left over after the key", body.len() - walk.offset));
    }
    Ok(())
}
