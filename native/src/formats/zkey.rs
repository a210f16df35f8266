//! snarkjs's Groth16 `.zkey` format (version 1), both ways.
//!
//! Sections: 1 the protocol (1 = Groth16); 2 the header (n8q, q, n8r, r, the
//! variable count, the public count, the domain size, then [alpha]_1,
//! [beta]_1, [beta]_2, [gamma]_2, [delta]_1, [delta]_2); 3 IC; 4 the
//! coefficients of A and B the prover evaluates (u32 matrix, u32 row, u32
//! signal, then the coefficient times R^2 as a 32-byte integer; every
//! constraint's A terms then its B terms, then one A term per instance row);
//! 5 A, 6 B in G1, 7 B in G2, 8 C (snarkjs's name for our L query), 9 H;
//! 10 the phase-2 transcript (a 64-byte circuit hash, then the
//! contributions). The QAP domain, the instance rows and the H query's basis
//! are the same as ours (see `groth16::r1cs_to_qap`), so a key moves between
//! the two formats point for point.

use ark_bn254::{Fr, G1Affine, G2Affine};
use ark_ff::{Field, One, PrimeField};
use rayon::prelude::*;

use super::{le_bytes, put_g1, put_g2, q_le, r_le, BinFile, BinWriter, Reader};
use crate::error::{Error, Result};
use crate::groth16::{ProvingKey, VerifyingKey};
use crate::r1cs::R1cs;

/// One phase-2 contribution as the transcript names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// The contributor's name, if given.
    pub name: String,
    /// "contribution" or "beacon".
    pub kind: String,
}

/// What a `.zkey` holds beside the key.
pub struct ZkeyExtras {
    /// Section 10 as read, to write back unchanged.
    pub transcript: Vec<u8>,
    pub contributions: Vec<Contribution>,
}

/// R^2 mod r, by which snarkjs scales the coefficients of section 4.
fn r_squared() -> Fr {
    let r = Fr::from_bigint(Fr::R).expect("R mod r");
    r.square()
}

/// Section 4's bytes for `r1cs`: what snarkjs's `zkey new` writes.
fn coefficients(r1cs: &R1cs) -> Vec<u8> {
    let r2 = r_squared();
    let m = r1cs.num_constraints();
    let mut out = Vec::new();
    let mut count = 0u32;
    let mut put = |out: &mut Vec<u8>, matrix: u32, row: usize, signal: usize, coeff: Fr| {
        out.extend_from_slice(&matrix.to_le_bytes());
        out.extend_from_slice(&(row as u32).to_le_bytes());
        out.extend_from_slice(&(signal as u32).to_le_bytes());
        out.extend_from_slice(&le_bytes(&(coeff * r2).into_bigint()));
        count += 1;
    };
    for row in 0..m {
        for (col, c) in r1cs.a.row(row) {
            put(&mut out, 0, row, col, *c);
        }
        for (col, c) in r1cs.b.row(row) {
            put(&mut out, 1, row, col, *c);
        }
    }
    for s in 0..=r1cs.num_public {
        put(&mut out, 0, m + s, s, Fr::one());
    }
    let mut section = count.to_le_bytes().to_vec();
    section.extend_from_slice(&out);
    section
}

