//! `function`: one input of `b` bits; `k` (`1 <= k <= min(b, 10)`); `table`
//! `[2^k, 3]`; `0 <= shift <= 120`; per element: `u = x + 2^(b-1)`, segment
//! `h = floor(u / 2^(b-k))`, offset `l = u mod 2^(b-k)`,
//! `y = floor((table[h,0] + table[h,1] l + table[h,2] l^2) / 2^shift)`. The
//! output has the input's shape. Sigmoid, tanh, exp, log, erf, GELU,
//! reciprocal, square root, lookups, ... Cost per value:
//! `b + 1 + 2^k - k - 1 + 3 + bits + shift + 2` (gadgets/function.rs).

use serde::Deserialize;

use super::{Op, Operands};
use crate::error::Result;
use crate::gadgets::function::{function, Table};
use crate::gadgets::Value;
use crate::program::{MAX_ACC_BITS, MAX_SHIFT};
use crate::r1cs::ConstraintSystem;

/// Largest number of segment bits.
pub const MAX_K: u32 = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub inputs: Vec<usize>,
    pub output: usize,
    /// Constant `[2^k, 3]`: (c0, c1, c2) per segment.
    pub table: usize,
    pub k: u32,
    pub shift: u32,
}

/// `max_h |c0| + |c1| 2^(b-k) + |c2| 2^(2(b-k))`, exactly; None from 2^120
/// (or on u128 overflow).
fn function_bound(table: &[i64], b: u32, k: u32) -> Option<u128> {
    let seg = b - k;
    table.chunks(3).try_fold(0u128, |best, c| {
        let v = (c[1].unsigned_abs() as u128)
            .checked_mul(1u128 << seg)
            .and_then(|v| v.checked_add(c[0].unsigned_abs() as u128))
            .and_then(|v| (c[2].unsigned_abs() as u128).checked_mul(1u128 << (2 * seg)).and_then(|w| v.checked_add(w)))
            .filter(|v| *v < 1u128 << MAX_ACC_BITS)?;
        Some(best.max(v))
    })
}

