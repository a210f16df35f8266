//! The instructions of the quantized program (docs/program.md, "Instructions"),
//! one file per op. Each file holds the op's serde struct (its fields exactly
//! as the document names them; constants referenced by index), its validation
//! against its tensors and constants, and its synthesis (which calls gadgets
//! in `gadgets/`). The program (`program.rs`) checks what every instruction
//! shares: `inputs` non-empty and already written, `output` written once.
//!
//! [`OPS`] lists the op names; a registry test fails when an op file lacks a
//! sample instruction or a malicious-witness test (`<op>_rejects_a_wrong_witness`).

pub mod affine;
pub mod argmax;
pub mod bilinear;
pub mod function;
pub mod gather;
pub mod linear;
pub mod max;
pub mod relu;

use std::fmt::Display;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::gadgets::Value;
use crate::program::{Constant, TensorSpec};
use crate::r1cs::ConstraintSystem;

/// Every op name, as written in `"op"`.
pub const OPS: &[&str] = &["linear", "affine", "relu", "gather", "max", "argmax", "bilinear", "function"];

/// One instruction. An unknown `"op"` or an unknown field is a parse error.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Instruction {
    Linear(linear::Linear),
    Affine(affine::Affine),
    Relu(relu::Relu),
    Gather(gather::Gather),
    Max(max::Max),
    Argmax(argmax::Argmax),
    Bilinear(bilinear::Bilinear),
    Function(function::Function),
}

impl Instruction {
    pub fn op(&self) -> &dyn Op {
        match self {
            Instruction::Linear(o) => o,
            Instruction::Affine(o) => o,
            Instruction::Relu(o) => o,
            Instruction::Gather(o) => o,
            Instruction::Max(o) => o,
            Instruction::Argmax(o) => o,
            Instruction::Bilinear(o) => o,
            Instruction::Function(o) => o,
        }
    }
}

/// What every op provides.
pub trait Op {
    /// The op's name, as in `"op"`.
    fn name(&self) -> &'static str;
    /// The tensors it reads (`inputs`), in order.
    fn inputs(&self) -> &[usize];
    /// The tensor it writes (`output`).
    fn output(&self) -> usize;
    /// Check the op's own fields against its tensors and constants (the
    /// shared rules are already checked).
    fn validate(&self, at: &Operands) -> Result<()>;
    /// The constants it reads: (field, constant index).
    fn constants(&self) -> Vec<(&'static str, usize)>;
    /// The fields whose constant may be committed (a private witness bound by
    /// the weights commitment, docs/privacy.md) rather than fixed in the circuit.
    fn committable(&self) -> &'static [&'static str] {
        &[]
    }
    /// Emit the constraints and the witness of the output tensor, given the
    /// values of each input tensor (in `inputs` order).
    fn synthesize(&self, cs: &mut ConstraintSystem, at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>>;
}

/// An instruction's surroundings: where it is (for messages), the specs of
/// its input and output tensors, and the program's constants.
pub struct Operands<'a> {
    /// "instruction 3 (affine)": the start of every message about it.
    pub what: String,
    pub inputs: Vec<&'a TensorSpec>,
    pub output: &'a TensorSpec,
    pub constants: &'a [Constant],
    /// The range-checked witness values of each committed constant (None
    /// for a constant fixed in the circuit), by constant index.
    pub committed: &'a [Option<Vec<Value>>],
}

