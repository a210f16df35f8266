//! Building a program (`circuit.json` bytes and `constants.bin` bytes) from
//! Rust data, with the right `constants_sha256`: for tests and benchmarks,
//! which would otherwise hand-write JSON and hash blobs themselves.
//!
//! ```ignore
//! let mut b = ProgramBuilder::new("tiny");
//! let x = b.tensor("x", &[1, 3], 0, 8);
//! let y = b.tensor("y", &[1, 3], 0, 8);
//! b.input("x", x);
//! b.output("y", y);
//! b.instruction(json!({"op": "relu", "inputs": [x], "output": y}));
//! let (json, blob) = b.build();
//! ```

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{hex, Circuit, FORMAT, VERSION};
use crate::error::Result;

#[derive(Debug, Clone, Default)]
pub struct ProgramBuilder {
    name: String,
    constants: Vec<(String, Vec<usize>, Vec<i64>)>,
    /// Bit width of each committed constant, by index.
    committed: std::collections::BTreeMap<usize, u32>,
    tensors: Vec<Value>,
    inputs: Vec<Value>,
    outputs: Vec<Value>,
    instructions: Vec<Value>,
}

impl ProgramBuilder {
    pub fn new(name: &str) -> Self {
        ProgramBuilder { name: name.to_string(), ..Self::default() }
    }

    /// Add a constant; returns its index. `data` is row-major; its length is
    /// not checked here, so tests can build wrong blobs.
    pub fn constant(&mut self, name: &str, shape: &[usize], data: &[i64]) -> usize {
        self.constants.push((name.to_string(), shape.to_vec(), data.to_vec()));
        self.constants.len() - 1
    }

    /// Make constant `i` committed at `bits`: its values leave the blob for
    /// [`Self::weights`].
    pub fn commit_constant(&mut self, i: usize, bits: u32) {
        self.committed.insert(i, bits);
    }

    /// `weights.bin`: the committed constants' values, in order.
    pub fn weights(&self) -> Vec<u8> {
        self.constants
            .iter()
            .enumerate()
            .filter(|(i, _)| self.committed.contains_key(i))
            .flat_map(|(_, (_, _, d))| d.iter().flat_map(|v| v.to_le_bytes()))
            .collect()
    }

    /// Replace constant `i`'s shape and values.
    pub fn set_constant(&mut self, i: usize, shape: &[usize], data: &[i64]) {
        self.constants[i].1 = shape.to_vec();
        self.constants[i].2 = data.to_vec();
    }

    /// Add a tensor; returns its index.
    pub fn tensor(&mut self, name: &str, shape: &[usize], scale: i32, bits: u32) -> usize {
        self.tensors.push(json!({"name": name, "shape": shape, "scale": scale, "bits": bits}));
        self.tensors.len() - 1
    }

    pub fn set_tensor_bits(&mut self, i: usize, bits: u32) {
        self.tensors[i]["bits"] = json!(bits);
    }

    pub fn input(&mut self, name: &str, tensor: usize) {
        self.inputs.push(json!({"name": name, "tensor": tensor}));
    }

    pub fn output(&mut self, name: &str, tensor: usize) {
        self.outputs.push(json!({"name": name, "tensor": tensor}));
    }

    /// Add an instruction, written as its JSON object.
    /// Mark the last input or output named `name` "public", "hashed" or "private".
    pub fn visibility(&mut self, name: &str, visibility: &str) {
        for io in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            if io["name"] == name {
                io["visibility"] = json!(visibility);
            }
        }
    }

    pub fn instruction(&mut self, instruction: Value) {
        self.instructions.push(instruction);
    }

    /// `constants.bin`: every constant's values as little-endian i64, in order.
    pub fn blob(&self) -> Vec<u8> {
        self.constants
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.committed.contains_key(i))
            .flat_map(|(_, (_, _, d))| d.iter().flat_map(|v| v.to_le_bytes()))
            .collect()
    }

    /// The document, with `constants_sha256` of [`Self::blob`].
    pub fn document(&self) -> Value {
        json!({
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "constants_sha256": hex(&Sha256::digest(self.blob())),
            "constants": self.constants.iter().enumerate().map(|(i, (n, s, _))| match self.committed.get(&i) {
                Some(bits) => json!({"name": n, "shape": s, "committed": true, "bits": bits}),
                None => json!({"name": n, "shape": s}),
            }).collect::<Vec<_>>(),
            "tensors": self.tensors,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "instructions": self.instructions,
        })
    }

    /// (`circuit.json`, `constants.bin`): compact JSON with sorted keys, as
    /// Python writes it.
    pub fn build(&self) -> (Vec<u8>, Vec<u8>) {
        (serde_json::to_vec(&self.document()).expect("JSON"), self.blob())
    }

    /// Parse and validate what [`Self::build`] gives.
    pub fn circuit(&self) -> Result<Circuit> {
        let (json, blob) = self.build();
        Circuit::from_parts(&json, &blob)
    }
}
