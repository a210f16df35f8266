//! iden3's `.r1cs` format (version 1), written from our constraint system so
//! that snarkjs (`r1cs info`, `zkey new`, `zkey verify`) reads zkml circuits.
//!
//! Section 1 (header): n8 = 32, r, the wire count, outputs, public inputs,
//! private inputs (u32 each), the label count (u64) and the constraint count
//! (u32). Section 2: per constraint, the linear combinations A, B and C, each
//! a u32 term count then (u32 wire, 32-byte coefficient) pairs. Section 3:
//! the label of each wire (u64). Wire 0 is the constant one and wires
//! 1..=l the public signals, as in our assignment; they are declared as
//! outputs (snarkjs only counts them: nPublic = outputs + public inputs).

use super::{r_le, BinWriter};
use crate::r1cs::{Matrix, R1cs};

fn lc(w: &mut BinWriter, m: &Matrix, row: usize) {
    let terms: Vec<_> = m.row(row).collect();
    w.u32(terms.len() as u32);
    for (col, coeff) in terms {
        w.u32(col as u32);
        w.fr(coeff);
    }
}

/// The bytes of `r1cs` as an `.r1cs` file.
pub fn to_bytes(r1cs: &R1cs) -> Vec<u8> {
    let mut w = BinWriter::new(b"r1cs", 1);
    w.section(1);
    w.u32(32);
    w.bytes(&r_le());
    w.u32(r1cs.num_variables as u32);
    w.u32(r1cs.num_public as u32);
    w.u32(0);
    w.u32(0);
    w.u64(r1cs.num_variables as u64);
    w.u32(r1cs.num_constraints() as u32);
    w.section(2);
    for row in 0..r1cs.num_constraints() {
        lc(&mut w, &r1cs.a, row);
        lc(&mut w, &r1cs.b, row);
        lc(&mut w, &r1cs.c, row);
    }
    w.section(3);
    for wire in 0..r1cs.num_variables as u64 {
        w.u64(wire);
    }
    w.finish()
}
