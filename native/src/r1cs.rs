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
    /// Witness only (proving): rows are not stored; each row's values
    /// `<a, z>`, `<b, z>`, `<c, z>` are recorded instead (see
    /// [`Self::witness_only`]).
    witness: Option<Box<WitnessMode>>,
    /// Counting only (circuit statistics): rows are counted, with their
    /// matrix entries, and dropped (see [`Self::counting`]).
    counting: Option<Counted>,
}

/// What a counting system keeps instead of its rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counted {
    rows: usize,
    nonzeros: usize,
}

/// The statistics of a constraint system, without its matrices
/// ([`ConstraintSystem::finish_counts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    pub num_public: usize,
    /// All variables, the constant one included (as [`R1cs::num_variables`]).
    pub num_variables: usize,
    pub num_constraints: usize,
    /// Matrix entries of A, B and C together.
    pub nonzeros: usize,
    /// Constraints per region label (as [`R1cs::constraints_by_label`]).
    pub by_label: Vec<(String, usize)>,
}

/// What a witness-only system keeps instead of its rows.
struct WitnessMode {
    /// `<A_i, z>`, `<B_i, z>`, `<C_i, z>` of every row so far, in row order.
    values: [Vec<Fr>; 3],
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

    /// [`Self::structure_only`] that keeps no rows: each is counted, with
    /// its matrix entries (its compacted terms), and dropped. What the
    /// circuit's statistics need (`zkml compile`, `zkml estimate`), in
    /// memory for the variables only: a layer's rows, whose terms are its
    /// weights, are never held.
    pub fn counting() -> Self {
        ConstraintSystem { structure_only: true, counting: Some(Counted::default()), ..Self::default() }
    }

    /// Whether this system records structure only (see [`Self::structure_only`]).
    pub fn is_structure_only(&self) -> bool {
        self.structure_only
    }

    /// A system that keeps the assignment and, instead of its rows, each
    /// row's values `<A_i, z>`, `<B_i, z>`, `<C_i, z>` (what the QAP starts
    /// from), evaluated when the row is enforced: every gadget assigns its
    /// variables before it uses them. `rows_hint` reserves room for that
    /// many row values (the QAP domain's size).
    pub fn witness_only(rows_hint: usize) -> Self {
        let values = std::array::from_fn(|_| Vec::with_capacity(rows_hint));
        ConstraintSystem { witness: Some(Box::new(WitnessMode { values })), ..Self::default() }
    }

    /// Whether gadgets must hand [`Self::enforce`] the rows' exact linear
    /// combinations. `false` in a witness-only system: there only a row's
    /// value matters, so a gadget that knows it (an accumulator's integer
    /// value) may pass it as a constant instead of a combination of
    /// millions of terms.
    pub fn needs_structure(&self) -> bool {
        self.witness.is_none()
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
        if self.witness.is_some() {
            return self.record(a, b, c);
        }
        if let Some(counted) = &mut self.counting {
            counted.rows += 1;
            counted.nonzeros += a.compact().0.len() + b.compact().0.len() + c.compact().0.len();
            return;
        }
        self.rows.push([a.compact(), b.compact(), c.compact()]);
    }

    /// Enforce `known + rest = 0` where the gadget knows `known`'s value
    /// exactly (an accumulator's integer value: `known_value`). The row is
    /// the one [`Self::enforce_zero`] of the sum makes; a witness-only system
    /// records its value as `known_value + <rest, z>` without evaluating
    /// `known`'s terms (a layer's millions of weights). The row values are
    /// checked against the matrices' products by the synthesis tests.
    pub fn enforce_zero_known(&mut self, known: Lc, known_value: Fr, rest: Lc) {
        if self.witness.is_none() {
            return self.enforce_zero(known + rest);
        }
        let value = known_value + self.eval(&rest);
        self.record_values([value, Fr::one(), Fr::zero()]);
    }

    /// [`Self::enforce`] in a witness-only system: the row's values.
    fn record(&mut self, a: Lc, b: Lc, c: Lc) {
        let values = [self.eval(&a), self.eval(&b), self.eval(&c)];
        self.record_values(values);
    }

    fn record_values(&mut self, values: [Fr; 3]) {
        let w = self.witness.as_mut().expect("witness-only");
        for (v, x) in w.values.iter_mut().zip(values) {
            v.push(x);
        }
    }

    /// Enforce `lc = 0` (as `lc * 1 = 0`).
    pub fn enforce_zero(&mut self, lc: Lc) {
        self.enforce(lc, Lc::one(), Lc::zero());
    }

    /// Name the rows added from now on (until the next call), for diagnostics.
    pub fn region(&mut self, label: impl Into<String>) {
        let label = label.into();
        let start = self.num_constraints();
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
        if let Some(counted) = &self.counting {
            return counted.rows;
        }
        match &self.witness {
            Some(w) => w.values[0].len(),
            None => self.rows.len(),
        }
    }

