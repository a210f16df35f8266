//! Rank-1 constraint systems: `<A_i, z> * <B_i, z> = <C_i, z>` for every row i,
//! where z = (1, public..., private...) is the full assignment.
//!
//! Gadgets build constraints and assign values in the same call (see
//! `gadgets/`), so the constraint system always carries its witness. Setup
//! synthesises in structure-only mode ([`ConstraintSystem::structure_only`]),
//! with no input at all: the structure never depends on the values.

use ark_bn254::Fr;
use ark_ff::{One, Zero};
use sha2::{Digest, Sha256};
use std::ops::{Add, Mul, Neg, Sub};

use ark_ff::{BigInteger, PrimeField};

/// A variable. Public and private variables are numbered separately while the
/// circuit is built (public inputs are only known at the end, when outputs are
/// packed) and laid out as (One, public..., private...) at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Var {
    One,
    Public(u32),
    Private(u32),
}

/// A linear combination of variables with field coefficients.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lc(pub Vec<(Var, Fr)>);

impl Lc {
    pub fn zero() -> Self {
        Lc(Vec::new())
    }
    pub fn one() -> Self {
        Lc(vec![(Var::One, Fr::one())])
    }
    pub fn constant(c: Fr) -> Self {
        if c.is_zero() {
            Lc::zero()
        } else {
            Lc(vec![(Var::One, c)])
        }
    }
    pub fn var(v: Var) -> Self {
        Lc(vec![(v, Fr::one())])
    }
    pub fn term(v: Var, c: Fr) -> Self {
        Lc(vec![(v, c)])
    }
    pub fn push(&mut self, v: Var, c: Fr) {
        if !c.is_zero() {
            self.0.push((v, c));
        }
    }
    /// Merge repeated variables and drop zero coefficients, so a row never
    /// holds the same column twice.
    pub fn compact(mut self) -> Self {
        if self.0.len() < 2 {
            self.0.retain(|(_, c)| !c.is_zero());
            return self;
        }
        self.0.sort_by_key(|t| t.0);
        let mut out: Vec<(Var, Fr)> = Vec::with_capacity(self.0.len());
        for (v, c) in self.0 {
            match out.last_mut() {
                Some((lv, lc)) if *lv == v => *lc += c,
                _ => out.push((v, c)),
            }
        }
        out.retain(|(_, c)| !c.is_zero());
        Lc(out)
    }
}

impl From<Var> for Lc {
    fn from(v: Var) -> Self {
        Lc::var(v)
    }
}

impl Add<Lc> for Lc {
    type Output = Lc;
    fn add(mut self, rhs: Lc) -> Lc {
        self.0.extend(rhs.0);
        self
    }
}

impl Sub<Lc> for Lc {
    type Output = Lc;
    fn sub(self, rhs: Lc) -> Lc {
        self + (-rhs)
    }
}

impl Neg for Lc {
    type Output = Lc;
    fn neg(mut self) -> Lc {
        for (_, c) in self.0.iter_mut() {
            *c = -*c;
        }
        self
    }
}

impl Mul<Fr> for Lc {
    type Output = Lc;
    fn mul(mut self, k: Fr) -> Lc {
        if k.is_zero() {
            return Lc::zero();
        }
        for (_, c) in self.0.iter_mut() {
            *c *= k;
        }
        self
    }
}

/// A constraint system under construction, together with its assignment.
#[derive(Default)]
pub struct ConstraintSystem {
    public_values: Vec<Fr>,
    private_values: Vec<Fr>,
    rows: Vec<[Lc; 3]>,
    /// (first row, label) of each gadget region, for error messages.
    regions: Vec<(usize, String)>,
    /// Structure only (setup): every variable is assigned zero, whatever the
    /// gadget computed, and gadgets skip their honest-path range errors.
    structure_only: bool,
}

impl ConstraintSystem {
    pub fn new() -> Self {
        Self::default()
    }

    /// A system that records only the structure (which constraints over which
    /// variables): every witness value is zero, and gadgets neither evaluate
    /// on a made-up input nor report an out-of-range value. Setup uses it, so
    /// a model whose output at an all-zero input would leave its range still
    /// gets its keys; the structure is the same as an honest synthesis's.
    pub fn structure_only() -> Self {
        ConstraintSystem { structure_only: true, ..Self::default() }
    }

