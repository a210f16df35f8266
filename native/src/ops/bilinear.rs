//! `bilinear`: `left` `[O, T]`, `right` `[O, T]` (entries in `[-1, |X|)`;
//! `left[o,t] = -1` exactly when `right[o,t] = -1`), `bias` `[O]`,
//! `0 <= shift <= 120`;
//! `acc[o] = sum_{t : left[o,t] >= 0} X[left[o,t]] X[right[o,t]] + bias[o]`,
//! `y[o] = floor(acc[o] / 2^shift)`. Products of activations: MatMul of two
//! activations, Mul, squares. Cost per value over T' products:
//! `T' + bits + shift + 2` (gadgets/bilinear.rs).

use serde::Deserialize;

use super::{accumulator_bound, concat, Op, Operands};
use crate::error::Result;
use crate::gadgets::{bilinear::bilinear, Value};
use crate::program::{MAX_ACC_BITS, MAX_SHIFT};
use crate::r1cs::ConstraintSystem;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilinear {
    pub inputs: Vec<usize>,
    pub output: usize,
    /// Constant `[O, T]`: positions in X of the left factors, or -1.
    pub left: usize,
    /// Constant `[O, T]`: positions in X of the right factors, -1 where left is.
    pub right: usize,
    /// Constant `[O]`.
    pub bias: usize,
    pub shift: u32,
}