    /// Test hook: overwrite a variable's value (to build a malicious witness).
    /// A witness-only system's rows already recorded keep the values they
    /// were recorded with.
    pub fn set_value(&mut self, v: Var, value: Fr) {
        match v {
            Var::One => panic!("the constant one cannot be reassigned"),
            Var::Public(i) => self.public_values[i as usize] = value,
            Var::Private(i) => self.private_values[i as usize] = value,
        }
    }

    /// The first unsatisfied row, if any, evaluated directly on the builder
    /// (on the recorded values in a witness-only system: they are the
    /// values at the time each row was enforced).
    pub fn first_unsatisfied(&self) -> Option<usize> {
        match &self.witness {
            Some(w) => first_unsatisfied_values(&w.values),
            None => self.rows.iter().position(|[a, b, c]| self.eval(a) * self.eval(b) != self.eval(c)),
        }
    }

    /// The assignment (One, public..., private...) and each row's values of
    /// a witness-only system ([`Self::witness_only`]).
    ///
    /// Panics on a system that is not witness-only.
    pub fn finish_rows(self) -> WitnessRows {
        let w = *self.witness.expect("finish_rows needs a witness-only system");
        let num_public = self.public_values.len();
        let mut assignment = Vec::with_capacity(1 + num_public + self.private_values.len());
        assignment.push(Fr::one());
        assignment.extend(self.public_values);
        assignment.extend(self.private_values);
        WitnessRows { num_public, assignment, rows: w.values, regions: Regions(self.regions) }
    }

    /// Lay the variables out as (One, public..., private...) and freeze the
    /// system into sparse matrices plus the full assignment.
    ///
    /// Panics on a witness-only system (see [`Self::finish_rows`]).
    /// The statistics of a [`Self::counting`] system.
    pub fn finish_counts(self) -> Counts {
        let counted = self.counting.expect("a counting system: see ConstraintSystem::counting");
        let num_public = self.public_values.len();
        Counts {
            num_public,
            num_variables: 1 + num_public + self.private_values.len(),
            num_constraints: counted.rows,
            nonzeros: counted.nonzeros,
            by_label: Regions(self.regions).by_label(counted.rows),
        }
    }

    pub fn finish(self) -> (R1cs, Vec<Fr>) {
        assert!(self.witness.is_none(), "a witness-only system has no matrices: use finish_rows");
        assert!(self.counting.is_none(), "a counting system has no matrices: use finish_counts");
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
        let r1cs = R1cs { num_public, num_variables: assignment.len(), a, b, c, regions: Regions(self.regions) };
        (r1cs, assignment)
    }
}

/// The first row `i` with `a_i * b_i != c_i`.
fn first_unsatisfied_values([a, b, c]: &[Vec<Fr>; 3]) -> Option<usize> {
    use rayon::prelude::*;
    (0..a.len()).into_par_iter().find_first(|&i| a[i] * b[i] != c[i])
}

/// (first row, label) of each gadget region, in row order.
#[derive(Clone, Debug, Default)]
struct Regions(Vec<(usize, String)>);

impl Regions {
    /// Rows per label over `rows` rows, labels in order of first use.
    fn by_label(&self, rows: usize) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for (k, (start, label)) in self.0.iter().enumerate() {
            let end = self.0.get(k + 1).map_or(rows, |r| r.0);
            match out.iter_mut().find(|(l, _)| l == label) {
                Some((_, n)) => *n += end - start,
                None => out.push((label.clone(), end - start)),
            }
        }
        out
    }

    fn label_of(&self, row: usize) -> &str {
        let i = self.0.partition_point(|(start, _)| *start <= row);
        if i == 0 {
            "unlabelled"
        } else {
            &self.0[i - 1].1
        }
    }
}

/// A witness-only synthesis ([`ConstraintSystem::witness_only`]): the full
/// assignment and, for each constraint row i, `<A_i, z>`, `<B_i, z>` and
/// `<C_i, z>`: the QAP's row evaluations, without the matrices.
#[derive(Clone, Debug)]
pub struct WitnessRows {
    pub num_public: usize,
    /// (1, public..., private...), as [`ConstraintSystem::finish`] lays it out.
    pub assignment: Vec<Fr>,
    /// The values of A·z, B·z, C·z, one per constraint, in row order.
    pub rows: [Vec<Fr>; 3],
    regions: Regions,
}

impl WitnessRows {
    pub fn num_constraints(&self) -> usize {
        self.rows[0].len()
    }

    pub fn num_variables(&self) -> usize {
        self.assignment.len()
    }

    /// The label of the gadget region that emitted `row`.
    pub fn label_of(&self, row: usize) -> &str {
        self.regions.label_of(row)
    }

    /// The first row whose values break `a * b = c`, if any.
    pub fn first_unsatisfied(&self) -> Option<usize> {
        first_unsatisfied_values(&self.rows)
    }