    /// Whether this system records structure only (see [`Self::structure_only`]).
    pub fn is_structure_only(&self) -> bool {
        self.structure_only
    }

    pub fn alloc_private(&mut self, value: Fr) -> Var {
        self.private_values.push(if self.structure_only { Fr::zero() } else { value });
        Var::Private((self.private_values.len() - 1) as u32)
    }

    pub fn alloc_public(&mut self, value: Fr) -> Var {
        self.public_values.push(if self.structure_only { Fr::zero() } else { value });
        Var::Public((self.public_values.len() - 1) as u32)
    }

    /// Number of private variables allocated so far (they are numbered
    /// `Var::Private(0..n)`).
    pub fn num_private(&self) -> usize {
        self.private_values.len()
    }

    /// Number of public variables allocated so far.
    pub fn num_public(&self) -> usize {
        self.public_values.len()
    }

    /// Enforce `a * b = c`.
    pub fn enforce(&mut self, a: Lc, b: Lc, c: Lc) {
        self.rows.push([a.compact(), b.compact(), c.compact()]);
    }

    /// Enforce `lc = 0` (as `lc * 1 = 0`).
    pub fn enforce_zero(&mut self, lc: Lc) {
        self.enforce(lc, Lc::one(), Lc::zero());
    }

    /// Name the rows added from now on (until the next call), for diagnostics.
    pub fn region(&mut self, label: impl Into<String>) {
        let label = label.into();
        let start = self.rows.len();
        if let Some(last) = self.regions.last_mut() {
            if last.0 == start {
                last.1 = label;
                return;
            }
        }
        self.regions.push((start, label));
    }

    pub fn value(&self, v: Var) -> Fr {
        match v {
            Var::One => Fr::one(),
            Var::Public(i) => self.public_values[i as usize],
            Var::Private(i) => self.private_values[i as usize],
        }
    }

    pub fn eval(&self, lc: &Lc) -> Fr {
        lc.0.iter().map(|(v, c)| self.value(*v) * c).sum()
    }

    pub fn num_constraints(&self) -> usize {
        self.rows.len()
    }

    /// Test hook: overwrite a variable's value (to build a malicious witness).
    pub fn set_value(&mut self, v: Var, value: Fr) {
        match v {
            Var::One => panic!("the constant one cannot be reassigned"),
            Var::Public(i) => self.public_values[i as usize] = value,
            Var::Private(i) => self.private_values[i as usize] = value,
        }
    }

    /// The first unsatisfied row, if any, evaluated directly on the builder.
    pub fn first_unsatisfied(&self) -> Option<usize> {
        self.rows.iter().position(|[a, b, c]| self.eval(a) * self.eval(b) != self.eval(c))
    }

    /// Lay the variables out as (One, public..., private...) and freeze the
    /// system into sparse matrices plus the full assignment.
    pub fn finish(self) -> (R1cs, Vec<Fr>) {
        let num_public = self.public_values.len();
        let index = |v: Var| -> u32 {
            match v {
                Var::One => 0,
                Var::Public(i) => 1 + i,
                Var::Private(i) => 1 + num_public as u32 + i,
            }
        };
        let mut a = Matrix::default();
        let mut b = Matrix::default();
        let mut c = Matrix::default();
        for [ra, rb, rc] in &self.rows {
            a.push_row(ra.0.iter().map(|(v, k)| (index(*v), *k)));
            b.push_row(rb.0.iter().map(|(v, k)| (index(*v), *k)));
            c.push_row(rc.0.iter().map(|(v, k)| (index(*v), *k)));
        }
        let mut assignment = Vec::with_capacity(1 + num_public + self.private_values.len());
        assignment.push(Fr::one());
        assignment.extend(self.public_values);
        assignment.extend(self.private_values);
        let r1cs = R1cs { num_public, num_variables: assignment.len(), a, b, c, regions: self.regions };
        (r1cs, assignment)
    }
}

/// A sparse matrix in compressed-row form.
#[derive(Clone, Debug, Default)]
pub struct Matrix {
    pub row_start: Vec<usize>,
    pub cols: Vec<u32>,
    pub vals: Vec<Fr>,
}

