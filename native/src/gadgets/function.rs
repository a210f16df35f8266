//! A piecewise-quadratic function of one value's integer: for x of `b` bits,
//! u = x + 2^(b-1) in [0, 2^b) splits into a segment h (its top `k` bits)
//! and an offset l (the other b - k bits), and
//!     acc = c0[h] + c1[h] l + c2[h] l^2,   y = floor(acc / 2^shift).
//!
//! Constraints: u's `b` bits (b booleans + 1 recomposition against x, so the
//! bits are x's own); each coefficient column c_j read as the multilinear
//! polynomial of the segment bits s_i, `c_j(h) = sum_S a_{j,S} prod_{i in S} s_i`,
//! whose monomials of degree >= 2 cost one product each (2^k - k - 1, shared
//! by the three columns) and whose sum is free; `l^2`, `c1(h) l` and
//! `c2(h) l^2` one constraint each; then the rescale (bits + shift + 2).
//! Nothing is a hint: every variable follows from x's bits. Program
//! validation keeps `|c0| + |c1| 2^(b-k) + |c2| 2^(2(b-k))` below 2^120, so
//! the rescale identity holds over the integers.

use ark_bn254::Fr;

use super::affine::{floor_value, rescale};
use super::range::{alloc_bits, recompose};
use super::{pow2, Value};
use crate::error::Result;
use crate::program::TensorSpec;
use crate::r1cs::{ConstraintSystem, Lc, Var};

/// A function's table, `[2^k, 3]` row-major (c0, c1, c2 per segment), with
/// the coefficients of its three columns as multilinear polynomials of the
/// segment bits (computed once per instruction).
pub struct Table<'a> {
    pub table: &'a [i64],
    pub k: u32,
    /// `multilinear[j][mask]`: the coefficient of `prod_{i in mask} s_i` in c_j.
    multilinear: [Vec<Fr>; 3],
}

impl<'a> Table<'a> {
    pub fn new(table: &'a [i64], k: u32) -> Self {
        let n = 1usize << k;
        assert_eq!(table.len(), 3 * n, "validated: the table is [2^k, 3]");
        let multilinear = [0, 1, 2].map(|j| {
            // Moebius transform over the subsets of the k segment bits:
            // a_S = sum_{T subset of S} (-1)^{|S \ T|} c(T). |a_S| < 2^(k+63).
            let mut a: Vec<i128> = (0..n).map(|h| table[3 * h + j] as i128).collect();
            for i in 0..k {
                for mask in 0..n {
                    if mask >> i & 1 == 1 {
                        a[mask] -= a[mask ^ (1 << i)];
                    }
                }
            }
            a.into_iter().map(Fr::from).collect()
        });
        Table { table, k, multilinear }
    }

    /// `c0[h] + c1[h] l + c2[h] l^2` for the offset input `u` of a `b`-bit value.
    pub fn value(&self, u: i128, b: u32) -> i128 {
        let seg = b - self.k;
        let (h, l) = ((u >> seg) as usize, u & ((1i128 << seg) - 1));
        let c = &self.table[3 * h..3 * h + 3];
        c[0] as i128 + c[1] as i128 * l + c[2] as i128 * (l * l)
    }
}

/// The constraints from x to the accumulator, as a linear combination. Every
/// variable allocated here follows from x's value.
fn accumulator(cs: &mut ConstraintSystem, x: &Value, b: u32, t: &Table) -> Lc {
    let k = t.k;
    let offset = pow2(b - 1);
    let u_val = cs.value(x.var) + offset;
    let u_bits = alloc_bits(cs, u_val, b);
    cs.enforce_zero(Lc::var(x.var) + Lc::constant(offset) - recompose(&u_bits));
    let (low, segment) = u_bits.split_at((b - k) as usize);
    let l = recompose(low);
    // Monomials prod_{i in mask} s_i: 1, the bits, then one product each.
    let n = 1usize << k;
    let mut monomial: Vec<Lc> = Vec::with_capacity(n);
    monomial.push(Lc::one());
    for mask in 1..n {
        let top = usize::BITS - 1 - mask.leading_zeros();
        let rest = mask ^ (1 << top);
        let bit = segment[top as usize];
        if rest == 0 {
            monomial.push(Lc::var(bit));
        } else {
            let v = cs.eval(&monomial[rest]) * cs.value(bit);
            let p = cs.alloc_private(v);
            cs.enforce(monomial[rest].clone(), Lc::var(bit), Lc::var(p));
            monomial.push(Lc::var(p));
        }
    }
    let column = |j: usize| {
        let mut lc = Lc(Vec::with_capacity(n));
        for (a, m) in t.multilinear[j].iter().zip(&monomial) {
            for (v, c) in &m.0 {
                lc.push(*v, *a * c);
            }
        }
        lc
    };
    let (c0, c1, c2) = (column(0), column(1), column(2));
    let l2_val = cs.eval(&l) * cs.eval(&l);
    let l2 = cs.alloc_private(l2_val);
    cs.enforce(l.clone(), l.clone(), Lc::var(l2));
    let p1_val = cs.eval(&c1) * cs.eval(&l);
    let p1 = cs.alloc_private(p1_val);
    cs.enforce(c1, l, Lc::var(p1));
    let p2_val = cs.eval(&c2) * l2_val;
    let p2 = cs.alloc_private(p2_val);
    cs.enforce(c2, Lc::var(l2), Lc::var(p2));
    c0 + Lc::var(p1) + Lc::var(p2)
}

