//! `relu`: one input; `y = max(x, 0)`; the output has the input's shape,
//! scale and bits. Cost: 1 constraint per value (`y = x * sign`, the sign
//! bit taken from the input's range check; gadgets/relu.rs).

use serde::Deserialize;

use super::{Op, Operands};
use crate::error::Result;
use crate::gadgets::{relu::relu, Value};
use crate::r1cs::ConstraintSystem;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relu {
    pub inputs: Vec<usize>,
    pub output: usize,
}

impl Op for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }
    fn inputs(&self) -> &[usize] {
        &self.inputs
    }
    fn output(&self) -> usize {
        self.output
    }
    fn constants(&self) -> Vec<(&'static str, usize)> {
        Vec::new()
    }

    fn validate(&self, at: &Operands) -> Result<()> {
        let x = at.one_input()?;
        let y = at.output;
        if x.shape != y.shape || x.bits != y.bits || x.scale != y.scale {
            return Err(at.err(format!(
                "the output '{}' (shape {:?}, scale {}, bits {}) must have the shape, scale and bits of the input '{}' ({:?}, {}, {})",
                y.name, y.shape, y.scale, y.bits, x.name, x.shape, x.scale, x.bits
            )));
        }
        Ok(())
    }

    fn synthesize(&self, cs: &mut ConstraintSystem, _at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>> {
        Ok(x[0].iter().map(|v| relu(cs, v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::tests::{assert_another_output_rejected, assert_single_changes_rejected, refused, with_input};
    use crate::program::builder::ProgramBuilder;
    use crate::synth::synthesize;
    use serde_json::json;

    fn program(shape: &[usize], scale: i32, bits: u32) -> ProgramBuilder {
        let (mut b, x) = with_input(&[2, 3], 8);
        let y = b.tensor("y", shape, scale, bits);
        b.output("y", y);
        b.instruction(json!({"op": "relu", "inputs": [x], "output": y}));
        b
    }

    #[test]
    fn zeroes_the_negative_values_for_one_constraint_each() {
        let s = synthesize(&program(&[2, 3], 0, 8).circuit().unwrap(), Some(&[vec![-128, -1, 0, 1, 127, -5]])).unwrap();
        assert_eq!(s.outputs, vec![vec![0, 0, 0, 1, 127, 0]]);
        assert_eq!(s.r1cs.constraints_by_label()[1], ("#0 relu -> 'y'".to_string(), 6));
    }

    #[test]
    fn relu_rejects_a_wrong_witness() {
        let c = program(&[2, 3], 0, 8).circuit().unwrap();
        let input = vec![vec![-128, -1, 0, 1, 127, -5]];
        assert_single_changes_rejected(&c, &input, 0);
        for i in [1, 3, 4] {
            assert_another_output_rejected(&c, &input, 0, i);
        }
    }

    #[test]
    fn validation() {
        assert!(refused(&program(&[3, 2], 0, 8))
            .starts_with("instruction 0 (relu): the output 'y' (shape [3, 2], scale 0, bits 8)"));
        assert!(refused(&program(&[6], 0, 8))
            .contains("must have the shape, scale and bits of the input 'x' ([2, 3], 0, 8)"));
        assert!(refused(&program(&[2, 3], 1, 8)).contains("must have"));
        assert!(refused(&program(&[2, 3], 0, 9)).contains("must have"));
        let mut b = program(&[2, 3], 0, 8);
        let z = b.tensor("z", &[2, 3], 0, 8);
        b.instruction(json!({"op": "relu", "inputs": [0, 1], "output": z}));
        assert_eq!(refused(&b), "instruction 1 (relu): takes one input, got 2");
    }
}
