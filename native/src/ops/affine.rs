//! `affine`: `index` `[O, T]` (entries in `[-1, |X|)`), `weight` `[R, T]`,
//! `row` `[O]` (entries in `[0, R)`), `bias` `[O]`, `0 <= shift <= 120`;
//! `acc[o] = sum_{t : index[o,t] >= 0} weight[row[o], t] X[index[o,t]] + bias[o]`,
//! `y[o] = floor(acc[o] / 2^shift)`, O the output's element count.
//! Convolutions, average pools, reductions, batch norm, sums of activations
//! and products by constants. Cost: `bits + shift + 2` constraints per output
//! value (gadgets/affine.rs); the weighted sum is free.

use serde::Deserialize;

use super::{accumulator_bound, concat, Op, Operands};
use crate::error::Result;
use crate::gadgets::affine::{affine, affine_committed, FieldWeights};
use crate::gadgets::Value;
use crate::program::{MAX_ACC_BITS, MAX_SHIFT};
use crate::r1cs::ConstraintSystem;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affine {
    pub inputs: Vec<usize>,
    pub output: usize,
    /// Constant `[O, T]`: positions in X, or -1 for no term.
    pub index: usize,
    /// Constant `[R, T]`.
    pub weight: usize,
    /// Constant `[O]`: which weight row each output uses.
    pub row: usize,
    /// Constant `[O]`.
    pub bias: usize,
    pub shift: u32,
}

