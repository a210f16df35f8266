//! Program -> R1CS + witness: range-checks the inputs, runs each
//! instruction's op (`ops/`) in order, and packs the public signals.

use ark_bn254::Fr;

use crate::error::{Error, Result};
use crate::gadgets::commit::{commit_elements, commit_public};
use crate::gadgets::{pack::pack_public, pack::packed_lcs, range::signed_value, Value};
use crate::ops::Operands;
use crate::program::{Circuit, Visibility};
use crate::r1cs::{ConstraintSystem, Lc, R1cs, WitnessRows};

pub struct Synthesis {
    pub r1cs: R1cs,
    /// Full assignment (1, public..., private...); all zero after a
    /// structure-only synthesis.
    pub assignment: Vec<Fr>,
    /// The model outputs as quantized integers, one flat vector per output.
    pub outputs: Vec<Vec<i64>>,
}

impl Synthesis {
    pub fn public_inputs(&self) -> &[Fr] {
        &self.assignment[1..=self.r1cs.num_public]
    }
}

/// Check the quantized inputs against the program's inputs: their number,
/// each one's length and range.
fn check_inputs(circuit: &Circuit, inputs: &[Vec<i64>]) -> Result<()> {
    let p = &circuit.program;
    if inputs.len() != p.inputs.len() {
        return Err(Error::InputShape(format!("the model takes {} input(s), got {}", p.inputs.len(), inputs.len())));
    }
    for (io, values) in p.inputs.iter().zip(inputs) {
        let spec = &p.tensors[io.tensor];
        if values.len() != spec.len() {
            return Err(Error::InputShape(format!(
                "input '{}' needs {} values (shape {:?}), got {}",
                io.name,
                spec.len(),
                spec.shape,
                values.len()
            )));
        }
        if let Some((i, v)) =
            values.iter().enumerate().find(|(_, v)| (**v as i128) < spec.min() || (**v as i128) > spec.max())
        {
            return Err(Error::OutOfRange(format!(
                "input '{}' element {i} quantizes to {v}, outside the {}-bit range [{}, {}]",
                io.name,
                spec.bits,
                spec.min(),
                spec.max()
            )));
        }
    }
    Ok(())
}

/// Build the constraint system for `circuit` and assign it for `inputs`
/// (quantized integers, one flat row-major vector per model input).
///
/// With no inputs (setup, circuit statistics) the system is built in
/// structure-only mode: nothing is evaluated, every value is zero, and no
/// range error can arise, so a program whose output at some made-up input
/// would leave its range still gets its structure. The structure never
/// depends on the values, so it is the same as for any honest input.
pub fn synthesize(circuit: &Circuit, inputs: Option<&[Vec<i64>]>) -> Result<Synthesis> {
    synthesize_salted(circuit, inputs, &[])
}

/// [`synthesize`] for a circuit with hashed inputs or outputs: `salts` holds
/// one salt per hashed tensor, inputs then outputs in program order (none
/// are read in structure-only mode).
pub fn synthesize_salted(circuit: &Circuit, inputs: Option<&[Vec<i64>]>, salts: &[Fr]) -> Result<Synthesis> {
    let cs = match inputs {
        Some(inputs) => {
            check_witness_inputs(circuit, inputs, salts)?;
            ConstraintSystem::new()
        }
        None => ConstraintSystem::structure_only(),
    };
    let (cs, outputs) = build(circuit, inputs, salts, cs)?;
    let (r1cs, assignment) = cs.finish();
    Ok(Synthesis { r1cs, assignment, outputs })
}

/// The statistics of `circuit`'s constraint system (structure only, as
/// setup builds it), counted as it is built: its rows are never held
/// (see [`ConstraintSystem::counting`]).
pub fn count_constraints(circuit: &Circuit) -> Result<crate::r1cs::Counts> {
    let (cs, _) = build(circuit, None, &[], ConstraintSystem::counting())?;
    Ok(cs.finish_counts())
}

/// A witness-only synthesis ([`synthesize_witness`]): the assignment and
/// the row values A·z, B·z, C·z, no matrices.
pub struct WitnessSynthesis {
    pub witness: WitnessRows,
    /// The model outputs as quantized integers, one flat vector per output.
    pub outputs: Vec<Vec<i64>>,
}

