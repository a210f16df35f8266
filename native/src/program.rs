//! The quantized program: the boundary IR between the Python compiler and the
//! native circuit (spec: docs/program.md, format version 2). Parsed strictly
//! and validated here independently of the Python side, because the circuit
//! is only as sound as the program it is built from.
//!
//! A program is two files: `circuit.json` (the document) and `constants.bin`
//! (every constant as little-endian i64, back to back). This module checks the
//! document and the blob together; each op checks its own fields
//! (`ops/<op>.rs`).

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ops::{Instruction, Operands};

pub mod builder;
mod values;

pub use values::{Elem, Values, Width};

pub const FORMAT: &str = "zkml-program";
pub const VERSION: u32 = 2;
/// Largest accepted rescale shift: keeps `2^shift * q + rem` far below r/2.
pub const MAX_SHIFT: u32 = 120;
/// Largest accepted accumulator magnitude (log2); see the `linear` and
/// `affine` ops.
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

/// A constant's entry in the document; its values are in `constants.bin`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantSpec {
    pub name: String,
    pub shape: Vec<usize>,
    /// A committed constant (weights, docs/privacy.md): its values are not
    /// in `constants.bin` (nor in the circuit hash) but in the prover's
    /// `weights.bin`, each a private witness value range-checked to `bits`
    /// and bound by the public weights commitment.
    #[serde(default)]
    pub committed: bool,
    #[serde(default)]
    pub bits: Option<u32>,
}

/// A constant with its values (row-major), decoded from `constants.bin`
/// into the narrowest integer type that holds them ([`Values`]).
/// A committed constant holds its bit width in `committed`, and until the
/// weights are loaded ([`Circuit::load_weights`]) values of the largest
/// magnitude its width allows, so that validation bounds every accumulator
/// for any weights the prover may bring; its values are stored in the
/// narrowest type that holds every value of that width.
#[derive(Debug, Clone)]
pub struct Constant {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Values,
    pub committed: Option<u32>,
}

