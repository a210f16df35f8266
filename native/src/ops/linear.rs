//! `linear`: one input of shape `[..., K]`, output `[..., N]`;
//! `weight` `[N, K]`, `bias` `[N]`, `0 <= shift <= 120`;
//! `y[r, n] = floor((sum_k weight[n, k] x[r, k] + bias[n]) / 2^shift)`.
//! Cost: `bits + shift + 2` constraints per output value (gadgets/linear.rs).

use serde::Deserialize;

use super::{accumulator_bound, Op, Operands};
use crate::error::Result;
use crate::gadgets::{affine::affine_committed, linear::linear, Value};
use crate::program::{MAX_ACC_BITS, MAX_SHIFT};
use crate::r1cs::ConstraintSystem;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    pub inputs: Vec<usize>,
    pub output: usize,
    /// Constant `[N, K]`.
    pub weight: usize,
    /// Constant `[N]`.
    pub bias: usize,
    pub shift: u32,
}

impl Op for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn inputs(&self) -> &[usize] {
        &self.inputs
    }
    fn output(&self) -> usize {
        self.output
    }
    fn constants(&self) -> Vec<(&'static str, usize)> {
        vec![("weight", self.weight), ("bias", self.bias)]
    }
    fn committable(&self) -> &'static [&'static str] {
        &["weight", "bias"]
    }

    fn validate(&self, at: &Operands) -> Result<()> {
        let x = at.one_input()?;
        let y = at.output;
        let (k, n) = (*x.shape.last().expect("rank >= 1"), *y.shape.last().expect("rank >= 1"));
        if x.shape[..x.shape.len() - 1] != y.shape[..y.shape.len() - 1] {
            return Err(at.err(format!(
                "the input '{}' {:?} and the output '{}' {:?} must share their leading dimensions",
                x.name, x.shape, y.name, y.shape
            )));
        }
        let weight = at.constant("weight", self.weight, &[("N", Some(n)), ("K", Some(k))])?;
        let bias = at.constant("bias", self.bias, &[("N", Some(n))])?;
        if self.shift > MAX_SHIFT {
            return Err(at.err(format!("shift {} exceeds {MAX_SHIFT}", self.shift)));
        }
        // |acc| <= sum_k |w| 2^(bits_in - 1) + |b|. Keeping it below 2^120 (and
        // shift + bits_out far below 253) means the rescale identity
        // acc = 2^shift q + rem cannot wrap around the field.
        // Rows in parallel (a wide layer has millions of weights); the first
        // row that fails is the one named.
        use rayon::prelude::*;
        let bias_values = bias.data.to_i64();
        let too_wide = crate::with_values!(&weight.data, |w| w
            .par_chunks(k)
            .zip(bias_values.par_iter())
            .position_first(|(w, b)| accumulator_bound(w.iter().map(|w| ((*w).into(), x.bits)), *b).is_none()));
        if let Some(row) = too_wide {
            return Err(at.err(format!(
                "the accumulator of output {row} could reach 2^{MAX_ACC_BITS} (weight '{}', bias '{}', input bits {})",
                weight.name, bias.name, x.bits
            )));
        }
        Ok(())
    }

    fn synthesize(&self, cs: &mut ConstraintSystem, at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>> {
        let (weight, bias) = (&at.constants[self.weight], &at.constants[self.bias]);
        if at.committed(self.weight).is_some() || at.committed(self.bias).is_some() {
            return linear_committed(cs, at, x[0], weight, bias, self);
        }
        let bias = bias.data.to_i64();
        crate::with_values!(&weight.data, |w| linear(
            cs,
            x[0],
            w,
            weight.shape[1],
            &bias,
            self.shift,
            at.output,
            &at.what
        ))
    }
}

/// The rows with committed weight and/or bias: a constant one of the two
/// enters as a fixed value (bias) or a constant-times-variable term.
fn linear_committed(
    cs: &mut ConstraintSystem,
    at: &Operands,
    x: &[Value],
    weight: &crate::program::Constant,
    bias: &crate::program::Constant,
    op: &Linear,
) -> Result<Vec<Value>> {
    let k = weight.shape[1];
    let w = committed_or_fixed(cs, at.committed(op.weight), &weight.data);
    let b = committed_or_fixed(cs, at.committed(op.bias), &bias.data);
    let mut y = Vec::with_capacity(x.len() / k * b.len());
    for row in x.chunks(k) {
        for (n, bn) in b.iter().enumerate() {
            let terms = row.iter().zip(&w[n * k..(n + 1) * k]);
            y.push(affine_committed(cs, terms, bn, op.shift, at.output, &at.what)?);
        }
    }
    Ok(y)
}