impl Op for Bilinear {
    fn name(&self) -> &'static str {
        "bilinear"
    }
    fn inputs(&self) -> &[usize] {
        &self.inputs
    }
    fn output(&self) -> usize {
        self.output
    }
    fn constants(&self) -> Vec<(&'static str, usize)> {
        vec![("left", self.left), ("right", self.right), ("bias", self.bias)]
    }

    fn validate(&self, at: &Operands) -> Result<()> {
        let o = at.output.len();
        let left = at.constant("left", self.left, &[("O", Some(o)), ("T", None)])?;
        let t = left.shape[1];
        let right = at.constant("right", self.right, &[("O", Some(o)), ("T", Some(t))])?;
        let bias = at.constant("bias", self.bias, &[("O", Some(o))])?;
        at.check_index("left", self.left, left)?;
        at.check_index("right", self.right, right)?;
        let (left, right, bias_values) = (left.data.to_i64(), right.data.to_i64(), bias.data.to_i64());
        if let Some(k) = left.iter().zip(right.iter()).position(|(l, r)| (*l < 0) != (*r < 0)) {
            return Err(at.err(format!(
                "left (constant {}) and right (constant {}) entry {k} are {} and {}: they must be -1 at the same places",
                self.left, self.right, left[k], right[k]
            )));
        }
        if self.shift > MAX_SHIFT {
            return Err(at.err(format!("shift {} exceeds {MAX_SHIFT}", self.shift)));
        }
        // |acc[o]| <= sum_t 2^(bl(t) - 1) 2^(br(t) - 1) + |bias[o]|.
        let bits_at = at.bits_at();
        for (k, ((l, r), b)) in left.chunks(t).zip(right.chunks(t)).zip(bias_values.iter()).enumerate() {
            let terms = l
                .iter()
                .zip(r)
                .filter(|(l, _)| **l >= 0)
                .map(|(l, r)| (1, bits_at(*l as usize) + bits_at(*r as usize) - 1));
            if accumulator_bound(terms, *b).is_none() {
                return Err(at.err(format!(
                    "the accumulator of output {k} could reach 2^{MAX_ACC_BITS} (products of the factors' widths, bias '{}')",
                    bias.name
                )));
            }
        }
        Ok(())
    }

    fn synthesize(&self, cs: &mut ConstraintSystem, at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>> {
        let x = concat(x);
        let c = at.constants;
        let (left, right, bias) = (&c[self.left], &c[self.right], &c[self.bias]);
        let t = left.shape[1];
        let (left, right, bias) = (left.data.to_i64(), right.data.to_i64(), bias.data.to_i64());
        let mut pairs = Vec::with_capacity(t);
        let mut y = Vec::with_capacity(bias.len());
        for ((l, r), b) in left.chunks(t).zip(right.chunks(t)).zip(bias.iter()) {
            pairs.clear();
            pairs.extend(l.iter().zip(r).filter(|(l, _)| **l >= 0).map(|(l, r)| (x[*l as usize], x[*r as usize])));
            y.push(bilinear(cs, &pairs, *b, self.shift, at.output, &at.what)?);
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::ops::tests::{assert_another_output_rejected, assert_single_changes_rejected, refused};
    use crate::program::builder::ProgramBuilder;
    use crate::synth::synthesize;
    use serde_json::json;

    /// a [3] at 8 bits and c [2] at 5 bits; y [3] at `bits`, shift 2:
    /// y0 = a0 c0 + a1 c1 + 3, y1 = a2^2 - 1 (a square), y2 = the bias alone.
    fn program(bits: u32) -> ProgramBuilder {
        let mut b = ProgramBuilder::new("bilinear");
        let a = b.tensor("a", &[3], 4, 8);
        let c = b.tensor("c", &[2], 2, 5);
        let y = b.tensor("y", &[3], 4, bits);
        b.input("a", a);
        b.input("c", c);
        b.output("y", y);
        let left = b.constant("left", &[3, 2], &[0, 1, 2, -1, -1, -1]);
        let right = b.constant("right", &[3, 2], &[3, 4, 2, -1, -1, -1]);
        let bias = b.constant("bias", &[3], &[3, -1, -9]);
        b.instruction(json!({"op": "bilinear", "inputs": [a, c], "output": y, "left": left, "right": right,
                             "bias": bias, "shift": 2}));
        b
    }

    fn reference(a: &[i64], c: &[i64]) -> Vec<i64> {
        vec![(a[0] * c[0] + a[1] * c[1] + 3).div_euclid(4), (a[2] * a[2] - 1).div_euclid(4), (-9i64).div_euclid(4)]
    }

    #[test]
    fn sums_products_over_several_inputs() {
        let circuit = program(16).circuit().unwrap();
        for (a, c) in [(vec![5, -7, 3], vec![3, -16]), (vec![-128, 127, -128], vec![15, -16])] {
            let s = synthesize(&circuit, Some(&[a.clone(), c.clone()])).unwrap();
            assert_eq!(s.outputs, vec![reference(&a, &c)]);
            assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        }
        let s = synthesize(&circuit, None).unwrap();
        assert_eq!(s.r1cs.constraints_by_label()[2].1, 3 + 3 * (16 + 2 + 2));
    }

    #[test]
    fn bilinear_rejects_a_wrong_witness() {
        let c = program(16).circuit().unwrap();
        let inputs = vec![vec![5, -7, 3], vec![3, -16]];
        assert_single_changes_rejected(&c, &inputs, 0);
        for i in 0..3 {
            assert_another_output_rejected(&c, &inputs, 0, i);
        }
    }

    #[test]
    fn out_of_range_is_an_error_naming_the_instruction_and_tensor() {
        let err = synthesize(&program(8).circuit().unwrap(), Some(&[vec![-128, 127, 0], vec![15, -16]])).err().unwrap();
        // (-1920 - 2032 + 3) / 4 = -988 (floor).
        assert!(
            matches!(&err, Error::OutOfRange(m) if m.starts_with("instruction 0 (bilinear): value -988 of tensor 'y'")),
            "{err}"
        );
    }

    #[test]
    fn validation() {
        let mut b = program(16);
        b.set_constant(1, &[3, 2], &[3, 4, 2, 0, -1, -1]);
        assert_eq!(
            refused(&b),
            "instruction 0 (bilinear): left (constant 0) and right (constant 1) entry 3 are -1 and 0: they must be -1 at the same places"
        );
        let mut b = program(16);
        b.set_constant(1, &[3, 1], &[3, 2, -1]);
        assert!(refused(&b).contains("right (constant 1, 'right') has shape [3, 1], expected [O, T] = [3, 2]"));
        let mut b = program(16);
        b.set_constant(0, &[3, 2], &[0, 5, 2, -1, -1, -1]);
        assert!(refused(&b).contains("left (constant 0, 'left') entry 1 is 5, outside [-1, 5)"));
        let mut b = program(16);
        b.set_constant(2, &[2], &[0, 0]);
        assert!(refused(&b).contains("bias (constant 2, 'bias') has shape [2], expected [O] = [3]"));
        // 64-bit factors: the square a2^2 reaches 2^126.
        let mut b = program(16);
        b.set_tensor_bits(0, 64);
        assert!(refused(&b).contains("the accumulator of output 1 could reach 2^120"));
        // A square of 61 bits is 2^120 alone: refused; of 60 bits, 2^118 plus
        // the largest bias: accepted.
        for (bits, bias, ok) in [(60, 0, true), (60, i64::MAX, true), (61, 0, false)] {
            let mut b = ProgramBuilder::new("bound");
            let a = b.tensor("a", &[1], 0, bits);
            let y = b.tensor("y", &[1], 0, 8);
            b.input("a", a);
            b.output("y", y);
            b.constant("left", &[1, 1], &[0]);
            b.constant("right", &[1, 1], &[0]);
            b.constant("bias", &[1], &[bias]);
            b.instruction(
                json!({"op": "bilinear", "inputs": [a], "output": y, "left": 0, "right": 1, "bias": 2, "shift": 0}),
            );
            assert_eq!(b.circuit().is_ok(), ok, "bits {bits} bias {bias}");
        }
    }
}