/// What a verifier sees of a model input or output (docs/privacy.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// The values themselves, packed into public signals.
    #[default]
    Public,
    /// One public signal: a salted Poseidon commitment to the values
    /// (`gadgets/commit.rs`); the values and the salt stay private.
    Hashed,
    /// Nothing: neither the values nor a hash.
    Private,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Io {
    pub name: String,
    pub tensor: usize,
    /// Absent in the document means public.
    #[serde(default)]
    pub visibility: Visibility,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub format: String,
    pub version: u32,
    pub name: String,
    pub constants_sha256: String,
    pub constants: Vec<ConstantSpec>,
    pub tensors: Vec<TensorSpec>,
    pub inputs: Vec<Io>,
    pub outputs: Vec<Io>,
    pub instructions: Vec<Instruction>,
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// A parsed, validated program, its decoded constants, and the hash of the
/// document's bytes (the circuit hash; the document pins the constants by
/// their SHA-256, so the hash covers them too).
#[derive(Debug, Clone)]
pub struct Circuit {
    pub program: Program,
    pub constants: Vec<Constant>,
    pub hash: [u8; 32],
    /// Whether the committed constants hold the prover's weights.
    pub weights_loaded: bool,
}

impl Circuit {
    /// Parse and validate `circuit.json` (`json`) with its `constants.bin`
    /// (`constants`).
    pub fn from_parts(json: &[u8], constants: &[u8]) -> Result<Circuit> {
        Circuit::from_source(json, Constants::Bytes(constants))
    }

    /// [`Circuit::from_parts`] with `constants.bin` as bytes or as a file
    /// read in chunks (never whole).
    pub fn from_source(json: &[u8], constants: Constants<'_>) -> Result<Circuit> {
        let (circuit, digest) = Circuit::read(json, constants, false)?;
        debug_assert!(digest.is_none());
        Ok(circuit)
    }

    /// [`Circuit::from_source`] that returns once `constants.bin` is read
    /// and decoded (each value checked), with a file's SHA-256 against the
    /// program's `constants_sha256` still being computed: the caller must
    /// [`PendingDigest::check`] it before it trusts, or hands out, anything
    /// made from the circuit (a proof waits for it; `pipeline::Prover`).
    /// Constants given as bytes are hashed before this returns (`None`).
    pub fn from_source_hashing_behind(
        json: &[u8],
        constants: Constants<'_>,
    ) -> Result<(Circuit, Option<PendingDigest>)> {
        Circuit::read(json, constants, true)
    }

    fn read(json: &[u8], constants: Constants<'_>, defer: bool) -> Result<(Circuit, Option<PendingDigest>)> {
        let program: Program =
            serde_json::from_slice(json).map_err(|e| bad(format!("cannot parse program JSON: {e}")))?;
        check_header(&program)?;
        let (constants, digest) = decode_constants(&program, constants, defer, |c| validate(&program, c))?;
        let hash = Sha256::digest(json).into();
        Ok((Circuit { program, constants, hash, weights_loaded: false }, digest))
    }

    /// Whether some constants are committed (the circuit then has one more
    /// public signal, the weights commitment, after the outputs).
    pub fn has_committed(&self) -> bool {
        self.constants.iter().any(|c| c.committed.is_some())
    }

    /// Fill the committed constants from `weights.bin` (their values as
    /// little-endian i64, back to back in constant order), each checked
    /// against its bit width.
    pub fn load_weights(&mut self, blob: &[u8]) -> Result<()> {
        let need: usize = self.constants.iter().filter(|c| c.committed.is_some()).map(|c| c.data.len()).sum();
        if blob.len() != 8 * need {
            return Err(Error::InputShape(format!(
                "weights.bin holds {} bytes, but the committed constants need exactly {} ({need} values)",
                blob.len(),
                8 * need
            )));
        }
        let word = |w: &[u8]| i64::from_le_bytes(w.try_into().expect("8 bytes"));
        let mut at = 0;
        for c in self.constants.iter_mut() {
            let Some(bits) = c.committed else { continue };
            let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
            let words = &blob[8 * at..8 * (at + c.data.len())];
            at += c.data.len();
            for (i, v) in words.chunks_exact(8).map(word).enumerate() {
                if (v as i128) < lo || (v as i128) > hi {
                    return Err(Error::OutOfRange(format!(
                        "weights.bin: constant '{}' element {i} is {v}, outside its {bits}-bit range [{lo}, {hi}]",
                        c.name
                    )));
                }
            }
            // Each value checked to fit `bits`, so the width of `bits` holds it.
            c.data = Values::from_fitting(Width::for_bits(bits), words.chunks_exact(8).map(word));
        }
        self.weights_loaded = true;
        Ok(())
    }

    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }

    /// The model inputs then outputs, in the order their public signals
    /// (and salts) come.
    pub fn io(&self) -> impl Iterator<Item = &Io> {
        self.program.inputs.iter().chain(&self.program.outputs)
    }

    /// How many salts a proof needs: one per hashed input or output, then
    /// one for the weights commitment if some constants are committed.
    pub fn salt_count(&self) -> usize {
        self.io().filter(|io| io.visibility == Visibility::Hashed).count() + usize::from(self.has_committed())
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
/// Most constant elements in all (2^28, i.e. a 2 GiB `constants.bin`).
pub const MAX_CONSTANT_ELEMENTS: usize = 1 << 28;

fn check_header(p: &Program) -> Result<()> {
    if p.format != FORMAT {
        return Err(bad(format!("format is '{}', expected '{FORMAT}'", p.format)));
    }
    if p.version != VERSION {
        return Err(bad(format!("version {} is not supported (this build reads version {VERSION})", p.version)));
    }
    Ok(())
}

/// Where `constants.bin` comes from: its bytes, or its path (read in
/// chunks of [`CHUNK`] bytes, so that the file is never held whole).
#[derive(Debug, Clone, Copy)]
pub enum Constants<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// Bytes of `constants.bin` read, hashed and decoded at a time (a multiple
/// of 8: no element straddles two chunks).
const CHUNK: usize = 1 << 20;

/// Check the constants' shapes, then the blob's length and SHA-256 against
/// the document, and decode it. The blob (a wide model's is hundreds of MB)
/// is hashed on one thread while another decodes it and `then` checks the
/// decoded constants; a wrong hash is reported first. A file is read in
/// chunks, each hashed and decoded, so only the decoded values are held.
fn decode_constants(
    p: &Program,
    source: Constants<'_>,
    defer: bool,
    then: impl FnOnce(&[Constant]) -> Result<()> + Send,
) -> Result<(Vec<Constant>, Option<PendingDigest>)> {
    let mut total = 0usize;
    let mut sizes = Vec::with_capacity(p.constants.len());
    for (i, c) in p.constants.iter().enumerate() {
        match (c.committed, c.bits) {
            (true, Some(2..=64)) | (false, None) => {}
            _ => {
                return Err(bad(format!(
                    "constant {i} ('{}'): a committed constant has bits in 2..=64, and only a committed one has bits",
                    c.name
                )))
            }
        }
        if c.shape.is_empty() || c.shape.contains(&0) {
            return Err(bad(format!(
                "constant {i} ('{}') has shape {:?}; dimensions must be positive",
                c.name, c.shape
            )));
        }
        let n = c
            .shape
            .iter()
            .try_fold(1usize, |acc, d| acc.checked_mul(*d))
            .and_then(|n| total.checked_add(n).map(|t| (n, t)))
            .filter(|(_, t)| *t <= MAX_CONSTANT_ELEMENTS);
        let Some((n, t)) = n else {
            return Err(bad(format!(
                "constant {i} ('{}') has shape {:?}: the constants would hold more than {MAX_CONSTANT_ELEMENTS} elements in all",
                c.name, c.shape
            )));
        };
        sizes.push(n);
        total = t;
    }
    // Committed constants take no room in the blob.
    let total: usize = p.constants.iter().zip(&sizes).filter(|(c, _)| !c.committed).map(|(_, n)| n).sum();
    let length_error = |held: u64| {
        bad(format!(
            "constants.bin holds {held} bytes, but the constants need exactly {} (8 bytes for each of {total} elements)",
            8 * total
        ))
    };
    let mut file = match source {
        Constants::Bytes(blob) => {
            if blob.len() != 8 * total {
                return Err(length_error(blob.len() as u64));
            }
            None
        }
        Constants::File(path) => {
            let cannot = |e: std::io::Error| Error::io(format!("cannot read {}", path.display()), e);
            let f = std::fs::File::open(path).map_err(cannot)?;
            let held = f.metadata().map_err(cannot)?.len();
            if held != 8 * total as u64 {
                return Err(length_error(held));
            }
            Some(f)
        }
    };
    let mut decoder = Decoder::new(p, &sizes);
    let (digest, checked) = std::thread::scope(|scope| -> Result<(PendingDigest, Result<()>)> {
        match source {
            Constants::Bytes(blob) => {
                let hasher = scope.spawn(move || hex(&Sha256::digest(blob)));
                blob.chunks(CHUNK).for_each(|chunk| decoder.feed(chunk));
                let checked = then(&decoder.constants);
                let digest = hasher.join().expect("hashing does not panic");
                Ok((PendingDigest::Done(digest, p.constants_sha256.clone()), checked))
            }
            Constants::File(path) => {
                use std::io::Read;
                let f = file.as_mut().expect("opened above");
                use std::sync::mpsc;
                // Chunks go to the hashing thread and come back to be filled
                // again: a few chunks in flight, whatever the file's size.
                // Deferred (`defer`), the hashing thread reads the file on its
                // own instead, so that decoding never waits for it; its digest
                // may still be coming when this returns. (Should the file
                // change between the two reads, the caller's proof, made from
                // the decoded values, fails its self-check.)
                let (give_back, returned) = mpsc::channel::<Vec<u8>>();
                let (to_hash, hashing) = match defer {
                    false => {
                        let (to_hash, hashing) = mpsc::sync_channel::<Vec<u8>>(2);
                        (Some(to_hash), Some(hashing))
                    }
                    true => (None, None),
                };
                let own_path = path.to_path_buf();
                let hasher = std::thread::Builder::new()
                    .name("zkml-constants-hash".into())
                    .spawn(move || {
                        let mut h = Sha256::new();
                        match hashing {
                            Some(hashing) => {
                                for chunk in hashing {
                                    h.update(&chunk);
                                    let _ = give_back.send(chunk);
                                }
                            }
                            None => {
                                let mut read = || -> std::io::Result<()> {
                                    let mut f = std::fs::File::open(&own_path)?;
                                    let mut buf = vec![0u8; CHUNK];
                                    loop {
                                        match f.read(&mut buf)? {
                                            0 => return Ok(()),
                                            n => h.update(&buf[..n]),
                                        }
                                    }
                                };
                                if let Err(e) = read() {
                                    return format!("(not known: the file could not be read again: {e})");
                                }
                            }
                        }
                        hex(&h.finalize())
                    })
                    .map_err(|e| Error::io("cannot start a thread to hash constants.bin", e))?;
                let cannot = |e: std::io::Error| Error::io(format!("cannot read {}", path.display()), e);
                let mut left = 8 * total;
                let mut spare: Option<Vec<u8>> = None;
                while left > 0 {
                    let mut chunk = spare.take().or_else(|| returned.try_recv().ok()).unwrap_or_default();
                    chunk.resize(left.min(CHUNK), 0);
                    f.read_exact(&mut chunk).map_err(|e| match e.kind() {
                        std::io::ErrorKind::UnexpectedEof => bad(format!(
                            "constants.bin holds fewer than {} bytes (it changed while it was read)",
                            8 * total
                        )),
                        _ => cannot(e),
                    })?;
                    decoder.feed(&chunk);
                    left -= chunk.len();
                    if let Some(to_hash) = &to_hash {
                        if to_hash.send(chunk).is_err() {
                            break;
                        }
                    } else {
                        spare = Some(chunk);
                    }
                }
                if f.read(&mut [0u8; 1]).map_err(cannot)? != 0 {
                    return Err(bad(format!(
                        "constants.bin holds more than {} bytes (it changed while it was read)",
                        8 * total
                    )));
                }
                drop(to_hash);
                drop(returned);
                let checked = then(&decoder.constants);
                Ok((PendingDigest::Running(hasher, p.constants_sha256.clone()), checked))
            }
        }
    })?;
    // A wrong hash is reported before what the values' checks found.
    if checked.is_err() || !defer || matches!(digest, PendingDigest::Done(..)) {
        digest.check()?;
        checked?;
        return Ok((decoder.constants, None));
    }
    Ok((decoder.constants, Some(digest)))
}

/// The SHA-256 of `constants.bin` and the `constants_sha256` the program
/// records, the first perhaps still being computed on its own thread.
pub enum PendingDigest {
    Done(String, String),
    Running(std::thread::JoinHandle<String>, String),
}

impl PendingDigest {
    /// Waits for the digest; a mismatch is an [`Error::Program`] naming both.
    pub fn check(self) -> Result<()> {
        let (digest, expected) = match self {
            PendingDigest::Done(d, e) => (d, e),
            PendingDigest::Running(thread, e) => (thread.join().expect("hashing does not panic"), e),
        };
        if expected != digest {
            return Err(bad(format!(
                "constants.bin has SHA-256 {digest}, but the program records constants_sha256 '{expected}' \
                 (the two files do not belong together)"
            )));
        }
        Ok(())
    }
}

/// The constants filled in order from the blob's chunks: each committed
/// constant holds its placeholders from the start, each other one takes the
/// next elements of the blob, stored in the narrowest width that holds them
/// (widened when a value that does not fit comes).
struct Decoder {
    constants: Vec<Constant>,
    /// The constant being filled (the next one not committed).
    at: usize,
    /// One chunk's elements as i64.
    words: Vec<i64>,
}

impl Decoder {
    fn new(p: &Program, sizes: &[usize]) -> Decoder {
        let constants = p
            .constants
            .iter()
            .zip(sizes)
            .map(|(c, &n)| {
                let data = match c.bits {
                    Some(bits) if c.committed => Values::filled(Width::for_bits(bits), -1i64 << (bits - 1), n),
                    _ => Values::empty(Width::W8, n),
                };
                Constant {
                    name: c.name.clone(),
                    shape: c.shape.clone(),
                    data,
                    committed: c.bits.filter(|_| c.committed),
                }
            })
            .collect();
        let mut decoder = Decoder { constants, at: 0, words: Vec::new() };
        decoder.skip_full();
        decoder
    }

    /// Move past committed and filled constants.
    fn skip_full(&mut self) {
        while let Some(c) = self.constants.get(self.at) {
            if c.committed.is_none() && c.data.len() < c.shape.iter().product() {
                break;
            }
            self.at += 1;
        }
    }

    /// The next elements of the blob, as little-endian i64 (the caller has
    /// checked the blob's length: every element has its place).
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let c = &mut self.constants[self.at];
            let n = c.shape.iter().product::<usize>();
            let take = (n - c.data.len()).min(bytes.len() / 8);
            let (now, rest) = bytes.split_at(8 * take);
            self.words.clear();
            self.words.extend(now.chunks_exact(8).map(|w| i64::from_le_bytes(w.try_into().expect("8 bytes"))));
            c.data.extend(&self.words, n);
            bytes = rest;
            self.skip_full();
        }
    }
}