/// [`synthesize_salted`] for proving, without the matrices: the gadgets
/// run as for a full synthesis, and each constraint row leaves only its
/// values `<A_i, z>`, `<B_i, z>`, `<C_i, z>` (see
/// [`ConstraintSystem::witness_only`]); gadgets skip building rows whose
/// values they know (a layer's weighted sums). `rows_hint` reserves room
/// for the QAP domain's rows.
pub fn synthesize_witness(
    circuit: &Circuit,
    inputs: &[Vec<i64>],
    salts: &[Fr],
    rows_hint: usize,
) -> Result<WitnessSynthesis> {
    check_witness_inputs(circuit, inputs, salts)?;
    let (cs, outputs) = build(circuit, Some(inputs), salts, ConstraintSystem::witness_only(rows_hint))?;
    Ok(WitnessSynthesis { witness: cs.finish_rows(), outputs })
}

/// The checks before a synthesis with values: the inputs, the committed
/// weights loaded, one salt per hashed tensor.
fn check_witness_inputs(circuit: &Circuit, inputs: &[Vec<i64>], salts: &[Fr]) -> Result<()> {
    check_inputs(circuit, inputs)?;
    if circuit.has_committed() && !circuit.weights_loaded {
        return Err(Error::InputShape(
            "this circuit's weights are committed: proving needs them (weights.bin)".to_string(),
        ));
    }
    if salts.len() != circuit.salt_count() {
        return Err(Error::InputShape(format!(
            "this circuit commits to {} hashed input(s)/output(s) and needs one salt for each, got {}",
            circuit.salt_count(),
            salts.len()
        )));
    }
    Ok(())
}

