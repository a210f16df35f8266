//! `max`: `index` `[O, T]` (entries in `[-1, |X|)`, at least one `>= 0` per
//! row); `y[o] = max_{t : index[o,t] >= 0} X[index[o,t]]`. Every input and
//! the output share scale and bits. Max pools and reductions. Cost per value
//! over T' valid entries: `(bits + 1) (T' + 1) + max(T' - 1, 1)`
//! (gadgets/max.rs).

use serde::Deserialize;

use super::{concat, Op, Operands};
use crate::error::Result;
use crate::gadgets::{max::max, Value};
use crate::r1cs::ConstraintSystem;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Max {
    pub inputs: Vec<usize>,
    pub output: usize,
    /// Constant `[O, T]`: positions in X, or -1 for no entry.
    pub index: usize,
}

impl Op for Max {
    fn name(&self) -> &'static str {
        "max"
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
        let index = at.constant("index", self.index, &[("O", Some(at.output.len())), ("T", None)])?;
        at.check_index("index", self.index, index)?;
        let t = index.shape[1];
        if let Some(o) = index.data.to_i64().chunks(t).position(|row| row.iter().all(|i| *i < 0)) {
            return Err(at.err(format!(
                "index (constant {}, '{}') row {o} has no entry (every one is -1); a max needs at least one",
                self.index, index.name
            )));
        }
        Ok(())
    }

    fn synthesize(&self, cs: &mut ConstraintSystem, at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>> {
        let x = concat(x);
        let index = &at.constants[self.index];
        let bits = at.output.bits;
        let mut entries = Vec::with_capacity(index.shape[1]);
        let mut y = Vec::with_capacity(at.output.len());
        for row in index.data.to_i64().chunks(index.shape[1]) {
            entries.clear();
            entries.extend(row.iter().filter(|i| **i >= 0).map(|i| x[*i as usize]));
            y.push(max(cs, &entries, bits));
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::tests::{assert_another_output_rejected, assert_single_changes_rejected, refused};
    use crate::program::builder::ProgramBuilder;
    use crate::synth::synthesize;
    use serde_json::json;

    /// a [4] and c [2] at 6 bits; y [3] = max over rows of X = (a0..a3, c0, c1)
    /// with -1 entries: a 2x2-pool-like row, a row of one, a row with a repeat.
    fn program() -> ProgramBuilder {
        let mut b = ProgramBuilder::new("max");
        let a = b.tensor("a", &[4], -2, 6);
        let c = b.tensor("c", &[2], -2, 6);
        let y = b.tensor("y", &[3], -2, 6);
        b.input("a", a);
        b.input("c", c);
        b.output("y", y);
        let index = b.constant("index", &[3, 4], &[0, 1, 2, 3, -1, 5, -1, -1, 4, 4, -1, 0]);
        b.instruction(json!({"op": "max", "inputs": [a, c], "output": y, "index": index}));
        b
    }

    #[test]
    fn takes_the_max_of_each_row_s_valid_entries() {
        let c = program().circuit().unwrap();
        for (a, cc, want) in [
            (vec![1, -5, 7, 7], vec![-32, 31], vec![7, 31, 1]),
            (vec![-32, -32, -32, -32], vec![-32, -32], vec![-32, -32, -32]),
            (vec![-3, -4, -5, -6], vec![-10, 0], vec![-3, 0, -3]),
        ] {
            let s = synthesize(&c, Some(&[a, cc])).unwrap();
            assert_eq!(s.outputs, vec![want]);
            assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        }
        // Per row: y's range check (bits + 1 = 7), 7 per valid entry, and the
        // product chain: T' - 1 rows, or 1 (d_1 = 0) for T' = 1.
        let s = synthesize(&c, None).unwrap();
        let rows = s.r1cs.constraints_by_label()[2].1;
        assert_eq!(rows, (7 + 4 * 7 + 3) + (7 + 7 + 1) + (7 + 3 * 7 + 2));
    }

    #[test]
    fn max_rejects_a_wrong_witness() {
        let c = program().circuit().unwrap();
        for inputs in [vec![vec![1, -5, 7, 7], vec![-32, 31]], vec![vec![-3, -4, -5, -6], vec![-10, 0]]] {
            assert_single_changes_rejected(&c, &inputs, 0);
            for i in 0..3 {
                assert_another_output_rejected(&c, &inputs, 0, i);
            }
        }
    }

    #[test]
    fn validation() {
        let mut b = program();
        b.set_constant(0, &[3, 4], &[0, 1, 2, 3, -1, -1, -1, -1, 4, 4, -1, 0]);
        assert_eq!(
            refused(&b),
            "instruction 0 (max): index (constant 0, 'index') row 1 has no entry (every one is -1); a max needs at least one"
        );
        let mut b = program();
        b.set_constant(0, &[3, 4], &[0, 1, 2, 3, -1, 6, -1, -1, 4, 4, -1, 0]);
        assert!(refused(&b).contains("entry 5 is 6, outside [-1, 6)"));
        let mut b = program();
        b.set_constant(0, &[12], &[0; 12]);
        assert!(refused(&b).contains("has shape [12], expected [O, T] = [3, any]"));
        let mut b = program();
        b.set_constant(0, &[4, 3], &[0; 12]);
        assert!(refused(&b).contains("has shape [4, 3], expected [O, T] = [3, any]"));
        let mut b = program();
        b.set_tensor_bits(2, 7);
        assert!(refused(&b).contains("must share bits and scale"));
    }
}
