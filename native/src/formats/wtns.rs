//! iden3's `.wtns` format (version 2): section 1 holds n8 = 32, r and the
//! witness length; section 2 the assignment z (one, public..., private...),
//! each value a 32-byte little-endian integer. `snarkjs wtns check` and
//! `groth16 prove` read it beside our `.r1cs` / `.zkey`.

use ark_bn254::Fr;

use super::{r_le, BinFile, BinWriter};
use crate::error::{Error, Result};

pub fn to_bytes(z: &[Fr]) -> Vec<u8> {
    let mut w = BinWriter::new(b"wtns", 2);
    w.section(1);
    w.u32(32);
    w.bytes(&r_le());
    w.u32(z.len() as u32);
    w.section(2);
    for x in z {
        w.fr(x);
    }
    w.finish()
}

pub fn from_bytes(data: &[u8]) -> Result<Vec<Fr>> {
    let file = BinFile::parse(data, b"wtns", 2, "witness file")?;
    let mut h = file.section(1)?;
    if h.u32()? != 32 || h.take(32)? != r_le() {
        return Err(Error::Format("witness file: not over BN254's scalar field".into()));
    }
    let n = h.u32()? as usize;
    let mut s = file.section(2)?;
    if s.remaining() != 32 * n {
        return Err(s.error(format!("{} bytes for {n} values", s.remaining())));
    }
    (0..n).map(|_| s.fr()).collect()
}
