//! `argmax`: `index` `[O, T]` (entries in `[-1, |X|)`, at least one `>= 0`
//! per row); `y[o]` = the smallest column `t` with `index[o,t] >= 0` whose
//! entry equals the row's maximum (ONNX's first-index tie rule). Every input
//! shares scale and bits; the output has scale 0 and at least
//! `bitlength(T-1) + 1` bits (and 2). Cost per value over T' valid entries:
//! `(T' + 1)(bits + 1) + 2 T' + bits_out + 3` (gadgets/argmax.rs).

use serde::Deserialize;

use super::{concat, Op, Operands};
use crate::error::Result;
use crate::gadgets::{argmax::argmax, Value};
use crate::r1cs::ConstraintSystem;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argmax {
    pub inputs: Vec<usize>,
    pub output: usize,
    /// Constant `[O, T]`: positions in X, or -1 for no entry.
    pub index: usize,
}

/// The fewest bits that hold every column of a `t`-column row: `max(2,
/// bitlength(t - 1) + 1)`.
pub fn label_bits(t: usize) -> u32 {
    (usize::BITS - (t.saturating_sub(1)).leading_zeros() + 1).max(2)
}

impl Op for Argmax {
    fn name(&self) -> &'static str {
        "argmax"
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
        let first = at.inputs[0];
        for (i, x) in at.inputs.iter().enumerate() {
            if x.bits != first.bits || x.scale != first.scale {
                return Err(at.err(format!(
                    "input {i} ('{}', bits {}, scale {}) and input 0 ('{}', bits {}, scale {}) must share bits and scale",
                    x.name, x.bits, x.scale, first.name, first.bits, first.scale
                )));
            }
        }
        let index = at.constant("index", self.index, &[("O", Some(at.output.len())), ("T", None)])?;
        at.check_index("index", self.index, index)?;
        let t = index.shape[1];
        if let Some(o) = index.data.to_i64().chunks(t).position(|row| row.iter().all(|i| *i < 0)) {
            return Err(at.err(format!(
                "index (constant {}, '{}') row {o} has no entry (every one is -1); an argmax needs at least one",
                self.index, index.name
            )));
        }
        let y = at.output;
        if y.scale != 0 || y.bits < label_bits(t) {
            return Err(at.err(format!(
                "the output '{}' (scale {}, bits {}) is a column index: it needs scale 0 and at least {} bits",
                y.name,
                y.scale,
                y.bits,
                label_bits(t)
            )));
        }
        Ok(())
    }

    fn synthesize(&self, cs: &mut ConstraintSystem, at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>> {
        let x = concat(x);
        let index = &at.constants[self.index];
        let bits = at.inputs[0].bits;
        let mut entries = Vec::with_capacity(index.shape[1]);
        let mut y = Vec::with_capacity(at.output.len());
        for row in index.data.to_i64().chunks(index.shape[1]) {
            entries.clear();
            entries.extend(row.iter().enumerate().filter(|(_, i)| **i >= 0).map(|(t, i)| (t as u64, x[*i as usize])));
            y.push(argmax(cs, &entries, bits, at.output.bits));
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::label_bits;
    use crate::ops::tests::{assert_another_output_rejected, assert_single_changes_rejected, refused};
    use crate::program::builder::ProgramBuilder;
    use crate::synth::synthesize;
    use serde_json::json;

    /// a [4] and c [2] at 6 bits (scale 3); y [3] (scale 0, 3 bits) = argmax
    /// over rows of X = (a0..a3, c0, c1) with -1 entries and a repeat.
    fn program() -> ProgramBuilder {
        let mut b = ProgramBuilder::new("argmax");
        let a = b.tensor("a", &[4], 3, 6);
        let c = b.tensor("c", &[2], 3, 6);
        let y = b.tensor("y", &[3], 0, 3);
        b.input("a", a);
        b.input("c", c);
        b.output("y", y);
        let index = b.constant("index", &[3, 4], &[0, 1, 2, 3, -1, 5, -1, 4, 4, 4, -1, 0]);
        b.instruction(json!({"op": "argmax", "inputs": [a, c], "output": y, "index": index}));
        b
    }

    #[test]
    fn label_bits_fit_the_last_column() {
        assert_eq!([1, 2, 3, 4, 5, 8, 9, 1000].map(label_bits), [2, 2, 3, 3, 4, 4, 5, 11]);
    }

    #[test]
    fn picks_the_first_column_of_each_row_s_maximum() {
        let c = program().circuit().unwrap();
        for (a, cc, want) in [
            (vec![1, -5, 7, 7], vec![-32, 31], vec![2, 1, 3]),
            (vec![3, 3, 3, 3], vec![3, 3], vec![0, 1, 0]),
            (vec![-3, -4, -5, -6], vec![-10, 0], vec![0, 1, 3]),
        ] {
            let s = synthesize(&c, Some(&[a, cc])).unwrap();
            assert_eq!(s.outputs, vec![want]);
            assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        }
    }

    #[test]
    fn argmax_rejects_a_wrong_witness() {
        let c = program().circuit().unwrap();
        for inputs in [vec![vec![1, -5, 7, 7], vec![-32, 31]], vec![vec![3, 3, 3, 3], vec![3, 3]]] {
            assert_single_changes_rejected(&c, &inputs, 0);
            for i in 0..3 {
                assert_another_output_rejected(&c, &inputs, 0, i);
            }
        }
    }

    #[test]
    fn validation() {
        let mut b = program();
        b.set_tensor_bits(2, 2);
        assert_eq!(
            refused(&b),
            "instruction 0 (argmax): the output 'y' (scale 0, bits 2) is a column index: it needs scale 0 and at least 3 bits"
        );
        let mut b = ProgramBuilder::new("argmax");
        let a = b.tensor("a", &[4], 3, 6);
        let c = b.tensor("c", &[2], 2, 6);
        let y = b.tensor("y", &[1], 0, 4);
        b.input("a", a);
        b.input("c", c);
        b.output("y", y);
        b.constant("index", &[1, 2], &[0, 4]);
        b.instruction(json!({"op": "argmax", "inputs": [a, c], "output": y, "index": 0}));
        assert!(refused(&b).contains("input 1 ('c', bits 6, scale 2) and input 0 ('a', bits 6, scale 3) must share"));
        let mut b = program();
        b.set_constant(0, &[3, 4], &[0, 1, 2, 3, -1, -1, -1, -1, 4, 4, -1, 0]);
        assert!(refused(&b).contains("row 1 has no entry"));
        let mut b = program();
        b.set_constant(0, &[3, 4], &[0, 1, 2, 6, -1, 5, -1, 4, 4, 4, -1, 0]);
        assert!(refused(&b).contains("entry 3 is 6, outside [-1, 6)"));
        let mut b = program();
        b.set_constant(0, &[2, 4], &[0; 8]);
        assert!(refused(&b).contains("expected [O, T] = [3, any]"));
    }
}
