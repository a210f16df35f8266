//! Program -> R1CS + witness: runs each instruction's gadget in order.

use ark_bn254::Fr;

use crate::error::{Error, Result};
use crate::gadgets::{linear::linear, pack::pack_public, range::signed_value, relu::relu, Value};
use crate::program::{Circuit, Instruction};
use crate::r1cs::{ConstraintSystem, R1cs};

pub struct Synthesis {
    pub r1cs: R1cs,
    /// Full assignment (1, public..., private...).
    pub assignment: Vec<Fr>,
    /// The model outputs as quantized integers, one flat vector per output.
    pub outputs: Vec<Vec<i64>>,
}

impl Synthesis {
    pub fn public_inputs(&self) -> &[Fr] {
        &self.assignment[1..=self.r1cs.num_public]
    }
}

/// Build the constraint system for `circuit` and assign it for `inputs`
/// (quantized integers, one flat row-major vector per model input). With no
/// inputs (trusted setup), an all-zero input is used: the structure of the
/// system never depends on the values.
pub fn synthesize(circuit: &Circuit, inputs: Option<&[Vec<i64>]>) -> Result<Synthesis> {
    let p = &circuit.program;
    let zeros: Vec<Vec<i64>>;
    let inputs = match inputs {
        Some(x) => x,
        None => {
            zeros = p.inputs.iter().map(|io| vec![0; p.tensors[io.tensor].len()]).collect();
            &zeros
        }
    };
    if inputs.len() != p.inputs.len() {
        return Err(Error::InputShape(format!(
            "the model takes {} input(s), got {}",
            p.inputs.len(),
            inputs.len()
        )));
    }
    let mut cs = ConstraintSystem::new();
    let mut tensors: Vec<Option<Vec<Value>>> = vec![None; p.tensors.len()];

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
        if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| (**v as i128) < spec.min() || (**v as i128) > spec.max()) {
            return Err(Error::OutOfRange(format!(
                "input '{}' element {i} quantizes to {v}, outside the {}-bit range [{}, {}]",
                io.name,
                spec.bits,
                spec.min(),
                spec.max()
            )));
        }
        cs.region(format!("input '{}'", io.name));
        tensors[io.tensor] = Some(values.iter().map(|v| signed_value(&mut cs, *v as i128, spec.bits)).collect());
    }

    for (k, ins) in p.instructions.iter().enumerate() {
        let out_spec = &p.tensors[ins.output()];
        let label = format!("#{k} {} -> '{}'", ins.op(), out_spec.name);
        cs.region(label.clone());
        let x = tensors[ins.input()].as_ref().expect("validated: read after write");
        let y = match ins {
            Instruction::Linear { weight, bias, shift, .. } => linear(&mut cs, x, weight, bias, *shift, out_spec, &label)?,
            Instruction::Relu { .. } => x.iter().map(|v| relu(&mut cs, v)).collect(),
            Instruction::Reshape { .. } => x.clone(),
        };
        tensors[ins.output()] = Some(y);
    }

    cs.region("public inputs");
    for io in p.inputs.iter().chain(&p.outputs) {
        let values = tensors[io.tensor].as_ref().expect("validated: written");
        pack_public(&mut cs, values, p.tensors[io.tensor].bits);
    }

    let outputs = p
        .outputs
        .iter()
        .map(|io| tensors[io.tensor].as_ref().expect("validated").iter().map(|v| v.val as i64).collect())
        .collect();
    let (r1cs, assignment) = cs.finish();
    Ok(Synthesis { r1cs, assignment, outputs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::tiny_program_json;

    fn tiny() -> Circuit {
        Circuit::from_json(tiny_program_json().as_bytes()).unwrap()
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

    #[test]
    fn structure_does_not_depend_on_the_input() {
        let a = synthesize(&tiny(), None).unwrap();
        let b = synthesize(&tiny(), Some(&[vec![10, -10, 3]])).unwrap();
        assert_eq!(a.r1cs.digest(), b.r1cs.digest());
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

    /// A random program: input [1, k] at `bits`, linear to [1, n], relu,
    /// reshape to [n], with weights, bias and shift drawn from `rng`.
    fn random_program(rng: &mut impl rand::Rng) -> (String, usize, u32) {
        let (k, n) = (rng.gen_range(1..5usize), rng.gen_range(1..4usize));
        let bits = rng.gen_range(4..12u32);
        let shift = rng.gen_range(0..4u32);
        let w: Vec<Vec<i64>> = (0..n).map(|_| (0..k).map(|_| rng.gen_range(-3..4)).collect()).collect();
        let b: Vec<i64> = (0..n).map(|_| rng.gen_range(-8..9)).collect();
        // Wide enough hidden tensors that honest values always fit.
        let hidden_bits = bits + 6;
        let json = format!(
            r#"{{"format":"zkml-program","version":1,"name":"random",
            "tensors":[{{"name":"x","shape":[1,{k}],"scale":0,"bits":{bits}}},
                       {{"name":"h","shape":[1,{n}],"scale":0,"bits":{hidden_bits}}},
                       {{"name":"r","shape":[1,{n}],"scale":0,"bits":{hidden_bits}}},
                       {{"name":"y","shape":[{n}],"scale":0,"bits":{hidden_bits}}}],
            "inputs":[{{"name":"x","tensor":0}}],
            "outputs":[{{"name":"y","tensor":3}}],
            "instructions":[
              {{"op":"linear","input":0,"output":1,"weight":{w:?},"bias":{b:?},"shift":{shift}}},
              {{"op":"relu","input":1,"output":2}},
              {{"op":"reshape","input":2,"output":3}}]}}"#
        );
        (json, k, bits)
    }

    /// The malicious-witness property, over random programs and inputs: an
    /// honest witness satisfies the system, and changing any one variable of
    /// it (input, bit, quotient, remainder, ReLU output or sign, packed public
    /// value) by +1, -1, a power of two, a wrap by r or a random element is
    /// rejected. A fully constrained circuit has exactly one witness for its
    /// public inputs, so every such change must break a constraint; a
    /// variable whose change goes unnoticed would be a free variable, the
    /// worst kind of soundness bug.
    #[test]
    fn every_single_variable_change_of_an_honest_witness_is_rejected() {
        use ark_ff::UniformRand;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
        let mut regions_seen = std::collections::BTreeSet::new();
        for case in 0..40 {
            let (json, k, bits) = random_program(&mut rng);
            let circuit = Circuit::from_json(json.as_bytes()).unwrap();
            let half = 1i64 << (bits - 1);
            let input: Vec<i64> = (0..k).map(|_| rng.gen_range(-half..half)).collect();
            let s = synthesize(&circuit, Some(std::slice::from_ref(&input))).unwrap();
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
                    assert!(row.is_some(), "case {case} ({json}, input {input:?}): variable {var} changed by {delta} went unnoticed");
                    regions_seen.insert(s.r1cs.label_of(row.unwrap()).split(" -> ").next().unwrap().to_string());
                }
            }
        }
        // Every kind of region the programs have was where some change was caught.
        for region in ["#0 linear", "#1 relu", "input 'x'"] {
            assert!(regions_seen.iter().any(|r| r.starts_with(region)), "no rejection in {region}: {regions_seen:?}");
        }
    }
}