impl Matrix {
    fn push_row(&mut self, entries: impl Iterator<Item = (u32, Fr)>) {
        if self.row_start.is_empty() {
            self.row_start.push(0);
        }
        for (col, val) in entries {
            self.cols.push(col);
            self.vals.push(val);
        }
        self.row_start.push(self.cols.len());
    }

    pub fn num_rows(&self) -> usize {
        self.row_start.len().saturating_sub(1)
    }

    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, &Fr)> {
        let (s, e) = (self.row_start[i], self.row_start[i + 1]);
        self.cols[s..e].iter().map(|c| *c as usize).zip(self.vals[s..e].iter())
    }

    /// <row i, z>
    pub fn row_dot(&self, i: usize, z: &[Fr]) -> Fr {
        self.row(i).map(|(col, val)| z[col] * val).sum()
    }

    pub fn num_nonzeros(&self) -> usize {
        self.cols.len()
    }
}

/// A frozen R1CS. Variable 0 is the constant one, 1..=num_public are the
/// public inputs, the rest are private.
#[derive(Clone, Debug)]
pub struct R1cs {
    pub num_public: usize,
    pub num_variables: usize,
    pub a: Matrix,
    pub b: Matrix,
    pub c: Matrix,
    regions: Vec<(usize, String)>,
}

impl R1cs {
    pub fn num_constraints(&self) -> usize {
        self.a.num_rows()
    }

    /// The label of the gadget region that emitted `row`.
    pub fn label_of(&self, row: usize) -> &str {
        let i = self.regions.partition_point(|(start, _)| *start <= row);
        if i == 0 {
            "unlabelled"
        } else {
            &self.regions[i - 1].1
        }
    }

    /// Constraint count per region label, in order of first appearance.
    pub fn constraints_by_label(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for (k, (start, label)) in self.regions.iter().enumerate() {
            let end = self.regions.get(k + 1).map_or(self.num_constraints(), |r| r.0);
            match out.iter_mut().find(|(l, _)| l == label) {
                Some((_, n)) => *n += end - start,
                None => out.push((label.clone(), end - start)),
            }
        }
        out
    }

    pub fn first_unsatisfied(&self, z: &[Fr]) -> Option<usize> {
        (0..self.num_constraints()).find(|&i| self.a.row_dot(i, z) * self.b.row_dot(i, z) != self.c.row_dot(i, z))
    }

    /// A digest of the exact matrices, stored in the proving key so a key is
    /// never used with a circuit it was not made for.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"zkml-r1cs-v1");
        for n in [self.num_public, self.num_variables, self.num_constraints()] {
            h.update((n as u64).to_le_bytes());
        }
        for m in [&self.a, &self.b, &self.c] {
            for s in &m.row_start {
                h.update((*s as u64).to_le_bytes());
            }
            for c in &m.cols {
                h.update(c.to_le_bytes());
            }
            for v in &m.vals {
                h.update(v.into_bigint().to_bytes_le());
            }
        }
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_merges_repeated_variables_and_drops_zeros() {
        let x = Var::Private(0);
        let lc = (Lc::var(x) + Lc::term(x, Fr::from(2u64)) + Lc::var(Var::One) - Lc::var(Var::One)).compact();
        assert_eq!(lc, Lc::term(x, Fr::from(3u64)));
    }

    #[test]
    fn finish_lays_out_one_public_private() {
        let mut cs = ConstraintSystem::new();
        let a = cs.alloc_private(Fr::from(3u64));
        let b = cs.alloc_private(Fr::from(4u64));
        let p = cs.alloc_public(Fr::from(12u64));
        cs.region("mul");
        cs.enforce(a.into(), b.into(), p.into());
        let (r1cs, z) = cs.finish();
        assert_eq!(r1cs.num_public, 1);
        assert_eq!(z, vec![Fr::one(), Fr::from(12u64), Fr::from(3u64), Fr::from(4u64)]);
        assert_eq!(r1cs.first_unsatisfied(&z), None);
        let mut bad = z.clone();
        bad[1] = Fr::from(13u64);
        assert_eq!(r1cs.first_unsatisfied(&bad), Some(0));
        assert_eq!(r1cs.label_of(0), "mul");
    }
}