impl<'a> Operands<'a> {
    /// The witness values of constant `index` if it is committed.
    pub fn committed(&self, index: usize) -> Option<&'a [Value]> {
        self.committed.get(index).and_then(|c| c.as_deref())
    }

    /// A program error about this instruction: "instruction 3 (affine): …".
    pub fn err(&self, msg: impl Display) -> Error {
        Error::Program(format!("{}: {msg}", self.what))
    }

    /// |X|: the number of elements of all inputs together.
    pub fn x_len(&self) -> usize {
        self.inputs.iter().map(|t| t.len()).sum()
    }

    /// The one input of an op that takes exactly one.
    pub fn one_input(&self) -> Result<&'a TensorSpec> {
        match self.inputs[..] {
            [x] => Ok(x),
            _ => Err(self.err(format!("takes one input, got {}", self.inputs.len()))),
        }
    }

    /// Constant `index` for field `field`, which must exist and have the
    /// shape `dims` (a name and, where the op fixes it, a size per dimension).
    pub fn constant(&self, field: &str, index: usize, dims: &[(&str, Option<usize>)]) -> Result<&'a Constant> {
        let c = self.constants.get(index).ok_or_else(|| {
            self.err(format!("{field} refers to constant {index}, but there are {}", self.constants.len()))
        })?;
        let fits = c.shape.len() == dims.len() && c.shape.iter().zip(dims).all(|(s, (_, d))| d.is_none_or(|d| d == *s));
        if !fits {
            let names: Vec<&str> = dims.iter().map(|(n, _)| *n).collect();
            let sizes: Vec<String> = dims.iter().map(|(_, d)| d.map_or("any".to_string(), |d| d.to_string())).collect();
            return Err(self.err(format!(
                "{field} (constant {index}, '{}') has shape {:?}, expected [{}] = [{}]",
                c.name,
                c.shape,
                names.join(", "),
                sizes.join(", ")
            )));
        }
        Ok(c)
    }

    /// Every entry of the index constant `c` (field `field`, constant number
    /// `index`) is -1 or a position in X.
    pub fn check_index(&self, field: &str, index: usize, c: &Constant) -> Result<()> {
        let n = self.x_len() as i64;
        match c.data.iter().position(|e| e < -1 || e >= n) {
            Some(at) => Err(self.err(format!(
                "{field} (constant {index}, '{}') entry {at} is {}, outside [-1, {n}) (the inputs hold {n} elements)",
                c.name,
                c.data.get(at)
            ))),
            None => Ok(()),
        }
    }

    /// Every input and the output share bits and scale (gather, max).
    pub fn same_bits_and_scale(&self) -> Result<()> {
        let y = self.output;
        for (i, x) in self.inputs.iter().enumerate() {
            if x.bits != y.bits || x.scale != y.scale {
                return Err(self.err(format!(
                    "input {i} ('{}', bits {}, scale {}) and the output ('{}', bits {}, scale {}) must share bits and scale",
                    x.name, x.bits, x.scale, y.name, y.bits, y.scale
                )));
            }
        }
        Ok(())
    }

    /// For each position of X, the bits of the input tensor it lies in
    /// (as a lookup by position).
    pub fn bits_at(&self) -> impl Fn(usize) -> u32 + '_ {
        let mut ends = Vec::with_capacity(self.inputs.len());
        let mut end = 0;
        for t in &self.inputs {
            end += t.len();
            ends.push(end);
        }
        move |j| self.inputs[ends.partition_point(|e| *e <= j)].bits
    }
}

/// The accumulator bound of one output, `sum_t |w_t| 2^(b_t - 1) + |bias|`,
/// computed exactly; None when it reaches 2^MAX_ACC_BITS (or overflows u128).
pub fn accumulator_bound(terms: impl IntoIterator<Item = (i64, u32)>, bias: i64) -> Option<u128> {
    terms
        .into_iter()
        .try_fold(bias.unsigned_abs() as u128, |acc, (w, bits)| {
            (w.unsigned_abs() as u128).checked_mul(1u128 << (bits - 1)).and_then(|t| acc.checked_add(t))
        })
        .filter(|b| *b < 1u128 << crate::program::MAX_ACC_BITS)
}