/// The values of a committed constant, or a fixed one's as constants
/// bound by one constraint each (x = c), so the gadgets can treat both alike.
pub(crate) fn committed_or_fixed(
    cs: &mut ConstraintSystem,
    committed: Option<&[Value]>,
    data: &crate::program::Values,
) -> Vec<Value> {
    use crate::gadgets::fr;
    use crate::r1cs::Lc;
    match committed {
        Some(v) => v.to_vec(),
        None => data
            .iter()
            .map(|c| {
                let var = cs.alloc_private(fr(c as i128));
                cs.enforce_zero(Lc::var(var) - Lc::constant(fr(c as i128)));
                Value { var, val: c as i128, sign: Lc::constant(fr(i128::from(c >= 0))) }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::ops::tests::{assert_another_output_rejected, assert_single_changes_rejected, refused, with_input};
    use crate::program::builder::ProgramBuilder;
    use crate::synth::synthesize;
    use serde_json::json;

    /// x [2, 3] at 8 bits -> linear [2, 2] at `out_bits`, shift 2.
    fn program(out_bits: u32) -> ProgramBuilder {
        let (mut b, x) = with_input(&[2, 3], 8);
        let y = b.tensor("y", &[2, 2], 0, out_bits);
        b.output("y", y);
        let w = b.constant("w", &[2, 3], &[1, -2, 3, -4, 5, -6]);
        let bias = b.constant("b", &[2], &[2, -2]);
        b.instruction(json!({"op": "linear", "inputs": [x], "output": y, "weight": w, "bias": bias, "shift": 2}));
        b
    }

    #[test]
    fn computes_each_row() {
        let s = synthesize(&program(8).circuit().unwrap(), Some(&[vec![4, -3, 5, 0, 1, -1]])).unwrap();
        // (4+6+15+2)/4 = 6, (-16-15-30-2)/4 = -16; (0-2-3+2)/4 = -1, (0+5+6-2)/4 = 2
        assert_eq!(s.outputs, vec![vec![6, -16, -1, 2]]);
        assert_eq!(s.r1cs.constraints_by_label()[1], ("#0 linear -> 'y'".to_string(), 4 * (8 + 2 + 2)));
    }

    #[test]
    fn linear_rejects_a_wrong_witness() {
        let c = program(8).circuit().unwrap();
        let input = vec![vec![4, -3, 5, 0, 1, -1]];
        assert_single_changes_rejected(&c, &input, 0);
        for i in 0..4 {
            assert_another_output_rejected(&c, &input, 0, i);
        }
    }

    #[test]
    fn out_of_range_is_an_error_naming_the_instruction_and_tensor() {
        let c = program(4).circuit().unwrap();
        let err = synthesize(&c, Some(&[vec![4, -3, 5, 0, 1, -1]])).err().unwrap();
        assert!(
            matches!(&err, Error::OutOfRange(m) if m.starts_with("instruction 0 (linear): value -16 of tensor 'y'")),
            "{err}"
        );
    }

    #[test]
    fn validation() {
        let mut b = program(8);
        b.set_tensor_bits(1, 8);
        b.instruction(json!({"op": "linear", "inputs": [0, 0], "output": 1, "weight": 0, "bias": 1, "shift": 2}));
        assert!(refused(&b).contains("already written"));

        let mut b = program(8);
        b.set_constant(1, &[3], &[1, 2, 3]);
        assert_eq!(refused(&b), "instruction 0 (linear): bias (constant 1, 'b') has shape [3], expected [N] = [2]");

        let (mut b, x) = with_input(&[2, 3], 8);
        let y = b.tensor("y", &[1, 2], 0, 8);
        b.output("y", y);
        b.constant("w", &[2, 3], &[0; 6]);
        b.constant("b", &[2], &[0; 2]);
        b.instruction(json!({"op": "linear", "inputs": [x], "output": y, "weight": 0, "bias": 1, "shift": 0}));
        assert!(refused(&b).contains("must share their leading dimensions"));

        let (mut b, x) = with_input(&[3], 8);
        let y = b.tensor("y", &[2], 0, 8);
        b.output("y", y);
        b.constant("w", &[2, 3], &[0; 6]);
        b.constant("b", &[2], &[0; 2]);
        b.instruction(json!({"op": "linear", "inputs": [x, x], "output": y, "weight": 0, "bias": 1, "shift": 0}));
        assert_eq!(refused(&b), "instruction 0 (linear): takes one input, got 2");

        let mut b = program(8);
        b.instruction(json!({"op": "relu", "inputs": [1], "output": 1}));
        assert!(b.circuit().is_err());

        // shift 121 is refused, 120 accepted.
        for (shift, ok) in [(120, true), (121, false)] {
            let (mut b, x) = with_input(&[1], 8);
            let y = b.tensor("y", &[1], 0, 8);
            b.output("y", y);
            b.constant("w", &[1, 1], &[1]);
            b.constant("b", &[1], &[0]);
            b.instruction(json!({"op": "linear", "inputs": [x], "output": y, "weight": 0, "bias": 1, "shift": shift}));
            assert_eq!(b.circuit().is_ok(), ok, "shift {shift}");
        }
    }

    #[test]
    fn the_accumulator_limit_is_exactly_2_pow_120() {
        // 64-bit input: |w| 2^63. w = 2^57 reaches 2^120 exactly.
        for (w, ok) in [((1i64 << 57) - 1, true), (1i64 << 57, false)] {
            let (mut b, x) = with_input(&[1], 64);
            let y = b.tensor("y", &[1], 0, 8);
            b.output("y", y);
            b.constant("w", &[1, 1], &[w]);
            b.constant("b", &[1], &[(1 << 62) - 1]);
            b.instruction(json!({"op": "linear", "inputs": [x], "output": y, "weight": 0, "bias": 1, "shift": 0}));
            if ok {
                // (2^57 - 1) 2^63 + 2^62 - 1 = 2^120 - 2^63 + 2^62 - 1 < 2^120.
                assert!(b.circuit().is_ok());
            } else {
                assert!(refused(&b).contains("accumulator of output 0 could reach 2^120"));
            }
        }
    }
}