impl Op for Affine {
    fn name(&self) -> &'static str {
        "affine"
    }
    fn inputs(&self) -> &[usize] {
        &self.inputs
    }
    fn output(&self) -> usize {
        self.output
    }
    fn constants(&self) -> Vec<(&'static str, usize)> {
        vec![("index", self.index), ("weight", self.weight), ("row", self.row), ("bias", self.bias)]
    }
    fn committable(&self) -> &'static [&'static str] {
        &["weight", "bias"]
    }

    fn validate(&self, at: &Operands) -> Result<()> {
        let o = at.output.len();
        let index = at.constant("index", self.index, &[("O", Some(o)), ("T", None)])?;
        let t = index.shape[1];
        let weight = at.constant("weight", self.weight, &[("R", None), ("T", Some(t))])?;
        let r = weight.shape[0];
        let row = at.constant("row", self.row, &[("O", Some(o))])?;
        let bias = at.constant("bias", self.bias, &[("O", Some(o))])?;
        at.check_index("index", self.index, index)?;
        if let Some(k) = row.data.iter().position(|e| e < 0 || e as u64 >= r as u64) {
            return Err(at.err(format!(
                "row (constant {}, '{}') entry {k} is {}, outside [0, {r}) (weight '{}' has {r} rows)",
                self.row,
                row.name,
                row.data.get(k),
                weight.name
            )));
        }
        if self.shift > MAX_SHIFT {
            return Err(at.err(format!("shift {} exceeds {MAX_SHIFT}", self.shift)));
        }
        // |acc[o]| <= sum over valid t of |w| 2^(b(t) - 1) + |bias|, b(t) the
        // bits of the input tensor that X[index[o, t]] lies in.
        let bits_at = at.bits_at();
        let (index_values, bias_values) = (index.data.to_i64(), bias.data.to_i64());
        let rows = index_values.chunks(t).zip(row.data.iter().zip(bias_values.iter()));
        crate::with_values!(&weight.data, |weights| {
            for (k, (idx, (rw, b))) in rows.enumerate() {
                let w = &weights[rw as usize * t..(rw as usize + 1) * t];
                let terms =
                    idx.iter().zip(w).filter(|(i, _)| **i >= 0).map(|(i, w)| ((*w).into(), bits_at(*i as usize)));
                if accumulator_bound(terms, *b).is_none() {
                    return Err(at.err(format!(
                        "the accumulator of output {k} could reach 2^{MAX_ACC_BITS} (weight '{}' row {rw}, bias '{}')",
                        weight.name, bias.name
                    )));
                }
            }
        });
        Ok(())
    }

    fn synthesize(&self, cs: &mut ConstraintSystem, at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>> {
        let x = concat(x);
        let c = at.constants;
        let (index, weight, row, bias) = (&c[self.index], &c[self.weight], &c[self.row], &c[self.bias]);
        let t = index.shape[1];
        let index = index.data.to_i64();
        if at.committed(self.weight).is_some() || at.committed(self.bias).is_some() {
            let w = super::linear::committed_or_fixed(cs, at.committed(self.weight), &weight.data);
            let b = super::linear::committed_or_fixed(cs, at.committed(self.bias), &bias.data);
            let mut y = Vec::with_capacity(b.len());
            for (idx, (rw, bo)) in index.chunks(t).zip(row.data.iter().zip(&b)) {
                let base = rw as usize * t;
                let terms =
                    idx.iter().enumerate().filter(|(_, i)| **i >= 0).map(|(j, i)| (x[*i as usize], &w[base + j]));
                y.push(affine_committed(cs, terms, bo, self.shift, at.output, &at.what)?);
            }
            return Ok(y);
        }
        crate::with_values!(&weight.data, |weights| {
            let w = FieldWeights::new(weights);
            let mut y = Vec::with_capacity(bias.data.len());
            for (idx, (rw, b)) in index.chunks(t).zip(row.data.iter().zip(bias.data.iter())) {
                let base = rw as usize * t;
                let terms = idx.iter().enumerate().filter(|(_, i)| **i >= 0).map(|(j, i)| {
                    let (w, wf) = w.get(base + j);
                    (x[*i as usize], w, wf)
                });
                y.push(affine(cs, terms, b, self.shift, at.output, &at.what)?);
            }
            Ok(y)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::ops::tests::{assert_another_output_rejected, assert_single_changes_rejected, refused};
    use crate::program::builder::ProgramBuilder;
    use crate::synth::synthesize;
    use serde_json::json;

    /// Inputs a [2] at 8 bits and c [3] at 4 bits; X = (a0, a1, c0, c1, c2).
    /// Output y [2, 2] at `bits`, shift 1, over index rows with -1 entries
    /// and a repeat, two weight rows.
    fn program(bits: u32) -> ProgramBuilder {
        let mut b = ProgramBuilder::new("affine");
        let a = b.tensor("a", &[2], 0, 8);
        let c = b.tensor("c", &[3], 0, 4);
        let y = b.tensor("y", &[2, 2], 0, bits);
        b.input("a", a);
        b.input("c", c);
        b.output("y", y);
        let index = b.constant("index", &[4, 3], &[0, 2, -1, 1, 4, 4, -1, -1, -1, 3, -1, 0]);
        let weight = b.constant("weight", &[2, 3], &[2, -3, 5, 1, 1, -1]);
        let row = b.constant("row", &[4], &[0, 1, 0, 1]);
        let bias = b.constant("bias", &[4], &[1, -2, 7, 0]);
        b.instruction(json!({"op": "affine", "inputs": [a, c], "output": y, "index": index,
                             "weight": weight, "row": row, "bias": bias, "shift": 1}));
        b
    }

    fn reference(a: &[i64], c: &[i64]) -> Vec<i64> {
        let x = [a[0], a[1], c[0], c[1], c[2]];
        vec![
            (2 * x[0] - 3 * x[2] + 1).div_euclid(2),
            (x[1] + x[4] - x[4] - 2).div_euclid(2),
            7i64.div_euclid(2),
            (x[3] - x[0]).div_euclid(2),
        ]
    }

    #[test]
    fn computes_rows_over_several_inputs_with_missing_terms() {
        let circuit = program(10).circuit().unwrap();
        for (a, c) in [(vec![5, -7], vec![3, -8, 7]), (vec![-128, 127], vec![-8, 7, 0])] {
            let s = synthesize(&circuit, Some(&[a.clone(), c.clone()])).unwrap();
            assert_eq!(s.outputs, vec![reference(&a, &c)]);
            assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        }
    }

    #[test]
    fn affine_rejects_a_wrong_witness() {
        let c = program(10).circuit().unwrap();
        let inputs = vec![vec![5, -7], vec![3, -8, 7]];
        assert_single_changes_rejected(&c, &inputs, 0);
        for i in 0..4 {
            assert_another_output_rejected(&c, &inputs, 0, i);
        }
    }

    #[test]
    fn out_of_range_is_an_error_naming_the_instruction_and_tensor() {
        // (2*(-128) - 3*7 + 1) / 2 = -138 does not fit 8 bits.
        let err = synthesize(&program(8).circuit().unwrap(), Some(&[vec![-128, 0], vec![7, 0, 0]])).err().unwrap();
        assert!(
            matches!(&err, Error::OutOfRange(m) if m.starts_with("instruction 0 (affine): value -138 of tensor 'y'")),
            "{err}"
        );
    }

    #[test]
    fn validation() {
        let mut b = program(10);
        b.set_constant(0, &[3, 3], &[0; 9]);
        assert_eq!(
            refused(&b),
            "instruction 0 (affine): index (constant 0, 'index') has shape [3, 3], expected [O, T] = [4, any]"
        );
        let mut b = program(10);
        b.set_constant(0, &[4, 3, 1], &[0; 12]);
        assert!(refused(&b).contains("expected [O, T] = [4, any]"));
        let mut b = program(10);
        b.set_constant(1, &[3, 2], &[0; 6]);
        assert_eq!(
            refused(&b),
            "instruction 0 (affine): weight (constant 1, 'weight') has shape [3, 2], expected [R, T] = [any, 3]"
        );
        let mut b = program(10);
        b.set_constant(2, &[2, 2], &[0; 4]);
        assert!(refused(&b).contains("row (constant 2, 'row') has shape [2, 2], expected [O] = [4]"));
        let mut b = program(10);
        b.set_constant(3, &[5], &[0; 5]);
        assert!(refused(&b).contains("bias (constant 3, 'bias') has shape [5], expected [O] = [4]"));
        for (entry, ok) in [(4, true), (5, false), (-1, true), (-2, false)] {
            let mut b = program(10);
            b.set_constant(0, &[4, 3], &[0, 2, -1, 1, 4, entry, -1, -1, -1, 3, -1, 0]);
            if ok {
                b.circuit().unwrap();
            } else {
                assert_eq!(
                    refused(&b),
                    format!("instruction 0 (affine): index (constant 0, 'index') entry 5 is {entry}, outside [-1, 5) (the inputs hold 5 elements)")
                );
            }
        }
        for (entry, ok) in [(1, true), (2, false), (-1, false)] {
            let mut b = program(10);
            b.set_constant(2, &[4], &[0, 1, entry, 1]);
            if ok {
                b.circuit().unwrap();
            } else {
                assert_eq!(
                    refused(&b),
                    format!("instruction 0 (affine): row (constant 2, 'row') entry 2 is {entry}, outside [0, 2) (weight 'weight' has 2 rows)")
                );
            }
        }
        let mut b = program(10);
        b.instruction(json!({"op": "affine", "inputs": [2], "output": 2, "index": 0, "weight": 1, "row": 2, "bias": 3, "shift": 0}));
        assert!(refused(&b).contains("instruction 1 (affine) writes tensor 2 ('y'), which is already written"));
        let mut b = program(10);
        b.instruction(json!({"op": "affine", "inputs": [0], "output": 1, "index": 9, "weight": 1, "row": 2, "bias": 3, "shift": 0}));
        assert!(refused(&b).contains("already written"));
    }

    #[test]
    fn the_accumulator_bound_uses_the_bits_of_each_term_s_input_and_skips_missing_terms() {
        // X = (a0 at 64 bits, c0 at 4 bits). Weight 2^57 on a0 reaches 2^120;
        // on c0 it is 2^60; on a missing term it does not count.
        let build = |index: [i64; 2]| {
            let mut b = ProgramBuilder::new("bound");
            let a = b.tensor("a", &[1], 0, 64);
            let c = b.tensor("c", &[1], 0, 4);
            let y = b.tensor("y", &[1], 0, 8);
            b.input("a", a);
            b.input("c", c);
            b.output("y", y);
            b.constant("index", &[1, 2], &index);
            b.constant("weight", &[1, 2], &[1 << 57, 1]);
            b.constant("row", &[1], &[0]);
            b.constant("bias", &[1], &[0]);
            b.instruction(json!({"op": "affine", "inputs": [a, c], "output": y, "index": 0, "weight": 1, "row": 2, "bias": 3, "shift": 0}));
            b
        };
        assert!(
            refused(&build([0, 1])).contains("instruction 0 (affine): the accumulator of output 0 could reach 2^120")
        );
        build([1, 0]).circuit().unwrap();
        build([-1, 1]).circuit().unwrap();
    }
}