/// Runs every gadget of `circuit` on `cs` (of any mode); returns it with
/// the model outputs.
fn build(
    circuit: &Circuit,
    inputs: Option<&[Vec<i64>]>,
    salts: &[Fr],
    mut cs: ConstraintSystem,
) -> Result<(ConstraintSystem, Vec<Vec<i64>>)> {
    let p = &circuit.program;
    let mut tensors: Vec<Option<Vec<Value>>> = vec![None; p.tensors.len()];

    for (k, io) in p.inputs.iter().enumerate() {
        let spec = &p.tensors[io.tensor];
        cs.region(format!("input '{}'", io.name));
        let values = match inputs {
            Some(inputs) => inputs[k].iter().map(|v| signed_value(&mut cs, *v as i128, spec.bits)).collect(),
            None => (0..spec.len()).map(|_| signed_value(&mut cs, 0, spec.bits)).collect(),
        };
        tensors[io.tensor] = Some(values);
    }

    // Committed constants: private values, each range-checked to its width.
    let committed: Vec<Option<Vec<Value>>> = circuit
        .constants
        .iter()
        .map(|c| {
            c.committed.map(|bits| {
                cs.region(format!("committed constant '{}'", c.name));
                c.data.iter().map(|v| signed_value(&mut cs, v as i128, bits)).collect()
            })
        })
        .collect();

    for (k, ins) in p.instructions.iter().enumerate() {
        let op = ins.op();
        let output = &p.tensors[op.output()];
        cs.region(format!("#{k} {} -> '{}'", op.name(), output.name));
        let at = Operands {
            what: format!("instruction {k} ({})", op.name()),
            inputs: op.inputs().iter().map(|i| &p.tensors[*i]).collect(),
            output,
            constants: &circuit.constants,
            committed: &committed,
        };
        let x: Vec<&[Value]> =
            op.inputs().iter().map(|i| tensors[*i].as_deref().expect("validated: read after write")).collect();
        let y = op.synthesize(&mut cs, &at, &x)?;
        if y.len() != output.len() {
            return Err(Error::Internal(format!("{} made {} values for {} elements", at.what, y.len(), output.len())));
        }
        tensors[op.output()] = Some(y);
    }

    // The public signals, inputs then outputs: packed values for a public
    // tensor, one commitment for a hashed one, nothing for a private one.
    cs.region("public inputs");
    let mut salts = salts.iter();
    for io in circuit.io() {
        let values = tensors[io.tensor].as_ref().expect("validated: written");
        let bits = p.tensors[io.tensor].bits;
        match io.visibility {
            Visibility::Public => {
                pack_public(&mut cs, values, bits);
            }
            Visibility::Hashed => {
                cs.region(format!("commitment to '{}'", io.name));
                let salt = cs.alloc_private(salts.next().copied().unwrap_or_default());
                commit_public(&mut cs, values, bits, salt);
                cs.region("public inputs");
            }
            Visibility::Private => {}
        }
    }
    // The weights commitment, the last public signal: every committed
    // constant packed at its width, in constant order, chained from the last salt.
    if circuit.has_committed() {
        cs.region("weights commitment");
        let elements: Vec<Lc> = circuit
            .constants
            .iter()
            .zip(&committed)
            .filter_map(|(c, v)| Some(packed_lcs(v.as_ref()?, c.committed?)))
            .flatten()
            .collect();
        let salt = cs.alloc_private(salts.next().copied().unwrap_or_default());
        commit_elements(&mut cs, elements, salt);
    }

    let outputs = p
        .outputs
        .iter()
        .map(|io| tensors[io.tensor].as_ref().expect("validated").iter().map(|v| v.val as i64).collect())
        .collect();
    Ok((cs, outputs))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::program::builder::ProgramBuilder;
    use crate::program::tests::tiny_program;
    use rand::Rng;
    use serde_json::json;

    fn tiny() -> Circuit {
        let (json, blob) = tiny_program();
        Circuit::from_parts(&json, &blob).unwrap()
    }

    #[test]
    fn tiny_program_computes_floor_then_relu() {
        // h0 = floor((1*4 - 2*(-3) + 3*5 + 2)/4) = floor(27/4) = 6
        // h1 = floor((-4*4 + 5*(-3) - 6*5 - 2)/4) = floor(-63/4) = -16 -> relu 0
        let s = synthesize(&tiny(), Some(&[vec![4, -3, 5]])).unwrap();
        assert_eq!(s.outputs, vec![vec![6, 0]]);
        assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        // input [1,3] at 8 bits -> 1 element; output [1,2] -> 1 element
        assert_eq!(s.r1cs.num_public, 2);
    }

    fn tiny_with(input: &str, output: &str) -> Circuit {
        let (json, blob) = tiny_program();
        let mut doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        doc["inputs"][0]["visibility"] = json!(input);
        doc["outputs"][0]["visibility"] = json!(output);
        Circuit::from_parts(&serde_json::to_vec(&doc).unwrap(), &blob).unwrap()
    }

    #[test]
    fn a_hashed_tensor_is_one_public_commitment_and_a_private_one_is_nothing() {
        use crate::gadgets::commit::commitment;
        let salt = Fr::from(987654321u64);
        let s = synthesize_salted(&tiny_with("hashed", "public"), Some(&[vec![4, -3, 5]]), &[salt]).unwrap();
        assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        assert_eq!(s.r1cs.num_public, 2);
        assert_eq!(s.public_inputs()[0], commitment(&[4, -3, 5], 8, salt));
        assert_eq!(s.outputs, vec![vec![6, 0]]);
        // The input appears nowhere among the public signals.
        let plain = synthesize(&tiny(), Some(&[vec![4, -3, 5]])).unwrap();
        assert!(!s.public_inputs().contains(&plain.public_inputs()[0]));

        let s = synthesize_salted(&tiny_with("private", "hashed"), Some(&[vec![4, -3, 5]]), &[salt]).unwrap();
        assert_eq!(s.r1cs.num_public, 1);
        assert_eq!(s.public_inputs()[0], commitment(&[6, 0], 8, salt));
        assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);

        let s = synthesize(&tiny_with("private", "public"), Some(&[vec![4, -3, 5]])).unwrap();
        assert_eq!(s.r1cs.num_public, 1);
        assert_eq!(s.public_inputs(), &plain.public_inputs()[1..]);
    }

    #[test]
    fn hashed_tensors_need_exactly_one_salt_each_and_bind_the_values() {
        let c = tiny_with("hashed", "hashed");
        for salts in [&[][..], &[Fr::from(1u64)][..], &[Fr::from(1u64); 3][..]] {
            let err = synthesize_salted(&c, Some(&[vec![4, -3, 5]]), salts).err().unwrap();
            assert!(matches!(&err, Error::InputShape(m) if m.contains("needs one salt")), "{err}");
        }
        let salts = [Fr::from(11u64), Fr::from(12u64)];
        let s = synthesize_salted(&c, Some(&[vec![4, -3, 5]]), &salts).unwrap();
        assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        // Structure-only synthesis (setup) needs no salt and gives the same system.
        assert_eq!(synthesize(&c, None).unwrap().r1cs.digest(), s.r1cs.digest());
        // Another input under the same salts gives other commitments: a
        // witness for [4, -3, 6] cannot claim the public signals of [4, -3, 5].
        let other = synthesize_salted(&c, Some(&[vec![4, -3, 6]]), &salts).unwrap();
        assert_ne!(other.public_inputs()[0], s.public_inputs()[0]);
        let mut z = other.assignment.clone();
        z[1] = s.assignment[1];
        assert!(s.r1cs.first_unsatisfied(&z).is_some());
        // The public commitment cannot be moved either.
        let mut z = s.assignment.clone();
        z[2] += Fr::from(1u64);
        assert!(s.r1cs.first_unsatisfied(&z).is_some());
    }

    /// x [1, 3] at 8 bits -> linear [1, 2] (weights and bias committed at
    /// `wbits`/24 bits, shift 2) -> relu, output public; weights `w`, bias `b`.
    fn committed_linear(w: &[i64], b: &[i64], wbits: u32) -> (ProgramBuilder, usize) {
        let mut builder = ProgramBuilder::new("committed");
        let x = builder.tensor("x", &[1, 3], 0, 8);
        let h = builder.tensor("h", &[1, 2], 0, 16);
        let y = builder.tensor("y", &[1, 2], 0, 16);
        builder.input("x", x);
        builder.output("y", y);
        let wc = builder.constant("w", &[2, 3], w);
        let bc = builder.constant("b", &[2], b);
        builder.commit_constant(wc, wbits);
        builder.commit_constant(bc, 24);
        builder.instruction(json!({"op": "linear", "inputs": [x], "output": h, "weight": wc, "bias": bc, "shift": 2}));
        builder.instruction(json!({"op": "relu", "inputs": [h], "output": y}));
        (builder, wc)
    }

    fn load(builder: &ProgramBuilder) -> Circuit {
        let mut c = builder.circuit().unwrap();
        c.load_weights(&builder.weights()).unwrap();
        c
    }

    #[test]
    fn committed_weights_compute_the_layer_and_their_commitment_is_the_last_signal() {
        use crate::gadgets::commit::commitment_of_elements;
        use crate::gadgets::pack::packed_elements;
        let (b, _) = committed_linear(&[1, -2, 3, -4, 5, -6], &[2, -2], 8);
        let salt = Fr::from(4242u64);
        let s = synthesize_salted(&load(&b), Some(&[vec![4, -3, 5]]), &[salt]).unwrap();
        assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        assert_eq!(s.outputs, vec![vec![6, 0]]);
        // The input, the output, then the weights commitment.
        assert_eq!(s.r1cs.num_public, 3);
        let elements = [packed_elements(&[1, -2, 3, -4, 5, -6], 8), packed_elements(&[2, -2], 24)].concat();
        assert_eq!(s.public_inputs()[2], commitment_of_elements(&elements, salt));
    }

    #[test]
    fn the_structure_and_so_the_key_do_not_depend_on_the_committed_weights() {
        let (a, _) = committed_linear(&[1, -2, 3, -4, 5, -6], &[2, -2], 8);
        let (b, _) = committed_linear(&[0, 0, 7, 127, -128, 0], &[-9, 1000], 8);
        let (da, db) = (a.build(), b.build());
        assert_eq!(da, db, "circuit.json and constants.bin must not change with the weights");
        let structure = synthesize(&a.circuit().unwrap(), None).unwrap().r1cs.digest();
        for builder in [&a, &b] {
            let s = synthesize_salted(&load(builder), Some(&[vec![4, -3, 5]]), &[Fr::from(1u64)]).unwrap();
            assert_eq!(s.r1cs.digest(), structure);
            assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        }
    }

    #[test]
    fn committed_weights_reject_a_wrong_witness_and_out_of_range_weights() {
        let (b, _) = committed_linear(&[1, -2, 3, -4, 5, -6], &[2, -2], 8);
        let s = synthesize_salted(&load(&b), Some(&[vec![4, -3, 5]]), &[Fr::from(5u64)]).unwrap();
        // Every private value changed by one breaks some constraint: a weight,
        // a product, the bias, a bit of a range check...
        let first_private = 1 + s.r1cs.num_public;
        for i in first_private..s.assignment.len() {
            let mut z = s.assignment.clone();
            z[i] += Fr::from(1u64);
            assert!(s.r1cs.first_unsatisfied(&z).is_some(), "private variable {i} can change freely");
        }
        // A weight outside its width is refused when the weights are loaded.
        let (wide, _) = committed_linear(&[1, -2, 3, -4, 5, 128], &[2, -2], 8);
        let err = wide.circuit().unwrap().load_weights(&wide.weights()).err().unwrap();
        assert!(matches!(&err, Error::OutOfRange(m) if m.contains("element 5 is 128")), "{err}");
        // Proving without the weights, or with a wrong-length file, is an error.
        let err = synthesize_salted(&b.circuit().unwrap(), Some(&[vec![4, -3, 5]]), &[Fr::from(5u64)]).err().unwrap();
        assert!(matches!(&err, Error::InputShape(m) if m.contains("weights are committed")), "{err}");
        assert!(b.circuit().unwrap().load_weights(&b.weights()[8..]).is_err());
    }

    #[test]
    fn only_weights_and_biases_can_be_committed_and_widths_bound_the_accumulator() {
        // A gather's index table cannot be committed.
        let mut builder = ProgramBuilder::new("g");
        let x = builder.tensor("x", &[3], 0, 8);
        let y = builder.tensor("y", &[2], 0, 8);
        builder.input("x", x);
        builder.output("y", y);
        let index = builder.constant("index", &[2], &[0, 2]);
        builder.commit_constant(index, 8);
        builder.instruction(json!({"op": "gather", "inputs": [x], "output": y, "index": index}));
        let err = builder.circuit().err().unwrap();
        assert!(matches!(&err, Error::Program(m) if m.contains("only none can be committed")), "{err}");
        // 64-bit committed weights times 8-bit inputs over 3 terms stay below
        // 2^120; a 64-bit weight over a 64-bit input does not.
        let (b, _) = committed_linear(&[0; 6], &[0, 0], 64);
        assert!(b.circuit().is_ok());
        let mut doc = b.document();
        doc["tensors"][0]["bits"] = json!(64);
        let err = Circuit::from_parts(&serde_json::to_vec(&doc).unwrap(), &b.blob()).err().unwrap();
        assert!(matches!(&err, Error::Program(m) if m.contains("accumulator")), "{err}");
    }

    #[test]
    fn an_unknown_visibility_is_a_program_error() {
        let (json, blob) = tiny_program();
        let mut doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        doc["inputs"][0]["visibility"] = json!("secret");
        let err = Circuit::from_parts(&serde_json::to_vec(&doc).unwrap(), &blob).err().unwrap();
        assert!(matches!(&err, Error::Program(m) if m.contains("secret")), "{err}");
    }

    #[test]
    fn wrong_input_count_length_and_range_are_errors() {
        assert!(matches!(synthesize(&tiny(), Some(&[])), Err(Error::InputShape(_))));
        assert!(matches!(synthesize(&tiny(), Some(&[vec![1, 2]])), Err(Error::InputShape(_))));
        assert!(matches!(synthesize(&tiny(), Some(&[vec![1, 2, 128]])), Err(Error::OutOfRange(_))));
    }

    #[test]
    fn tampering_with_any_output_related_value_breaks_the_system() {
        let s = synthesize(&tiny(), Some(&[vec![4, -3, 5]])).unwrap();
        // The output's packed public element is the last public input.
        let out_col = s.r1cs.num_public;
        let mut z = s.assignment.clone();
        z[out_col] += Fr::from(1u64);
        assert!(s.r1cs.first_unsatisfied(&z).is_some());
    }

    /// x [2] at 8 bits -> affine y [1] at 8 bits: y = 2^13 x0 + 2^20. At
    /// x0 = -128 it is 0; at 0 it is 2^20, far outside 8 bits.
    fn out_of_range_at_zero() -> Circuit {
        let mut b = ProgramBuilder::new("bias");
        let x = b.tensor("x", &[2], 0, 8);
        let y = b.tensor("y", &[1], 0, 8);
        b.input("x", x);
        b.output("y", y);
        let index = b.constant("index", &[1, 2], &[0, 1]);
        let weight = b.constant("weight", &[1, 2], &[1 << 13, 0]);
        let row = b.constant("row", &[1], &[0]);
        let bias = b.constant("bias", &[1], &[1 << 20]);
        b.instruction(json!({"op": "affine", "inputs": [x], "output": y, "index": index, "weight": weight,
                             "row": row, "bias": bias, "shift": 0}));
        b.circuit().unwrap()
    }

    #[test]
    fn setup_needs_no_input_even_where_zero_would_be_out_of_range() {
        let c = out_of_range_at_zero();
        let structure = synthesize(&c, None).unwrap();
        assert!(structure.assignment[1..].iter().all(|v| *v == Fr::from(0u64)));
        let honest = synthesize(&c, Some(&[vec![-128, 5]])).unwrap();
        assert_eq!(honest.outputs, vec![vec![0]]);
        assert_eq!(honest.r1cs.first_unsatisfied(&honest.assignment), None);
        assert_eq!(structure.r1cs.digest(), honest.r1cs.digest());
        let err = synthesize(&c, Some(&[vec![0, 0]])).err().unwrap();
        assert!(
            matches!(&err, Error::OutOfRange(m) if m.starts_with("instruction 0 (affine): value 1048576 of tensor 'y'")),
            "{err}"
        );
    }

    /// A random program that uses every op:
    ///   x [1, k] (bits b), z [m] (bits bz): the inputs;
    ///   #0 linear x -> h [1, n] (bits b + 6);
    ///   #1 affine [h, z, h] -> a [o1] (bits b + 11), with -1 entries and
    ///      shared weight rows;
    ///   #2 relu a -> r;
    ///   #3 gather [r, a] -> g [o2], padded with at least one -1;
    ///   #4 max [g, r] -> mx [o3], rows with -1 entries (one valid at least);
    ///   #5 bilinear [x, z] -> bl [o4], products with -1 entries;
    ///   #6 function x -> fy (a random table, k up to 3);
    ///   #7 argmax [g, r] -> am [o5], rows with -1 entries;
    /// outputs mx, g and am. Returns it with a random in-range input.
    pub(crate) fn random_program(rng: &mut impl Rng) -> (Circuit, Vec<Vec<i64>>) {
        let (b, input) = random_build(rng);
        (b.circuit().unwrap(), input)
    }

    /// [`random_program`]'s builder (for its `circuit.json` and `constants.bin`).
    pub(crate) fn random_build(rng: &mut impl Rng) -> (ProgramBuilder, Vec<Vec<i64>>) {
        let mut b = ProgramBuilder::new("random");
        let (k, n, m) = (rng.gen_range(1..5usize), rng.gen_range(1..4usize), rng.gen_range(1..4usize));
        let bits = rng.gen_range(4..11u32);
        let bz = rng.gen_range(2..8u32);
        // Wide enough hidden tensors that honest values always fit.
        let (hb, ab) = (bits + 6, bits + 11);
        let x = b.tensor("x", &[1, k], 0, bits);
        let z = b.tensor("z", &[m], 1, bz);
        b.input("x", x);
        b.input("z", z);
        let small = |rng: &mut dyn rand::RngCore, len: usize, lim: i64| -> Vec<i64> {
            (0..len).map(|_| rng.gen_range(-lim..=lim)).collect()
        };

        let h = b.tensor("h", &[1, n], 0, hb);
        let w = b.constant("lw", &[n, k], &small(rng, n * k, 3));
        let bias = b.constant("lb", &[n], &small(rng, n, 8));
        b.instruction(json!({"op": "linear", "inputs": [x], "output": h, "weight": w, "bias": bias, "shift": rng.gen_range(0..4)}));

        let (o1, t1, r1) = (rng.gen_range(1..5usize), rng.gen_range(1..5usize), rng.gen_range(1..3usize));
        let x_len = (2 * n + m) as i64;
        let a = b.tensor("a", &[o1], 0, ab);
        let index: Vec<i64> =
            (0..o1 * t1).map(|_| if rng.gen_ratio(1, 4) { -1 } else { rng.gen_range(0..x_len) }).collect();
        let index = b.constant("ai", &[o1, t1], &index);
        let weight = b.constant("aw", &[r1, t1], &small(rng, r1 * t1, 3));
        let row: Vec<i64> = (0..o1).map(|_| rng.gen_range(0..r1 as i64)).collect();
        let row = b.constant("ar", &[o1], &row);
        let bias = b.constant("ab", &[o1], &small(rng, o1, 8));
        b.instruction(json!({"op": "affine", "inputs": [h, z, h], "output": a, "index": index, "weight": weight,
                             "row": row, "bias": bias, "shift": rng.gen_range(0..4)}));

        let r = b.tensor("r", &[o1], 0, ab);
        b.instruction(json!({"op": "relu", "inputs": [a], "output": r}));

        let o2 = rng.gen_range(1..6usize);
        let g = b.tensor("g", &[o2], 0, ab);
        let mut index: Vec<i64> =
            (0..o2).map(|_| if rng.gen_ratio(1, 3) { -1 } else { rng.gen_range(0..2 * o1 as i64) }).collect();
        index[rng.gen_range(0..o2)] = -1;
        let index = b.constant("gi", &[o2], &index);
        b.instruction(json!({"op": "gather", "inputs": [r, a], "output": g, "index": index}));

        let (o3, t3) = (rng.gen_range(1..4usize), rng.gen_range(1..5usize));
        let mx = b.tensor("mx", &[o3], 0, ab);
        let x_len = (o2 + o1) as i64;
        let mut index: Vec<i64> =
            (0..o3 * t3).map(|_| if rng.gen_ratio(1, 3) { -1 } else { rng.gen_range(0..x_len) }).collect();
        for row in index.chunks_mut(t3) {
            let t = rng.gen_range(0..t3);
            row[t] = rng.gen_range(0..x_len);
        }
        let index = b.constant("mi", &[o3, t3], &index);
        b.instruction(json!({"op": "max", "inputs": [g, r], "output": mx, "index": index}));

        // Products of the inputs (x, z): |acc| < 3 2^(2 max(bits, bz) - 2) + 8.
        let (o4, t4) = (rng.gen_range(1..4usize), rng.gen_range(1..4usize));
        let bl = b.tensor("bl", &[o4], 0, 2 * bits.max(bz) + 2);
        let x_len = (k + m) as i64;
        let left: Vec<i64> =
            (0..o4 * t4).map(|_| if rng.gen_ratio(1, 4) { -1 } else { rng.gen_range(0..x_len) }).collect();
        let right: Vec<i64> = left.iter().map(|l| if *l < 0 { -1 } else { rng.gen_range(0..x_len) }).collect();
        let left = b.constant("bll", &[o4, t4], &left);
        let right = b.constant("blr", &[o4, t4], &right);
        let bias = b.constant("blb", &[o4], &small(rng, o4, 8));
        b.instruction(json!({"op": "bilinear", "inputs": [x, z], "output": bl, "left": left, "right": right,
                             "bias": bias, "shift": rng.gen_range(0..3)}));

        // A piecewise quadratic of x: |acc| <= 50 (1 + 2^(bits-1) + 2^(2 bits - 2)).
        let fk = rng.gen_range(1..=bits.min(3));
        let fy = b.tensor("fy", &[1, k], 0, 2 * bits + 6);
        let table = b.constant("ft", &[1 << fk, 3], &small(rng, 3 << fk, 50));
        b.instruction(json!({"op": "function", "inputs": [x], "output": fy, "table": table, "k": fk,
                             "shift": rng.gen_range(0..4)}));

        let (o5, t5) = (rng.gen_range(1..4usize), rng.gen_range(1..5usize));
        let am = b.tensor("am", &[o5], 0, crate::ops::argmax::label_bits(t5) + rng.gen_range(0..2));
        let x_len = (o2 + o1) as i64;
        let mut index: Vec<i64> =
            (0..o5 * t5).map(|_| if rng.gen_ratio(1, 3) { -1 } else { rng.gen_range(0..x_len) }).collect();
        for row in index.chunks_mut(t5) {
            let t = rng.gen_range(0..t5);
            row[t] = rng.gen_range(0..x_len);
        }
        let index = b.constant("ami", &[o5, t5], &index);
        b.instruction(json!({"op": "argmax", "inputs": [g, r], "output": am, "index": index}));

        b.output("mx", mx);
        b.output("g", g);
        b.output("am", am);
        let input = random_input(&b.circuit().unwrap(), rng);
        (b, input)
    }

    /// A random in-range input for every model input of `circuit`.
    fn random_input(circuit: &Circuit, rng: &mut impl Rng) -> Vec<Vec<i64>> {
        let p = &circuit.program;
        p.inputs
            .iter()
            .map(|io| {
                let t = &p.tensors[io.tensor];
                (0..t.len()).map(|_| rng.gen_range(t.min()..=t.max()) as i64).collect()
            })
            .collect()
    }

    #[test]
    fn structure_does_not_depend_on_the_input() {
        use rand::SeedableRng;
        let a = synthesize(&tiny(), None).unwrap();
        let b = synthesize(&tiny(), Some(&[vec![10, -10, 3]])).unwrap();
        assert_eq!(a.r1cs.digest(), b.r1cs.digest());
        // Every op, over random programs and inputs.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        for _ in 0..20 {
            let (circuit, input) = random_program(&mut rng);
            let structure = synthesize(&circuit, None).unwrap().r1cs.digest();
            assert_eq!(structure, synthesize(&circuit, Some(&input)).unwrap().r1cs.digest());
            for _ in 0..3 {
                let other = random_input(&circuit, &mut rng);
                assert_eq!(structure, synthesize(&circuit, Some(&other)).unwrap().r1cs.digest());
            }
        }
    }

    /// The counts of a counting synthesis against the full structure's.
    fn assert_counts_match(circuit: &Circuit) {
        let r = synthesize(circuit, None).unwrap().r1cs;
        let c = count_constraints(circuit).unwrap();
        assert_eq!(c.num_constraints, r.num_constraints());
        assert_eq!((c.num_variables, c.num_public), (r.num_variables, r.num_public));
        assert_eq!(c.nonzeros, r.a.num_nonzeros() + r.b.num_nonzeros() + r.c.num_nonzeros());
        assert_eq!(c.by_label, r.constraints_by_label());
    }

    #[test]
    fn counting_the_rows_gives_the_full_structure_s_statistics() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(77);
        for _ in 0..30 {
            assert_counts_match(&random_program(&mut rng).0);
        }
        for (i, o) in [("hashed", "public"), ("private", "hashed"), ("hashed", "hashed")] {
            assert_counts_match(&tiny_with(i, o));
        }
        assert_counts_match(&load(&committed_linear(&[1, -2, 3, -4, 5, -6], &[2, -2], 8).0));
        assert_counts_match(&out_of_range_at_zero());
    }

    /// A witness-only synthesis of `circuit` against the full one: the same
    /// assignment, outputs and labels, and row values that are the
    /// matrices' products.
    fn assert_witness_only_matches(circuit: &Circuit, input: &[Vec<i64>], salts: &[Fr]) {
        let s = synthesize_salted(circuit, Some(input), salts).unwrap();
        let r = &s.r1cs;
        let products: [Vec<Fr>; 3] =
            [&r.a, &r.b, &r.c].map(|m| (0..r.num_constraints()).map(|i| m.row_dot(i, &s.assignment)).collect());
        let w = synthesize_witness(circuit, input, salts, 0).unwrap();
        assert_eq!(w.outputs, s.outputs);
        let w = w.witness;
        assert_eq!(w.assignment, s.assignment);
        assert_eq!(w.num_public, r.num_public);
        assert_eq!(w.rows, products);
        assert_eq!(w.first_unsatisfied(), None);
        assert!((0..r.num_constraints()).all(|i| w.label_of(i) == r.label_of(i)));
    }

    #[test]
    fn witness_only_synthesis_records_the_matrix_row_products() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(31);
        for _ in 0..30 {
            let (circuit, input) = random_program(&mut rng);
            assert_witness_only_matches(&circuit, &input, &[]);
        }
        // Hashed and private inputs and outputs (Poseidon commitments).
        let input = [vec![4, -3, 5]];
        for (i, o, salts) in [
            ("hashed", "public", vec![Fr::from(987654321u64)]),
            ("private", "hashed", vec![Fr::from(5u64)]),
            ("hashed", "hashed", vec![Fr::from(11u64), Fr::from(12u64)]),
            ("private", "public", vec![]),
        ] {
            assert_witness_only_matches(&tiny_with(i, o), &input, &salts);
        }
        // Committed weights (their range checks, products and commitment).
        let (b, _) = committed_linear(&[1, -2, 3, -4, 5, -6], &[2, -2], 8);
        assert_witness_only_matches(&load(&b), &input, &[Fr::from(4242u64)]);
        // The errors before any row: the same as a full synthesis's.
        for (inputs, salts) in
            [(vec![vec![1, 2]], vec![]), (vec![vec![1, 2, 128]], vec![]), (input.to_vec(), vec![Fr::from(1u64)])]
        {
            let full = synthesize_salted(&tiny(), Some(&inputs), &salts).err().unwrap().to_string();
            let wit = synthesize_witness(&tiny(), &inputs, &salts, 0).err().unwrap().to_string();
            assert_eq!(full, wit);
        }
    }

    /// The malicious-witness property, over random programs (every op) and
    /// inputs: an honest witness satisfies the system, and changing any one
    /// variable of it (input, bit, quotient, remainder, ReLU output, padding
    /// zero, max result, difference bit or partial product, packed public
    /// value) by +1, -1, a power of two or a random element is rejected. A
    /// fully constrained circuit has exactly one witness for its public
    /// inputs, so every such change must break a constraint; a variable whose
    /// change goes unnoticed would be a free variable, the worst kind of
    /// soundness bug.
    #[test]
    fn every_single_variable_change_of_an_honest_witness_is_rejected() {
        use ark_ff::UniformRand;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
        let mut regions_seen = std::collections::BTreeSet::new();
        for case in 0..40 {
            let (circuit, input) = random_program(&mut rng);
            let s = synthesize(&circuit, Some(&input)).unwrap();
            assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None, "case {case}: honest witness rejected");
            let deltas = |rng: &mut rand_chacha::ChaCha20Rng| {
                [Fr::from(1u64), -Fr::from(1u64), Fr::from(1u64 << rng.gen_range(1..40)), Fr::rand(rng)]
            };
            // Variable 0 is the constant one; every other one must be pinned.
            for var in 1..s.assignment.len() {
                for delta in deltas(&mut rng) {
                    let mut z = s.assignment.clone();
                    z[var] += delta;
                    let row = s.r1cs.first_unsatisfied(&z);
                    assert!(
                        row.is_some(),
                        "case {case} ({:?}, input {input:?}): variable {var} changed by {delta} went unnoticed",
                        circuit.program
                    );
                    regions_seen.insert(s.r1cs.label_of(row.unwrap()).split(" -> ").next().unwrap().to_string());
                }
            }
        }
        // Every kind of region the programs have was where some change was caught.
        let expected = [
            "#0 linear",
            "#1 affine",
            "#2 relu",
            "#3 gather",
            "#4 max",
            "#5 bilinear",
            "#6 function",
            "#7 argmax",
            "input 'x'",
            "input 'z'",
            "public inputs",
        ];
        for op in crate::ops::OPS {
            assert!(expected.iter().any(|r| r.ends_with(op)), "the random programs do not use op '{op}'");
        }
        for region in expected {
            assert!(regions_seen.contains(region), "no rejection in {region}: {regions_seen:?}");
        }
    }
}