/// Validate the document against its decoded constants: tensors, inputs and
/// outputs, the read-after-write and single-write rules, and each
/// instruction's own fields (through its op).
pub fn validate(p: &Program, constants: &[Constant]) -> Result<()> {
    check_header(p)?;
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
            .ok_or_else(|| {
                bad(format!(
                    "tensor {i} ('{}') has shape {:?}: more than {MAX_TENSOR_ELEMENTS} elements",
                    t.name, t.shape
                ))
            })?;
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
        tensor(io.tensor, &format!("input '{}'", io.name))?;
        if std::mem::replace(&mut written[io.tensor], true) {
            return Err(bad(format!("tensor {} is listed twice as an input", io.tensor)));
        }
    }
    for (k, ins) in p.instructions.iter().enumerate() {
        let op = ins.op();
        let what = format!("instruction {k} ({})", op.name());
        if op.inputs().is_empty() {
            return Err(bad(format!("{what}: inputs is empty (an instruction reads at least one tensor)")));
        }
        let mut inputs = Vec::with_capacity(op.inputs().len());
        for &i in op.inputs() {
            let x = tensor(i, &what)?;
            if !written[i] {
                return Err(bad(format!("{what} reads tensor {i} ('{}') before it is written", x.name)));
            }
            inputs.push(x);
        }
        let output = tensor(op.output(), &what)?;
        if std::mem::replace(&mut written[op.output()], true) {
            return Err(bad(format!(
                "{what} writes tensor {} ('{}'), which is already written",
                op.output(),
                output.name
            )));
        }
        for (field, c) in op.constants() {
            if constants.get(c).is_some_and(|k| k.committed.is_some()) && !op.committable().contains(&field) {
                return Err(bad(format!(
                    "{what}: {field} refers to committed constant {c} ('{}'), but only {} can be committed here",
                    constants[c].name,
                    if op.committable().is_empty() { "none".to_string() } else { op.committable().join(" and ") }
                )));
            }
        }
        op.validate(&Operands { what, inputs, output, constants, committed: &[] })?;
    }
    for io in &p.outputs {
        tensor(io.tensor, &format!("output '{}'", io.name))?;
        if !written[io.tensor] {
            return Err(bad(format!("output '{}' (tensor {}) is never written", io.name, io.tensor)));
        }
    }
    // Every tensor is a model input or an instruction's output (as the Python
    // validator requires): a dangling tensor means a malformed program.
    if let Some(i) = written.iter().position(|w| !w) {
        return Err(bad(format!(
            "tensor {i} ('{}') is neither a model input nor written by an instruction",
            p.tensors[i].name
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::builder::ProgramBuilder;
    use super::*;
    use serde_json::json;

    /// A tiny program: input [1,3] (bits 8) -> linear to [1,2] (shift 2) -> relu.
    pub fn tiny_builder() -> ProgramBuilder {
        let mut b = ProgramBuilder::new("tiny");
        let x = b.tensor("x", &[1, 3], 2, 8);
        let h = b.tensor("h", &[1, 2], 2, 8);
        let y = b.tensor("y", &[1, 2], 2, 8);
        b.input("x", x);
        b.output("y", y);
        let w = b.constant("w", &[2, 3], &[1, -2, 3, -4, 5, -6]);
        let bias = b.constant("b", &[2], &[2, -2]);
        b.instruction(json!({"op": "linear", "inputs": [x], "output": h, "weight": w, "bias": bias, "shift": 2}));
        b.instruction(json!({"op": "relu", "inputs": [h], "output": y}));
        b
    }

    /// The tiny program as (circuit.json, constants.bin).
    pub fn tiny_program() -> (Vec<u8>, Vec<u8>) {
        tiny_builder().build()
    }

    fn parse(doc: &serde_json::Value, blob: &[u8]) -> Result<Circuit> {
        Circuit::from_parts(&serde_json::to_vec(doc).unwrap(), blob)
    }

    fn message(r: Result<Circuit>) -> String {
        match r {
            Err(Error::Program(m)) => m,
            Err(e) => panic!("expected a program error, got {e}"),
            Ok(_) => panic!("expected a program error, the program was accepted"),
        }
    }

    #[test]
    fn parses_and_validates_the_tiny_program() {
        let (json, blob) = tiny_program();
        let c = Circuit::from_parts(&json, &blob).unwrap();
        assert_eq!(c.program.instructions.len(), 2);
        assert_eq!(c.hash_hex(), hex(&Sha256::digest(&json)));
        assert_eq!(c.constants[0].data.to_vec(), vec![1, -2, 3, -4, 5, -6]);
        assert_eq!(c.constants[1].shape, vec![2]);
    }

    #[test]
    fn rejects_unknown_fields_and_ops() {
        let b = tiny_builder();
        let blob = b.blob();
        let mut doc = b.document();
        doc["instructions"][0]["extra"] = json!(1);
        assert!(message(parse(&doc, &blob)).contains("unknown field `extra`"));
        let mut doc = b.document();
        doc["instructions"][1]["op"] = json!("sigmoid");
        assert!(message(parse(&doc, &blob)).contains("unknown variant `sigmoid`"));
        let mut doc = b.document();
        doc["constants"][0]["scale"] = json!(0);
        assert!(message(parse(&doc, &blob)).contains("unknown field `scale`"));
        let mut doc = b.document();
        doc["extra"] = json!(0);
        assert!(message(parse(&doc, &blob)).contains("unknown field `extra`"));
        // Free-form keys under "meta" are fine.
        let mut doc = b.document();
        doc["meta"] = json!({"anything": [1, 2]});
        assert!(parse(&doc, &blob).is_ok());
        // Version 1 (inline weights) is refused with a clear message.
        let mut doc = b.document();
        doc["version"] = json!(1);
        assert!(message(parse(&doc, &blob)).contains("version 1 is not supported"));
    }

    #[test]
    fn rejects_read_before_write_and_double_write() {
        let b = tiny_builder();
        let blob = b.blob();
        let mut doc = b.document();
        doc["instructions"][1]["inputs"] = json!([2]);
        assert!(message(parse(&doc, &blob)).contains("instruction 1 (relu) reads tensor 2 ('y') before it is written"));
        let mut doc = b.document();
        doc["instructions"][1]["output"] = json!(1);
        assert!(message(parse(&doc, &blob))
            .contains("instruction 1 (relu) writes tensor 1 ('h'), which is already written"));
        let mut doc = b.document();
        doc["instructions"][1]["inputs"] = json!([]);
        assert!(message(parse(&doc, &blob)).contains("instruction 1 (relu): inputs is empty"));
        let mut doc = b.document();
        doc["instructions"][1]["inputs"] = json!([7]);
        assert!(message(parse(&doc, &blob)).contains("instruction 1 (relu) refers to tensor 7, but there are 3"));
        let mut doc = b.document();
        doc["outputs"][0]["tensor"] = json!(9);
        assert!(message(parse(&doc, &blob)).contains("output 'y' refers to tensor 9"));
    }

    #[test]
    fn the_constants_must_match_their_hash_length_and_shapes() {
        let b = tiny_builder();
        let (json, blob) = b.build();
        // One byte changed: the hash no longer matches.
        let mut other = blob.clone();
        other[0] ^= 1;
        assert!(message(Circuit::from_parts(&json, &other)).contains("do not belong together"));
        // One word too many or too few.
        let mut longer = blob.clone();
        longer.extend(0i64.to_le_bytes());
        assert!(
            message(Circuit::from_parts(&json, &longer)).contains("holds 72 bytes, but the constants need exactly 64")
        );
        assert!(message(Circuit::from_parts(&json, &blob[..56])).contains("holds 56 bytes"));
        assert!(message(Circuit::from_parts(&json, &blob[..61])).contains("holds 61 bytes"));
        // The hash must be lowercase hex.
        let mut doc = b.document();
        doc["constants_sha256"] = json!(hex(&Sha256::digest(&blob)).to_uppercase());
        assert!(message(parse(&doc, &blob)).contains("do not belong together"));
        // Shapes: positive, rank >= 1, at most 2^28 elements in all.
        for shape in [json!([]), json!([0, 3]), json!([-1])] {
            let mut doc = b.document();
            doc["constants"][0]["shape"] = shape.clone();
            let m = message(parse(&doc, &blob));
            assert!(m.contains("dimensions must be positive") || m.contains("cannot parse"), "{shape}: {m}");
        }
        for shape in [json!([16384, 16385]), json!([4294967296u64, 4294967296u64])] {
            let mut doc = b.document();
            doc["constants"][0]["shape"] = shape;
            assert!(message(parse(&doc, &blob)).contains("more than 268435456 elements in all"));
        }
        // Exactly 2^28 elements in all is the limit, not over it (the blob is
        // then the wrong length, which is the next check).
        let mut doc = b.document();
        doc["constants"][0]["shape"] = json!([(1 << 28) - 2]);
        assert!(message(parse(&doc, &blob)).contains("the constants need exactly 2147483648"));
    }

    #[test]
    fn constants_read_from_their_file_are_the_bytes_with_the_same_checks() {
        let dir = std::env::temp_dir().join(format!("zkml-constants-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("constants.bin");
        let from_file = |json: &[u8], blob: &[u8]| {
            std::fs::write(&path, blob).unwrap();
            Circuit::from_source(json, Constants::File(&path))
        };
        // A committed constant between two in the blob.
        let mut b = tiny_builder();
        let extra = b.constant("unused", &[3], &[7, -8, 9]);
        b.commit_constant(0, 8);
        let (json, blob) = b.build();
        let (bytes, file) = (Circuit::from_parts(&json, &blob).unwrap(), from_file(&json, &blob).unwrap());
        assert_eq!(bytes.hash, file.hash);
        let values = |c: &Circuit| c.constants.iter().map(|k| (k.data.clone(), k.committed)).collect::<Vec<_>>();
        assert_eq!(values(&bytes), values(&file));
        assert_eq!(file.constants[extra].data.to_vec(), vec![7, -8, 9]);
        assert_eq!(file.constants[0].data, Values::I8(vec![-128; 6]));
        // The same refusals, in the same words.
        let (json, blob) = tiny_program();
        let mut other = blob.clone();
        other[63] ^= 1;
        assert_eq!(message(from_file(&json, &other)), message(Circuit::from_parts(&json, &other)));
        assert!(message(from_file(&json, &other)).contains("do not belong together"));
        for cut in [56, 61, 0] {
            assert_eq!(message(from_file(&json, &blob[..cut])), message(Circuit::from_parts(&json, &blob[..cut])));
        }
        let mut longer = blob.clone();
        longer.extend(0i64.to_le_bytes());
        assert!(message(from_file(&json, &longer)).contains("holds 72 bytes, but the constants need exactly 64"));
        // Hashed behind: the same circuit, and the same refusal once the digest is checked.
        std::fs::write(&path, &blob).unwrap();
        let (behind, digest) = Circuit::from_source_hashing_behind(&json, Constants::File(&path)).unwrap();
        assert_eq!(values(&behind), values(&Circuit::from_parts(&json, &blob).unwrap()));
        digest.expect("a file's digest comes behind").check().unwrap();
        std::fs::write(&path, &other).unwrap();
        let (_, digest) = Circuit::from_source_hashing_behind(&json, Constants::File(&path)).unwrap();
        let err = digest.unwrap().check().err().unwrap();
        assert_eq!(message(Err(err)), message(Circuit::from_parts(&json, &other)));
        // Bytes are hashed before it returns; a length is checked at once.
        assert!(message(Circuit::from_source_hashing_behind(&json, Constants::Bytes(&other)).map(|(c, _)| c))
            .contains("do not belong together"));
        assert!(Circuit::from_source_hashing_behind(&json, Constants::Bytes(&blob)).unwrap().1.is_none());
        std::fs::write(&path, &longer).unwrap();
        assert!(message(Circuit::from_source_hashing_behind(&json, Constants::File(&path)).map(|(c, _)| c))
            .contains("holds 72 bytes"));
        std::fs::remove_file(&path).unwrap();
        match Circuit::from_source(&json, Constants::File(&path)) {
            Err(e @ Error::Io { .. }) => assert!(e.to_string().starts_with(&format!("cannot read {}", path.display()))),
            other => panic!("expected an I/O error, got {:?}", other.map(|_| ())),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn chunks_of_any_length_decode_the_same_constants() {
        let mut b = tiny_builder();
        b.constant("c", &[5], &[i64::MIN, -1, 0, 1, i64::MAX]);
        b.constant("d", &[1], &[42]);
        b.commit_constant(1, 16);
        let (json, blob) = b.build();
        let whole = Circuit::from_parts(&json, &blob).unwrap();
        let program: Program = serde_json::from_slice(&json).unwrap();
        let sizes: Vec<usize> = program.constants.iter().map(|c| c.shape.iter().product()).collect();
        for words in 1..=blob.len() / 8 {
            let mut d = Decoder::new(&program, &sizes);
            blob.chunks(8 * words).for_each(|chunk| d.feed(chunk));
            let got: Vec<_> = d.constants.iter().map(|c| c.data.clone()).collect();
            let want: Vec<_> = whole.constants.iter().map(|c| c.data.clone()).collect();
            assert_eq!(got, want, "chunks of {words} words");
        }
    }

    #[test]
    fn a_constant_reference_must_exist_and_have_the_op_s_shape() {
        let b = tiny_builder();
        let blob = b.blob();
        let mut doc = b.document();
        doc["instructions"][0]["bias"] = json!(5);
        assert_eq!(message(parse(&doc, &blob)), "instruction 0 (linear): bias refers to constant 5, but there are 2");
        let mut doc = b.document();
        doc["instructions"][0]["bias"] = json!(0);
        assert_eq!(
            message(parse(&doc, &blob)),
            "instruction 0 (linear): bias (constant 0, 'w') has shape [2, 3], expected [N] = [2]"
        );
    }

    #[test]
    fn rejects_bad_weight_shape_and_huge_accumulators() {
        let mut b = tiny_builder();
        b.set_constant(0, &[3, 2], &[1, -2, 3, -4, 5, -6]);
        assert!(message(b.circuit()).contains("weight (constant 0, 'w') has shape [3, 2], expected [N, K] = [2, 3]"));
        // 64-bit inputs times 2^62-sized weights: |acc| could reach 2^126.
        let mut b = tiny_builder();
        b.set_tensor_bits(0, 64);
        b.set_constant(0, &[2, 3], &[1 << 62, 1, 1, -4, 5, -6]);
        assert!(message(b.circuit()).contains("instruction 0 (linear): the accumulator of output 0 could reach 2^120"));
    }

    #[test]
    fn a_tensor_of_2_pow_32_elements_is_refused_before_anything_is_allocated() {
        let b = tiny_builder();
        let blob = b.blob();
        let mut doc = b.document();
        doc["tensors"][0]["shape"] = json!([1, 4294967296u64]);
        let m = message(parse(&doc, &blob));
        assert!(m.contains("more than 67108864 elements"), "{m}");
        let mut doc = b.document();
        doc["tensors"][0]["shape"] = json!([8192, 8192, 2]);
        assert!(parse(&doc, &blob).is_err());
    }

    #[test]
    fn rejects_out_of_range_bits() {
        let mut b = tiny_builder();
        b.set_tensor_bits(0, 65);
        assert!(message(b.circuit()).contains("bits=65, must be 2..=64"));
        let mut b = tiny_builder();
        b.set_tensor_bits(2, 1);
        assert!(b.circuit().is_err());
    }
}
