//! `gather`: `index` `[O]` (entries in `[-1, |X|)`); `y[o] = X[index[o]]`,
//! or 0 where `index[o] = -1`. Every input and the output share scale and
//! bits. Reshape, transpose, slice, concat, pad, ...: free (one constraint
//! per instruction that pads, pinning its shared zero; gadgets/gather.rs).

use serde::Deserialize;

use super::{concat, Op, Operands};
use crate::error::Result;
use crate::gadgets::{gather::gather, Value};
use crate::r1cs::ConstraintSystem;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gather {
    pub inputs: Vec<usize>,
    pub output: usize,
    /// Constant `[O]`: positions in X, or -1 for the value 0.
    pub index: usize,
}

impl Op for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn inputs(&self) -> &[usize] {
        &self.inputs
    }
    fn output(&self) -> usize {
        self.output
    }
    fn constants(&self) -> Vec<(&'static str, usize)> {
        vec![("index", self.index)]
    }

    fn validate(&self, at: &Operands) -> Result<()> {
        at.same_bits_and_scale()?;
        let index = at.constant("index", self.index, &[("O", Some(at.output.len()))])?;
        at.check_index("index", self.index, index)
    }

    fn synthesize(&self, cs: &mut ConstraintSystem, at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>> {
        Ok(gather(cs, &concat(x), &at.constants[self.index].data.to_i64()))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::tests::{assert_another_output_rejected, assert_single_changes_rejected, refused};
    use crate::program::builder::ProgramBuilder;
    use crate::synth::synthesize;
    use serde_json::json;

    /// a [2, 2] and c [1] at 8 bits; y [3, 2] gathers a transposed, c, a pad
    /// and a repeat: X = (a00, a01, a10, a11, c0).
    fn program() -> ProgramBuilder {
        let mut b = ProgramBuilder::new("gather");
        let a = b.tensor("a", &[2, 2], 3, 8);
        let c = b.tensor("c", &[1], 3, 8);
        let y = b.tensor("y", &[3, 2], 3, 8);
        b.input("a", a);
        b.input("c", c);
        b.output("y", y);
        let index = b.constant("index", &[6], &[0, 2, 1, 3, 4, -1]);
        b.instruction(json!({"op": "gather", "inputs": [a, c], "output": y, "index": index}));
        b
    }

    #[test]
    fn gathers_transposes_concatenates_and_pads_for_one_constraint() {
        let s = synthesize(&program().circuit().unwrap(), Some(&[vec![1, 2, 3, 4], vec![-5]])).unwrap();
        assert_eq!(s.outputs, vec![vec![1, 3, 2, 4, -5, 0]]);
        assert_eq!(s.r1cs.constraints_by_label()[2], ("#0 gather -> 'y'".to_string(), 1));
        assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
    }

    #[test]
    fn gather_rejects_a_wrong_witness() {
        let c = program().circuit().unwrap();
        let inputs = vec![vec![1, 2, 3, 4], vec![-5]];
        assert_single_changes_rejected(&c, &inputs, 0);
        for i in 0..6 {
            assert_another_output_rejected(&c, &inputs, 0, i);
        }
    }

    #[test]
    fn validation() {
        let mut b = program();
        b.set_tensor_bits(1, 9);
        assert_eq!(
            refused(&b),
            "instruction 0 (gather): input 1 ('c', bits 9, scale 3) and the output ('y', bits 8, scale 3) must share bits and scale"
        );
        let mut b = program();
        b.set_constant(0, &[5], &[0, 1, 2, 3, 4]);
        assert_eq!(
            refused(&b),
            "instruction 0 (gather): index (constant 0, 'index') has shape [5], expected [O] = [6]"
        );
        let mut b = program();
        b.set_constant(0, &[6, 1], &[0; 6]);
        assert!(refused(&b).contains("expected [O] = [6]"));
        for bad in [5, -2, i64::MIN, i64::MAX] {
            let mut b = program();
            b.set_constant(0, &[6], &[0, 2, 1, bad, 4, -1]);
            assert!(refused(&b).contains(&format!("index (constant 0, 'index') entry 3 is {bad}, outside [-1, 5)")));
        }
    }
}