impl Op for Function {
    fn name(&self) -> &'static str {
        "function"
    }
    fn inputs(&self) -> &[usize] {
        &self.inputs
    }
    fn output(&self) -> usize {
        self.output
    }
    fn constants(&self) -> Vec<(&'static str, usize)> {
        vec![("table", self.table)]
    }

    fn validate(&self, at: &Operands) -> Result<()> {
        let x = at.one_input()?;
        let y = at.output;
        if x.shape != y.shape {
            return Err(at.err(format!(
                "the output '{}' {:?} must have the shape of the input '{}' {:?}",
                y.name, y.shape, x.name, x.shape
            )));
        }
        let k_max = x.bits.min(MAX_K);
        if !(1..=k_max).contains(&self.k) {
            return Err(at.err(format!("k is {}, must be in 1..={k_max} (the input has {} bits)", self.k, x.bits)));
        }
        if self.shift > MAX_SHIFT {
            return Err(at.err(format!("shift {} exceeds {MAX_SHIFT}", self.shift)));
        }
        let table = at.constant("table", self.table, &[("2^k", Some(1 << self.k)), ("3", Some(3))])?;
        if function_bound(&table.data.to_i64(), x.bits, self.k).is_none() {
            return Err(at.err(format!(
                "the accumulator could reach 2^{MAX_ACC_BITS} (table '{}' over {}-bit offsets)",
                table.name,
                x.bits - self.k
            )));
        }
        Ok(())
    }

    fn synthesize(&self, cs: &mut ConstraintSystem, at: &Operands, x: &[&[Value]]) -> Result<Vec<Value>> {
        let values = at.constants[self.table].data.to_i64();
        let table = Table::new(&values, self.k);
        let b = at.inputs[0].bits;
        x[0].iter().map(|v| function(cs, v, b, &table, self.shift, at.output, &at.what)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::function_bound;
    use crate::error::Error;
    use crate::ops::tests::{assert_another_output_rejected, assert_single_changes_rejected, refused};
    use crate::program::builder::ProgramBuilder;
    use crate::synth::synthesize;
    use serde_json::json;

    /// x [2, 2] at 6 bits -> y [2, 2] at `bits`, k = 2, shift 2.
    const TABLE: [i64; 12] = [5, -3, 1, -100, 7, 0, 0, 0, -2, 1000, 1, 1];

    fn program(bits: u32) -> ProgramBuilder {
        let mut b = ProgramBuilder::new("function");
        let x = b.tensor("x", &[2, 2], 3, 6);
        let y = b.tensor("y", &[2, 2], 5, bits);
        b.input("x", x);
        b.output("y", y);
        let table = b.constant("table", &[4, 3], &TABLE);
        b.instruction(json!({"op": "function", "inputs": [x], "output": y, "table": table, "k": 2, "shift": 2}));
        b
    }

    fn reference(x: i64) -> i64 {
        let u = x + 32;
        let (h, l) = ((u >> 4) as usize, u & 15);
        (TABLE[3 * h] + TABLE[3 * h + 1] * l + TABLE[3 * h + 2] * l * l).div_euclid(4)
    }

    #[test]
    fn evaluates_the_table_per_element() {
        let c = program(16).circuit().unwrap();
        for input in [vec![-32, -17, 0, 31], vec![-1, 15, 16, 5]] {
            let s = synthesize(&c, Some(std::slice::from_ref(&input))).unwrap();
            assert_eq!(s.outputs, vec![input.iter().map(|x| reference(*x)).collect::<Vec<_>>()]);
            assert_eq!(s.r1cs.first_unsatisfied(&s.assignment), None);
        }
        let s = synthesize(&c, None).unwrap();
        assert_eq!(s.r1cs.constraints_by_label()[1].1, 4 * ((6 + 1) + 1 + 3 + (16 + 2 + 2)));
    }

    #[test]
    fn function_rejects_a_wrong_witness() {
        let c = program(16).circuit().unwrap();
        let input = vec![vec![-32, -17, 0, 31]];
        assert_single_changes_rejected(&c, &input, 0);
        for i in 0..4 {
            assert_another_output_rejected(&c, &input, 0, i);
        }
    }

    #[test]
    fn out_of_range_is_an_error_naming_the_instruction_and_tensor() {
        let err = synthesize(&program(8).circuit().unwrap(), Some(&[vec![0, 0, 0, 31]])).err().unwrap();
        assert!(
            matches!(&err, Error::OutOfRange(m) if m.starts_with("instruction 0 (function): value 310 of tensor 'y'")),
            "{err}"
        );
    }

    #[test]
    fn validation() {
        for (k, ok) in [(0u32, false), (1, true), (6, true), (7, false)] {
            let mut b = ProgramBuilder::new("k");
            let x = b.tensor("x", &[1], 0, 6);
            let y = b.tensor("y", &[1], 0, 8);
            b.input("x", x);
            b.output("y", y);
            b.constant("table", &[1 << k, 3], &vec![0; 3 << k]);
            b.instruction(json!({"op": "function", "inputs": [x], "output": y, "table": 0, "k": k, "shift": 0}));
            match ok {
                true => assert!(b.circuit().is_ok(), "k {k}"),
                false => assert!(refused(&b).contains(&format!("k is {k}, must be in 1..=6")), "k {k}"),
            }
        }
        let mut b = program(16);
        b.set_constant(0, &[2, 3], &[0; 6]);
        assert_eq!(
            refused(&b),
            "instruction 0 (function): table (constant 0, 'table') has shape [2, 3], expected [2^k, 3] = [4, 3]"
        );
        let mut b = ProgramBuilder::new("shape");
        let x = b.tensor("x", &[2, 2], 0, 6);
        let y = b.tensor("y", &[4], 0, 8);
        b.input("x", x);
        b.output("y", y);
        b.constant("table", &[4, 3], &TABLE);
        b.instruction(json!({"op": "function", "inputs": [x], "output": y, "table": 0, "k": 2, "shift": 0}));
        assert!(refused(&b).contains("the output 'y' [4] must have the shape of the input 'x' [2, 2]"));
        let mut b = program(16);
        b.instruction(json!({"op": "function", "inputs": [0, 0], "output": 1, "table": 0, "k": 2, "shift": 0}));
        assert!(refused(&b).contains("already written"));
    }

    #[test]
    fn the_bound_is_exact_at_2_pow_120() {
        // b = 64, k = 1: offsets of 63 bits, l^2 up to 2^126.
        assert_eq!(function_bound(&[0, 0, 1, 0, 0, 0], 64, 1), None);
        assert_eq!(function_bound(&[0, 1 << 57, 0], 64, 1), None);
        assert_eq!(function_bound(&[0, (1 << 57) - 1, 0], 64, 1), Some(((1u128 << 57) - 1) << 63));
        assert_eq!(
            function_bound(&[i64::MIN, i64::MIN, i64::MIN], 20, 10),
            Some((1u128 << 63) * (1 + 1024 + (1 << 20)))
        );
        assert_eq!(function_bound(&[1, -2, 3, -4, 5, -6], 4, 1), Some(4 + 5 * 8 + 6 * 64));
    }
}