    pub fn public_inputs(&self) -> &[Fr] {
        &self.assignment[1..=self.num_public]
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
    regions: Regions,
}

impl R1cs {
    pub fn num_constraints(&self) -> usize {
        self.a.num_rows()
    }

    /// The label of the gadget region that emitted `row`.
    pub fn label_of(&self, row: usize) -> &str {
        self.regions.label_of(row)
    }

    /// Constraint count per region label, in order of first appearance.
    pub fn constraints_by_label(&self) -> Vec<(String, usize)> {
        self.regions.by_label(self.num_constraints())
    }

    pub fn first_unsatisfied(&self, z: &[Fr]) -> Option<usize> {
        (0..self.num_constraints()).find(|&i| self.a.row_dot(i, z) * self.b.row_dot(i, z) != self.c.row_dot(i, z))
    }

    /// A digest of the exact matrices, stored in the proving key's header
    /// (`export_zkey` checks it against the circuit's system).
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

    /// The same random rows (public and private variables allocated in
    /// between, repeated variables, empty combinations, coefficients small,
    /// negative, near 2^61 and random) enforced on a full and a witness-only
    /// system: the recorded values are the matrices' products.
    #[test]
    fn witness_only_records_the_row_products() {
        use ark_ff::UniformRand;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        for case in 0..30 {
            let mut full = ConstraintSystem::new();
            let mut wit = ConstraintSystem::witness_only(0);
            let rows = if case == 0 { 0 } else { rng.gen_range(1..40) };
            let (mut public, mut private) = (0u32, 0u32);
            for row in 0..rows {
                for _ in 0..rng.gen_range(0..3) {
                    let value = Fr::rand(&mut rng);
                    if rng.gen_bool(0.3) {
                        full.alloc_public(value);
                        wit.alloc_public(value);
                        public += 1;
                    } else {
                        full.alloc_private(value);
                        wit.alloc_private(value);
                        private += 1;
                    }
                }
                if row % 7 == 0 {
                    full.region(format!("r{row}"));
                    wit.region(format!("r{row}"));
                }
                let mut lc = || {
                    let mut lc = Lc::zero();
                    for _ in 0..rng.gen_range(0..6) {
                        let v = match rng.gen_range(0..3) {
                            0 => Var::One,
                            1 if public > 0 => Var::Public(rng.gen_range(0..public)),
                            _ if private > 0 => Var::Private(rng.gen_range(0..private)),
                            _ => Var::One,
                        };
                        let c = match rng.gen_range(0..5) {
                            0 => Fr::from(rng.gen_range(-300i64..300)),
                            1 => -Fr::from((1u64 << 61) - rng.gen_range(0..3u64)),
                            2 => Fr::from((1u64 << 61) - rng.gen_range(0..3u64)),
                            3 => Fr::from(rng.gen::<u64>()),
                            _ => Fr::rand(&mut rng),
                        };
                        lc = lc + Lc::term(v, c);
                    }
                    lc
                };
                let (a, b, c) = (lc(), lc(), lc());
                full.enforce(a.clone(), b.clone(), c.clone());
                wit.enforce(a, b, c);
            }
            assert_eq!(wit.num_constraints(), full.num_constraints());
            let (r1cs, z) = full.finish();
            let w = wit.finish_rows();
            assert_eq!(w.assignment, z);
            assert_eq!(w.num_public, r1cs.num_public);
            for (m, mat) in [&r1cs.a, &r1cs.b, &r1cs.c].into_iter().enumerate() {
                let products: Vec<Fr> = (0..r1cs.num_constraints()).map(|i| mat.row_dot(i, &z)).collect();
                assert_eq!(w.rows[m], products, "case {case}, matrix {m}");
            }
            for row in 0..rows {
                assert_eq!(w.label_of(row), r1cs.label_of(row));
            }
            assert_eq!(w.first_unsatisfied(), r1cs.first_unsatisfied(&z));
        }
    }

    #[test]
    fn a_witness_only_system_reports_its_first_bad_row() {
        let mut cs = ConstraintSystem::witness_only(8);
        assert!(!cs.needs_structure());
        assert!(ConstraintSystem::new().needs_structure() && ConstraintSystem::structure_only().needs_structure());
        let a = cs.alloc_private(Fr::from(3u64));
        let b = cs.alloc_private(Fr::from(4u64));
        cs.region("good");
        cs.enforce(a.into(), b.into(), Lc::constant(Fr::from(12u64)));
        cs.region("bad");
        cs.enforce(a.into(), a.into(), Lc::constant(Fr::from(10u64)));
        assert_eq!(cs.first_unsatisfied(), Some(1));
        let w = cs.finish_rows();
        assert_eq!((w.first_unsatisfied(), w.label_of(1)), (Some(1), "bad"));
        assert_eq!(
            w.rows,
            [vec![Fr::from(3u64); 2], vec![Fr::from(4u64), Fr::from(3u64)], vec![Fr::from(12u64), Fr::from(10u64)]]
        );
    }
}
