//! The quantized program: the boundary IR between the Python compiler and the
//! native circuit (spec: docs/program.md). Parsed strictly and validated here
//! independently of the Python side, because the circuit is only as sound as
//! the program it is built from.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const FORMAT: &str = "zkml-program";
pub const VERSION: u32 = 1;
/// Largest accepted rescale shift: keeps `2^shift * q + rem` far below r/2.
pub const MAX_SHIFT: u32 = 120;
/// Largest accepted accumulator magnitude (log2); see `validate`.
pub const MAX_ACC_BITS: u32 = 120;
/// Bits per packed public field element (r > 2^253).
pub const PACK_BITS: u32 = 252;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub scale: i32,
    pub bits: u32,
}

impl TensorSpec {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Smallest representable value, -2^(bits-1).
    pub fn min(&self) -> i128 {
        -(1i128 << (self.bits - 1))
    }
    /// Largest representable value, 2^(bits-1) - 1.
    pub fn max(&self) -> i128 {
        (1i128 << (self.bits - 1)) - 1
    }
    /// Values packed into one public field element.
    pub fn per_element(&self) -> usize {
        (PACK_BITS / self.bits) as usize
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Io {
    pub name: String,
    pub tensor: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Instruction {
    Linear {
        input: usize,
        output: usize,
        weight: Vec<Vec<i64>>,
        bias: Vec<i64>,
        shift: u32,
    },
    Relu {
        input: usize,
        output: usize,
    },
    Reshape {
        input: usize,
        output: usize,
    },
}

impl Instruction {
    pub fn op(&self) -> &'static str {
        match self {
            Instruction::Linear { .. } => "linear",
            Instruction::Relu { .. } => "relu",
            Instruction::Reshape { .. } => "reshape",
        }
    }
    pub fn input(&self) -> usize {
        match self {
            Instruction::Linear { input, .. } | Instruction::Relu { input, .. } | Instruction::Reshape { input, .. } => *input,
        }
    }
    pub fn output(&self) -> usize {
        match self {
            Instruction::Linear { output, .. } | Instruction::Relu { output, .. } | Instruction::Reshape { output, .. } => *output,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub format: String,
    pub version: u32,
    pub name: String,
    pub tensors: Vec<TensorSpec>,
    pub inputs: Vec<Io>,
    pub outputs: Vec<Io>,
    pub instructions: Vec<Instruction>,
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// A parsed, validated program together with the hash of the bytes it came from.
#[derive(Debug, Clone)]
pub struct Circuit {
    pub program: Program,
    pub hash: [u8; 32],
}

impl Circuit {
    pub fn from_json(bytes: &[u8]) -> Result<Circuit> {
        let program: Program =
            serde_json::from_slice(bytes).map_err(|e| Error::Program(format!("cannot parse program JSON: {e}")))?;
        validate(&program)?;
        let hash = Sha256::digest(bytes).into();
        Ok(Circuit { program, hash })
    }

    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bad(msg: String) -> Error {
    Error::Program(msg)
}

/// Most elements in one tensor (2^26), and in all tensors together (2^28):
/// far beyond what fits a proving key on one machine, and small enough that a
/// hostile circuit.json cannot make synthesis allocate without bound. Python
/// (`zkml/program.py`) enforces the same limits.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 26;
pub const MAX_TOTAL_ELEMENTS: usize = 1 << 28;

pub fn validate(p: &Program) -> Result<()> {
    if p.format != FORMAT {
        return Err(bad(format!("format is '{}', expected '{FORMAT}'", p.format)));
    }
    if p.version != VERSION {
        return Err(bad(format!("version {} is not supported (this build reads version {VERSION})", p.version)));
    }
    let mut total_elements = 0usize;
    for (i, t) in p.tensors.iter().enumerate() {
        if !(2..=64).contains(&t.bits) {
            return Err(bad(format!("tensor {i} ('{}') has bits={}, must be 2..=64", t.name, t.bits)));
        }
        if t.shape.is_empty() || t.shape.contains(&0) {
            return Err(bad(format!("tensor {i} ('{}') has shape {:?}; dimensions must be positive", t.name, t.shape)));
        }
        let elements = t
            .shape
            .iter()
            .try_fold(1usize, |acc, d| acc.checked_mul(*d))
            .filter(|n| *n <= MAX_TENSOR_ELEMENTS)
            .ok_or_else(|| bad(format!("tensor {i} ('{}') has shape {:?}: more than {MAX_TENSOR_ELEMENTS} elements", t.name, t.shape)))?;
        total_elements += elements;
        if total_elements > MAX_TOTAL_ELEMENTS {
            return Err(bad(format!("the tensors hold more than {MAX_TOTAL_ELEMENTS} elements in all")));
        }
    }
    let tensor = |i: usize, what: &str| -> Result<&TensorSpec> {
        p.tensors.get(i).ok_or_else(|| bad(format!("{what} refers to tensor {i}, but there are {}", p.tensors.len())))
    };
    if p.inputs.is_empty() || p.outputs.is_empty() {
        return Err(bad("a program needs at least one input and one output".into()));
    }
    let mut written = vec![false; p.tensors.len()];
    for io in &p.inputs {
        tensor(io.tensor, "an input")?;
        if std::mem::replace(&mut written[io.tensor], true) {
            return Err(bad(format!("tensor {} is listed twice as an input", io.tensor)));
        }
    }
    for (k, ins) in p.instructions.iter().enumerate() {
        let what = format!("instruction {k} ({})", ins.op());
        let x = tensor(ins.input(), &what)?;
        let y = tensor(ins.output(), &what)?;
        if !written[ins.input()] {
            return Err(bad(format!("{what} reads tensor {} before it is written", ins.input())));
        }
        if std::mem::replace(&mut written[ins.output()], true) {
            return Err(bad(format!("{what} writes tensor {}, which is already written", ins.output())));
        }
        match ins {
            Instruction::Linear { weight, bias, shift, .. } => {
                let k_in = *x.shape.last().unwrap();
                let n_out = *y.shape.last().unwrap();
                if x.shape[..x.shape.len() - 1] != y.shape[..y.shape.len() - 1] {
                    return Err(bad(format!("{what}: leading dimensions differ: {:?} -> {:?}", x.shape, y.shape)));
                }
                if weight.len() != n_out || weight.iter().any(|row| row.len() != k_in) {
                    return Err(bad(format!("{what}: weight must be {n_out}x{k_in}")));
                }
                if bias.len() != n_out {
                    return Err(bad(format!("{what}: bias has {} entries, expected {n_out}", bias.len())));
                }
                if *shift > MAX_SHIFT {
                    return Err(bad(format!("{what}: shift {shift} exceeds {MAX_SHIFT}")));
                }
                // |acc| <= sum|w| * 2^(bits_in - 1) + |b|. Keeping it below 2^120
                // (and shift + bits_out far below 253) means the rescale identity
                // acc = 2^shift*q + rem cannot wrap around the field.
                let x_max = 1u128 << (x.bits - 1);
                for (n, row) in weight.iter().enumerate() {
                    let sum_w: u128 = row.iter().map(|w| w.unsigned_abs() as u128).sum();
                    let bound = sum_w
                        .checked_mul(x_max)
                        .and_then(|v| v.checked_add(bias[n].unsigned_abs() as u128))
                        .filter(|v| *v < 1u128 << MAX_ACC_BITS);
                    if bound.is_none() {
                        return Err(bad(format!("{what}: accumulator of output {n} could exceed 2^{MAX_ACC_BITS}")));
                    }
                }
            }
            Instruction::Relu { .. } | Instruction::Reshape { .. } => {
                if x.bits != y.bits || x.scale != y.scale {
                    return Err(bad(format!("{what}: input and output must share bits and scale")));
                }
                if x.len() != y.len() {
                    return Err(bad(format!("{what}: element count changes ({} -> {})", x.len(), y.len())));
                }
                if matches!(ins, Instruction::Relu { .. }) && x.shape != y.shape {
                    return Err(bad(format!("{what}: relu must keep the shape")));
                }
            }
        }
    }
    for io in &p.outputs {
        tensor(io.tensor, "an output")?;
        if !written[io.tensor] {
            return Err(bad(format!("output '{}' (tensor {}) is never written", io.name, io.tensor)));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny program: input [1,3] (bits 8) -> linear to [1,2] (shift 2) -> relu.
    pub fn tiny_program_json() -> String {
        r#"{"format":"zkml-program","version":1,"name":"tiny",
            "tensors":[{"name":"x","shape":[1,3],"scale":2,"bits":8},
                       {"name":"h","shape":[1,2],"scale":2,"bits":8},
                       {"name":"y","shape":[1,2],"scale":2,"bits":8}],
            "inputs":[{"name":"x","tensor":0}],
            "outputs":[{"name":"y","tensor":2}],
            "instructions":[
              {"op":"linear","input":0,"output":1,"weight":[[1,-2,3],[-4,5,-6]],"bias":[2,-2],"shift":2},
              {"op":"relu","input":1,"output":2}]}"#
            .to_string()
    }

    #[test]
    fn parses_and_validates_the_tiny_program() {
        let c = Circuit::from_json(tiny_program_json().as_bytes()).unwrap();
        assert_eq!(c.program.instructions.len(), 2);
        assert_eq!(c.hash_hex().len(), 64);
    }

    #[test]
    fn rejects_unknown_fields_and_ops() {
        let s = tiny_program_json().replace("\"shift\":2", "\"shift\":2,\"extra\":1");
        assert!(matches!(Circuit::from_json(s.as_bytes()), Err(Error::Program(_))));
        let s = tiny_program_json().replace("\"op\":\"relu\"", "\"op\":\"sigmoid\"");
        assert!(matches!(Circuit::from_json(s.as_bytes()), Err(Error::Program(_))));
    }

    #[test]
    fn rejects_read_before_write_and_double_write() {
        let s = tiny_program_json().replace("\"op\":\"relu\",\"input\":1", "\"op\":\"relu\",\"input\":2");
        assert!(Circuit::from_json(s.as_bytes()).is_err());
        let s = tiny_program_json().replace("\"op\":\"relu\",\"input\":1,\"output\":2", "\"op\":\"relu\",\"input\":1,\"output\":1");
        assert!(Circuit::from_json(s.as_bytes()).is_err());
    }

    #[test]
    fn rejects_bad_weight_shape_and_huge_accumulators() {
        let s = tiny_program_json().replace("[[1,-2,3],[-4,5,-6]]", "[[1,-2],[-4,5,-6]]");
        assert!(Circuit::from_json(s.as_bytes()).is_err());
        // 64-bit inputs times 2^62-sized weights: |acc| could reach 2^126.
        let s = tiny_program_json()
            .replace("\"shape\":[1,3],\"scale\":2,\"bits\":8", "\"shape\":[1,3],\"scale\":2,\"bits\":64")
            .replace("[[1,-2,3],[-4,5,-6]]", "[[4611686018427387904,1,1],[-4,5,-6]]");
        assert!(matches!(Circuit::from_json(s.as_bytes()), Err(Error::Program(m)) if m.contains("accumulator")));
    }

    #[test]
    fn a_tensor_of_2_pow_32_elements_is_refused_before_anything_is_allocated() {
        let s = tiny_program_json().replace("\"shape\":[1,3]", "\"shape\":[1,4294967296]");
        let err = Circuit::from_json(s.as_bytes()).err().unwrap();
        assert!(matches!(&err, Error::Program(m) if m.contains("more than 67108864 elements")), "{err}");
        let s = tiny_program_json().replace("\"shape\":[1,3]", "\"shape\":[8192,8192,2]");
        assert!(Circuit::from_json(s.as_bytes()).is_err());
    }

    #[test]
    fn rejects_out_of_range_bits() {
        let s = tiny_program_json().replace("\"scale\":2,\"bits\":8}", "\"scale\":2,\"bits\":65}");
        assert!(Circuit::from_json(s.as_bytes()).is_err());
    }
}