/// A transcript with no contributions (a key made by `zkml setup --dev`:
/// its circuit hash is zero, so `snarkjs zkey verify` refuses it, as it
/// should, while `groth16 prove` uses it).
fn empty_transcript() -> Vec<u8> {
    let mut t = vec![0u8; 64];
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

/// `pk` for `r1cs` as a `.zkey`; `transcript` is section 10 (an imported
/// key's, kept), or none for a key of our own setup.
pub fn to_bytes(pk: &ProvingKey, r1cs: &R1cs, transcript: Option<&[u8]>) -> Result<Vec<u8>> {
    let n_public = r1cs.num_public;
    if pk.a_query.len() != r1cs.num_variables || pk.vk.gamma_abc_g1.len() != n_public + 1 {
        return Err(Error::Mismatch("the proving key does not fit this constraint system".into()));
    }
    let mut w = BinWriter::new(b"zkey", 1);
    w.section(1);
    w.u32(1);
    w.section(2);
    w.u32(32);
    w.bytes(&q_le());
    w.u32(32);
    w.bytes(&r_le());
    w.u32(r1cs.num_variables as u32);
    w.u32(n_public as u32);
    w.u32(pk.domain_size as u32);
    put_g1(&mut w, &pk.vk.alpha_g1);
    put_g1(&mut w, &pk.beta_g1);
    put_g2(&mut w, &pk.vk.beta_g2);
    put_g2(&mut w, &pk.vk.gamma_g2);
    put_g1(&mut w, &pk.delta_g1);
    put_g2(&mut w, &pk.vk.delta_g2);
    w.section(3);
    pk.vk.gamma_abc_g1.iter().for_each(|p| put_g1(&mut w, p));
    w.section(4);
    w.bytes(&coefficients(r1cs));
    w.section(5);
    pk.a_query.iter().for_each(|p| put_g1(&mut w, p));
    w.section(6);
    pk.b_g1_query.iter().for_each(|p| put_g1(&mut w, p));
    w.section(7);
    pk.b_g2_query.iter().for_each(|p| put_g2(&mut w, p));
    w.section(8);
    pk.l_query.iter().for_each(|p| put_g1(&mut w, p));
    w.section(9);
    pk.h_query.iter().for_each(|p| put_g1(&mut w, p));
    w.section(10);
    w.bytes(transcript.unwrap_or(&empty_transcript()));
    Ok(w.finish())
}

fn g1s(mut s: Reader, n: usize) -> Result<Vec<G1Affine>> {
    if s.remaining() != 64 * n {
        return Err(s.error(format!("{} bytes for {n} G1 points", s.remaining())));
    }
    let raw = s.take(64 * n)?;
    raw.par_chunks(64)
        .map(|c| {
            let mut r = Reader { data: c, at: 0, what: "a G1 point".into() };
            r.g1()
        })
        .collect()
}

fn g2s(mut s: Reader, n: usize) -> Result<Vec<G2Affine>> {
    if s.remaining() != 128 * n {
        return Err(s.error(format!("{} bytes for {n} G2 points", s.remaining())));
    }
    let raw = s.take(128 * n)?;
    raw.par_chunks(128)
        .map(|c| {
            let mut r = Reader { data: c, at: 0, what: "a G2 point".into() };
            r.g2()
        })
        .collect()
}

fn contributions(mut s: Reader) -> Result<Vec<Contribution>> {
    s.take(64)?;
    let n = s.u32()?;
    let mut out = Vec::new();
    for _ in 0..n {
        s.take(64 * 3 + 128 + 64)?;
        let kind = match s.u32()? {
            0 => "contribution",
            1 => "beacon",
            t => return Err(s.error(format!("unknown contribution type {t}"))),
        };
        let len = s.u32()? as usize;
        let params = s.take(len)?;
        let mut name = String::new();
        let mut i = 0;
        let truncated = || s.error("truncated contribution parameters");
        while i < params.len() {
            let tag = params[i];
            let byte = *params.get(i + 1).ok_or_else(truncated)? as usize;
            if tag == 2 {
                // the beacon's iteration exponent: one byte, no length
                i += 2;
                continue;
            }
            let value = params.get(i + 2..i + 2 + byte).ok_or_else(truncated)?;
            if tag == 1 {
                name = String::from_utf8_lossy(value).into_owned();
            }
            i += 2 + byte;
        }
        out.push(Contribution { name, kind: kind.into() });
    }
    s.done()?;
    Ok(out)
}

/// Section 10 (the phase-2 transcript) of a `.zkey`, as bytes.
pub fn transcript_of(data: &[u8]) -> Result<Vec<u8>> {
    let file = BinFile::parse(data, b"zkey", 1, "zkey")?;
    let mut t = file.section(10)?;
    contributions(file.section(10)?)?;
    Ok(t.take(t.remaining())?.to_vec())
}

/// Reads a `.zkey` made for `r1cs` (by snarkjs, or exported by zkml): the
/// header must match the system's sizes and section 4 must be exactly the
/// coefficients of its A and B, so a key for another circuit (other weights
/// included) is refused. Every point is checked on the curve, G2 points in
/// the subgroup. Whether the points were *derived* from this circuit and a
/// powers-of-tau is what `snarkjs zkey verify` checks (`ceremony verify`).
pub fn from_bytes(data: &[u8], r1cs: &R1cs, domain_size: usize) -> Result<(ProvingKey, ZkeyExtras)> {
    let file = BinFile::parse(data, b"zkey", 1, "zkey")?;
    let mut s = file.section(1)?;
    if s.u32()? != 1 {
        return Err(Error::Format("zkey: not a Groth16 key".into()));
    }
    let mut h = file.section(2)?;
    if h.u32()? != 32 || h.take(32)? != q_le() || h.u32()? != 32 || h.take(32)? != r_le() {
        return Err(Error::Format("zkey: not a BN254 key".into()));
    }
    let (n_vars, n_public, n) = (h.u32()? as usize, h.u32()? as usize, h.u32()? as usize);
    let mismatch = |what: &str, found: usize, want: usize| {
        Error::Mismatch(format!("the zkey was made for another circuit: {found} {what}, this circuit has {want}"))
    };
    if n_vars != r1cs.num_variables {
        return Err(mismatch("variables", n_vars, r1cs.num_variables));
    }
    if n_public != r1cs.num_public {
        return Err(mismatch("public signals", n_public, r1cs.num_public));
    }
    if n != domain_size {
        return Err(mismatch("domain points", n, domain_size));
    }
    let alpha_g1 = h.g1()?;
    let beta_g1 = h.g1()?;
    let beta_g2 = h.g2()?;
    let gamma_g2 = h.g2()?;
    let delta_g1 = h.g1()?;
    let delta_g2 = h.g2()?;
    h.done()?;
    let mut c = file.section(4)?;
    if c.take(c.remaining())? != coefficients(r1cs).as_slice() {
        return Err(Error::Mismatch(
            "the zkey was made for another circuit: its constraint coefficients differ from this circuit's (other weights?)".into(),
        ));
    }
    let pk = ProvingKey {
        vk: VerifyingKey { alpha_g1, beta_g2, gamma_g2, delta_g2, gamma_abc_g1: g1s(file.section(3)?, n_public + 1)? },
        beta_g1,
        delta_g1,
        a_query: g1s(file.section(5)?, n_vars)?,
        b_g1_query: g1s(file.section(6)?, n_vars)?,
        b_g2_query: g2s(file.section(7)?, n_vars)?,
        l_query: g1s(file.section(8)?, n_vars - n_public - 1)?,
        h_query: g1s(file.section(9)?, n)?,
        domain_size: n as u64,
    };
    let mut t = file.section(10)?;
    let transcript = t.take(t.remaining())?.to_vec();
    let contributions = contributions(file.section(10)?)?;
    Ok((pk, ZkeyExtras { transcript, contributions }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groth16::generate_parameters;
    use crate::r1cs::{ConstraintSystem, Lc};
    use rand::SeedableRng;

    fn system(weight: u64) -> R1cs {
        let mut cs = ConstraintSystem::new();
        let x = cs.alloc_private(Fr::from(3u64));
        let y = cs.alloc_public(Fr::from(9u64 * weight));
        cs.enforce(Lc::term(x, Fr::from(weight)), Lc::var(x), Lc::var(y));
        cs.finish().0
    }

    #[test]
    fn a_key_round_trips_through_the_zkey_format_and_another_circuits_is_refused() {
        let r1cs = system(1);
        let domain = crate::groth16::r1cs_to_qap::domain_for(&r1cs).unwrap();
        let pk = generate_parameters(&r1cs, &mut rand_chacha::ChaCha20Rng::seed_from_u64(1)).unwrap();
        let bytes = to_bytes(&pk, &r1cs, None).unwrap();
        let (back, extras) = from_bytes(&bytes, &r1cs, domain.size).unwrap();
        assert_eq!(back, pk);
        assert!(extras.contributions.is_empty());
        // Same shape, another coefficient (another weight): refused.
        let err = from_bytes(&bytes, &system(2), domain.size).err().unwrap();
        assert!(matches!(err, Error::Mismatch(_)) && err.to_string().contains("coefficients"), "{err}");
        // A point moved off the curve: refused.
        let mut bad = bytes.clone();
        let at = bytes.len() - 64 - 68; // inside the last H point
        bad[at] ^= 1;
        assert!(from_bytes(&bad, &r1cs, domain.size).is_err());
        // Truncated: refused, not a panic.
        assert!(from_bytes(&bytes[..bytes.len() / 2], &r1cs, domain.size).is_err());
    }
}