/// X: the inputs' values, concatenated in `inputs` order.
pub fn concat<'v>(x: &[&'v [Value]]) -> Vec<&'v Value> {
    x.iter().flat_map(|t| t.iter()).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::program::builder::ProgramBuilder;
    use crate::program::Circuit;
    use crate::synth::synthesize;
    use ark_bn254::Fr;
    use ark_ff::UniformRand;
    use rand::SeedableRng;
    use serde_json::json;

    /// One sample instruction per op, as JSON (for the parse test).
    fn sample(op: &str) -> serde_json::Value {
        match op {
            "linear" => json!({"op": "linear", "inputs": [0], "output": 1, "weight": 0, "bias": 1, "shift": 2}),
            "affine" => {
                json!({"op": "affine", "inputs": [0, 2], "output": 1, "index": 0, "weight": 1, "row": 2, "bias": 3, "shift": 0})
            }
            "relu" => json!({"op": "relu", "inputs": [0], "output": 1}),
            "gather" => json!({"op": "gather", "inputs": [0, 0], "output": 1, "index": 0}),
            "max" => json!({"op": "max", "inputs": [0], "output": 1, "index": 0}),
            "argmax" => json!({"op": "argmax", "inputs": [0, 2], "output": 1, "index": 0}),
            "bilinear" => {
                json!({"op": "bilinear", "inputs": [0, 2], "output": 1, "left": 0, "right": 1, "bias": 2, "shift": 4})
            }
            "function" => json!({"op": "function", "inputs": [0], "output": 1, "table": 0, "k": 4, "shift": 8}),
            _ => panic!("no sample instruction for op '{op}' (add one here)"),
        }
    }

    #[test]
    fn every_op_name_parses_a_sample_instruction() {
        for op in OPS {
            let ins: Instruction = serde_json::from_value(sample(op)).unwrap_or_else(|e| panic!("{op}: {e}"));
            assert_eq!(ins.op().name(), *op);
            assert_eq!(ins.op().output(), 1);
            assert!(!ins.op().inputs().is_empty());
            // Each op refuses an unknown field.
            let mut extra = sample(op);
            extra["extra"] = json!(0);
            let e = serde_json::from_value::<Instruction>(extra).unwrap_err().to_string();
            assert!(e.contains("unknown field `extra`"), "{op}: {e}");
            // The v1 field name `input` is not v2's `inputs`.
            let mut v1 = sample(op);
            v1["input"] = v1["inputs"][0].clone();
            v1.as_object_mut().unwrap().remove("inputs");
            assert!(serde_json::from_value::<Instruction>(v1).is_err(), "{op}");
        }
    }

    #[test]
    fn an_unknown_op_is_a_loud_error() {
        for op in ["sigmoid", "reshape", "Linear", ""] {
            let e = serde_json::from_value::<Instruction>(json!({"op": op, "inputs": [0], "output": 1})).unwrap_err();
            assert!(e.to_string().contains("unknown variant"), "{op}: {e}");
        }
        let e = serde_json::from_value::<Instruction>(json!({"inputs": [0], "output": 1})).unwrap_err();
        assert!(e.to_string().contains("missing field `op`"), "{e}");
    }

    /// The ops whose file has a `<op>_rejects_a_wrong_witness` test: a new op
    /// cannot land without its malicious-witness test.
    const WRONG_WITNESS_TESTED: &[&str] =
        &["affine", "argmax", "bilinear", "function", "gather", "linear", "max", "relu"];

    #[test]
    fn every_op_has_a_file_a_sample_and_a_malicious_witness_test() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string())
            .filter(|m| m != "mod")
            .collect();
        files.sort();
        let mut ops: Vec<&str> = OPS.to_vec();
        ops.sort();
        assert_eq!(files, ops, "ops/ files and OPS differ");
        assert_eq!(WRONG_WITNESS_TESTED, ops, "ops without a malicious-witness test (add them here)");
        for op in OPS {
            let src = std::fs::read_to_string(dir.join(format!("{op}.rs"))).unwrap();
            assert!(
                src.contains(&format!("fn {op}_rejects_a_wrong_witness()")),
                "ops/{op}.rs has no {op}_rejects_a_wrong_witness test"
            );
            sample(op);
        }
    }

    /// The shared part of each op's malicious-witness test: the honest
    /// witness of `circuit` at `input` satisfies every constraint, and
    /// changing any one variable (by +-1, 2^k or a random element) is
    /// rejected; the rejections include some in the region of instruction
    /// `k`. Returns the synthesis for op-specific attacks.
    pub fn assert_single_changes_rejected(circuit: &Circuit, inputs: &[Vec<i64>], k: usize) -> crate::synth::Synthesis {
        let s = synthesize(circuit, Some(inputs)).unwrap();
        assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None, "honest witness rejected");
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(k as u64);
        let op = circuit.program.instructions[k].op().name();
        let prefix = format!("#{k} {op} ");
        let mut in_region = 0;
        for var in 1..s.assignment.len() {
            for delta in [Fr::from(1u64), -Fr::from(1u64), Fr::from(1u64 << 17), Fr::rand(&mut rng)] {
                let mut z = s.assignment.clone();
                z[var] += delta;
                let row = s.r1cs.first_unsatisfied(&z);
                assert!(row.is_some(), "variable {var} changed by {delta} went unnoticed");
                in_region += s.r1cs.label_of(row.unwrap()).starts_with(&prefix) as usize;
            }
        }
        assert!(in_region > 0, "no change was caught in {prefix}");
        s
    }

    /// Claim another value for element `i` of output `o` (the packed public
    /// signal moved by one unit of that slot, and the variable of the value
    /// itself moved by one): the system must reject it.
    pub fn assert_another_output_rejected(circuit: &Circuit, inputs: &[Vec<i64>], o: usize, i: usize) {
        let p = &circuit.program;
        let s = synthesize(circuit, Some(inputs)).unwrap();
        // Public signals: inputs, then outputs, each packed per element.
        let mut col = 1;
        for io in p.inputs.iter().chain(&p.outputs[..o]) {
            let t = &p.tensors[io.tensor];
            col += t.len().div_ceil(t.per_element());
        }
        let t = &p.tensors[p.outputs[o].tensor];
        col += i / t.per_element();
        let slot = crate::gadgets::pow2(t.bits * (i % t.per_element()) as u32);
        let mut z = s.assignment.clone();
        z[col] += slot;
        assert!(s.r1cs.first_unsatisfied(&z).is_some(), "output {o} element {i} + 1 accepted");
        // Also move every private variable holding the honest value to the
        // claimed one: still rejected.
        let honest = Fr::from(s.outputs[o][i]);
        for v in z.iter_mut().skip(1 + s.r1cs.num_public) {
            if *v == honest {
                *v += Fr::from(1u64);
            }
        }
        assert!(s.r1cs.first_unsatisfied(&z).is_some(), "output {o} element {i} + 1 (patched) accepted");
    }

    /// A builder with one input tensor `x` of `shape` at `bits`.
    pub fn with_input(shape: &[usize], bits: u32) -> (ProgramBuilder, usize) {
        let mut b = ProgramBuilder::new("op-test");
        let x = b.tensor("x", shape, 0, bits);
        b.input("x", x);
        (b, x)
    }

    /// Validation message of a program that must be refused.
    pub fn refused(b: &ProgramBuilder) -> String {
        match b.circuit() {
            Err(Error::Program(m)) => m,
            Err(e) => panic!("expected a program error, got {e}"),
            Ok(_) => panic!("expected a program error, the program was accepted"),
        }
    }
}