/// The function with the witness values of its free variables (q and the
/// remainder; everything else follows from x) given explicitly, for
/// malicious-witness tests.
#[allow(clippy::too_many_arguments)]
pub fn function_with(
    cs: &mut ConstraintSystem,
    x: &Value,
    b: u32,
    table: &Table,
    shift: u32,
    bits: u32,
    q_val: Fr,
    rem_val: Fr,
) -> (Var, Lc) {
    let acc = accumulator(cs, x, b, table);
    rescale(cs, acc, q_val, rem_val, shift, bits)
}

/// y = floor((c0[h] + c1[h] l + c2[h] l^2) / 2^shift) for the `b`-bit value x,
/// range-checked to `out`'s bits; an out-of-range y is an error naming
/// `context` on the honest path (see [`floor_value`]).
pub fn function(
    cs: &mut ConstraintSystem,
    x: &Value,
    b: u32,
    table: &Table,
    shift: u32,
    out: &TensorSpec,
    context: &str,
) -> Result<Value> {
    let acc_val = table.value(x.val + (1i128 << (b - 1)), b);
    let acc = accumulator(cs, x, b, table);
    floor_value(cs, acc, acc_val, shift, out, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::gadgets::range::signed_value;

    fn spec(bits: u32) -> TensorSpec {
        TensorSpec { name: "y".into(), shape: vec![1], scale: 0, bits }
    }

    /// A table for b = 6, k = 2: four segments of 16 with distinct quadratics.
    const TABLE: [i64; 12] = [5, -3, 1, -100, 7, 0, 0, 0, -2, 1000, 1, 1];

    fn reference(x: i128) -> i128 {
        let u = x + 32;
        let (h, l) = ((u >> 4) as usize, u & 15);
        (TABLE[3 * h] as i128 + TABLE[3 * h + 1] as i128 * l + TABLE[3 * h + 2] as i128 * l * l).div_euclid(4)
    }

    #[test]
    fn honest_values_match_the_table_at_every_input() {
        let t = Table::new(&TABLE, 2);
        for x in -32..32 {
            let mut cs = ConstraintSystem::new();
            let xv = signed_value(&mut cs, x, 6);
            let rows = cs.num_constraints();
            let y = function(&mut cs, &xv, 6, &t, 2, &spec(16), "t").unwrap();
            assert_eq!(cs.num_constraints() - rows, (6 + 1) + (4 - 2 - 1) + 3 + (16 + 2 + 2));
            assert_eq!(y.val, reference(x), "x = {x}");
            assert_eq!(cs.first_unsatisfied(), None, "x = {x}");
        }
    }

    #[test]
    fn k_equal_to_b_is_a_plain_lookup_and_k_one_works() {
        // k = b = 3: every input its own segment, l = 0.
        let table: Vec<i64> = (0..8).flat_map(|h| [h * h - 7, 99, -99]).collect();
        let t = Table::new(&table, 3);
        for x in -4..4 {
            let mut cs = ConstraintSystem::new();
            let xv = signed_value(&mut cs, x, 3);
            let y = function(&mut cs, &xv, 3, &t, 0, &spec(8), "t").unwrap();
            assert_eq!(y.val, (x + 4) * (x + 4) - 7);
            assert_eq!(cs.first_unsatisfied(), None);
        }
        let t = Table::new(&[1, 2, 3, -4, -5, -6], 1);
        for x in -8..8 {
            let mut cs = ConstraintSystem::new();
            let xv = signed_value(&mut cs, x, 4);
            let y = function(&mut cs, &xv, 4, &t, 1, &spec(10), "t").unwrap();
            let (h, l) = (((x + 8) >> 3) as usize, (x + 8) & 7);
            let c = [[1i128, 2, 3], [-4, -5, -6]][h];
            assert_eq!(y.val, (c[0] + c[1] * l + c[2] * l * l).div_euclid(2));
            assert_eq!(cs.first_unsatisfied(), None);
        }
    }

    #[test]
    fn another_output_is_rejected() {
        let t = Table::new(&TABLE, 2);
        for x in [-32i128, -1, 0, 17, 31] {
            let u = x + 32;
            let (h, l) = ((u >> 4) as usize, u & 15);
            let acc = TABLE[3 * h] as i128 + TABLE[3 * h + 1] as i128 * l + TABLE[3 * h + 2] as i128 * l * l;
            for k in [1i128, -1, 3] {
                let q = acc.div_euclid(4) + k;
                let mut cs = ConstraintSystem::new();
                let xv = signed_value(&mut cs, x, 6);
                function_with(&mut cs, &xv, 6, &t, 2, 16, Fr::from(q), Fr::from(acc - 4 * q));
                assert!(cs.first_unsatisfied().is_some(), "x {x}: q + {k} accepted");
            }
        }
    }

    #[test]
    fn honest_path_reports_out_of_range() {
        let t = Table::new(&TABLE, 2);
        let mut cs = ConstraintSystem::new();
        let x = signed_value(&mut cs, 31, 6);
        // h = 3, l = 15: 1000 + 15 + 225 = 1240, / 4 = 310: not in 8 bits.
        let err = function(&mut cs, &x, 6, &t, 2, &spec(8), "instruction 1 (function)").unwrap_err();
        assert!(matches!(err, Error::OutOfRange(ref m) if m.contains("value 310 of tensor 'y'")), "{err}");
    }
}
