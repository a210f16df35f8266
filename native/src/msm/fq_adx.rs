//! Montgomery multiplication in BN254's base field Fq with the BMI2/ADX
//! instructions (`mulx`, `adcx`, `adox`), for x86-64 CPUs that have them.
//!
//! arkworks' own assembly multiplication is chosen at compile time (it needs
//! `-C target-feature=+bmi2,+adx`), so a portable build never uses it. This one
//! is chosen at run time: [`detected`] checks the CPU once, and callers only
//! reach [`mul`] after it said yes (the MSM holds that answer as a
//! [`super::field_ops::Adx`] token).
//!
//! The algorithm is CIOS Montgomery multiplication with four 64-bit limbs:
//! for each limb `b_i`, `t <- (t + a b_i + m q) / 2^64` with
//! `m = -t q^{-1} mod 2^64`. Because `q < 2^254`, `t` stays below `2q` after
//! every round (`t + a b_i + m q < 2q + 2 * 2^64 q`), so the running sum fits
//! five limbs and no sixth carry word is needed; a final conditional
//! subtraction brings the result below `q`. Each round's two carry chains (the
//! low and the high halves of the `mulx` products) run at once, on `CF`
//! (`adcx`) and `OF` (`adox`).
//!
//! Inputs and output are in arkworks' Montgomery form (`R = 2^256`), fully
//! reduced, so results are bit-identical to `ark_bn254::Fq`'s `*`.

use std::sync::atomic::{AtomicU8, Ordering};

use ark_bn254::Fq;
use ark_ff::BigInt;

/// `q` (little-endian limbs), then `q' = -q^{-1} mod 2^64`.
static MODULUS_AND_INV: [u64; 5] =
    [0x3c20_8c16_d87c_fd47, 0x9781_6a91_6871_ca8d, 0xb850_45b6_8181_585d, 0x3064_4e72_e131_a029, 0x87d2_0782_e486_6389];

/// Whether this CPU has BMI2 and ADX, checked once: 0 unknown, 1 no, 2 yes.
pub(crate) fn detected() -> bool {
    static STATE: AtomicU8 = AtomicU8::new(0);
    match STATE.load(Ordering::Relaxed) {
        0 => {
            let yes = std::arch::is_x86_feature_detected!("bmi2") && std::arch::is_x86_feature_detected!("adx");
            STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        state => state == 2,
    }
}

/// `t += src * rdx` as assembly text, for the four limbs at `{$src}` and the
/// five-limb `$t0..$t4` (`$t4` already holding its part of `t`, CF = OF = 0):
/// the products' low halves go on the CF chain (`adcx`), the high halves on
/// the OF chain (`adox`), and the last carry into `$t4`.
macro_rules! mul_add_limbs {
    ($src:literal, $t0:literal, $t1:literal, $t2:literal, $t3:literal, $t4:literal) => {
        concat!(
            "mulx {hi}, {lo}, qword ptr [{",
            $src,
            "}]\n",
            "adcx {",
            $t0,
            "}, {lo}\n",
            "adox {",
            $t1,
            "}, {hi}\n",
            "mulx {hi}, {lo}, qword ptr [{",
            $src,
            "} + 8]\n",
            "adcx {",
            $t1,
            "}, {lo}\n",
            "adox {",
            $t2,
            "}, {hi}\n",
            "mulx {hi}, {lo}, qword ptr [{",
            $src,
            "} + 16]\n",
            "adcx {",
            $t2,
            "}, {lo}\n",
            "adox {",
            $t3,
            "}, {hi}\n",
            "mulx {hi}, {lo}, qword ptr [{",
            $src,
            "} + 24]\n",
            "adcx {",
            $t3,
            "}, {lo}\n",
            "adox {",
            $t4,
            "}, {hi}\n",
            "adc {",
            $t4,
            "}, 0\n",
        )
    };
}

/// One round `t <- (t + a b_i + m q) / 2^64` for `i >= 1`, as assembly text.
/// `$t0..$t3` hold `t` (below `2q`) and `$t4` is free; afterwards
/// `$t1..$t4` hold the new `t` and `$t0` is free. `$off` is `8 i`.
macro_rules! round {
    ($off:literal, $t0:literal, $t1:literal, $t2:literal, $t3:literal, $t4:literal) => {
        concat!(
            // t += a * b_i.
            "mov rdx, qword ptr [{b} + ",
            $off,
            "]\n",
            "xor {",
            $t4,
            ":e}, {",
            $t4,
            ":e}\n", // t4 = 0, CF = OF = 0
            mul_add_limbs!("a", $t0, $t1, $t2, $t3, $t4),
            reduce!($t0, $t1, $t2, $t3, $t4),
        )
    };
}

/// `t <- (t + m q) / 2^64` with `m = t0 q' mod 2^64`, as assembly text: the
/// five limbs `$t0..$t4` (a value below `2^320`) become `$t1..$t4` (`$t0`
/// becomes 0; only its carry matters).
macro_rules! reduce {
    ($t0:literal, $t1:literal, $t2:literal, $t3:literal, $t4:literal) => {
        concat!(
            "mov rdx, {",
            $t0,
            "}\n",
            "imul rdx, qword ptr [{q} + 32]\n",
            "xor {lo:e}, {lo:e}\n", // CF = OF = 0
            mul_add_limbs!("q", $t0, $t1, $t2, $t3, $t4),
        )
    };
}

/// `a * b` in Fq (Montgomery form in, Montgomery form out), bit-identical to
/// arkworks' `*`.
///
/// No `#[target_feature]` attribute, so that it inlines into the MSM's generic
/// loops (the assembler takes `mulx`/`adcx`/`adox` whatever the target
/// features); see [`mul`] for the marked entry point.
///
/// # Safety
/// The CPU must have BMI2 and ADX ([`detected`] returned true).
#[inline(always)]
pub(crate) unsafe fn mul_unchecked_features(a: &Fq, b: &Fq) -> Fq {
    let (r0, r1, r2, r3): (u64, u64, u64, u64);
    // SAFETY: the caller guarantees BMI2 and ADX. The assembly reads 32 bytes
    // at `a` and at `b` (references to `Fq`, four u64 limbs) and 40 at `q` (a
    // static of five u64), writes only the registers declared below, does not
    // touch the stack, and leaves the flags clobbered (no `preserves_flags`).
    unsafe {
        core::arch::asm!(
            // Round 0, t = a * b_0: t0..t4 <- x0..x4 (x4 below 2^63).
            "mov rdx, qword ptr [{b}]",
            "mulx {x1}, {x0}, qword ptr [{a}]",
            "mulx {x2}, {lo}, qword ptr [{a} + 8]",
            "add {x1}, {lo}",
            "mulx {x3}, {lo}, qword ptr [{a} + 16]",
            "adc {x2}, {lo}",
            "mulx {x4}, {lo}, qword ptr [{a} + 24]",
            "adc {x3}, {lo}",
            "adc {x4}, 0",
            reduce!("x0", "x1", "x2", "x3", "x4"),
            // t in x1..x4; each round shifts the window by one register.
            round!("8", "x1", "x2", "x3", "x4", "x0"),
            round!("16", "x2", "x3", "x4", "x0", "x1"),
            round!("24", "x3", "x4", "x0", "x1", "x2"),
            // t in x4, x0, x1, x2 (below 2q): subtract q unless that borrows.
            "mov {x3}, {x4}",
            "sub {x3}, qword ptr [{q}]",
            "mov {lo}, {x0}",
            "sbb {lo}, qword ptr [{q} + 8]",
            "mov {hi}, {x1}",
            "sbb {hi}, qword ptr [{q} + 16]",
            "mov rdx, {x2}",
            "sbb rdx, qword ptr [{q} + 24]",
            "cmovc {x3}, {x4}",
            "cmovc {lo}, {x0}",
            "cmovc {hi}, {x1}",
            "cmovc rdx, {x2}",
            a = in(reg) a.0.0.as_ptr(),
            b = in(reg) b.0.0.as_ptr(),
            q = in(reg) MODULUS_AND_INV.as_ptr(),
            x0 = out(reg) _,
            x1 = out(reg) _,
            x2 = out(reg) _,
            x3 = out(reg) r0,
            x4 = out(reg) _,
            lo = out(reg) r1,
            hi = out(reg) r2,
            out("rdx") r3,
            options(pure, readonly, nostack),
        );
    }
    Fq::new_unchecked(BigInt([r0, r1, r2, r3]))
}

/// `a * b` in Fq with BMI2/ADX; bit-identical to arkworks' `*`. The tests'
/// entry point: the MSM inlines [`mul_unchecked_features`] instead, under its
/// [`super::field_ops::Adx`] token.
///
/// # Safety
/// The CPU must have BMI2 and ADX ([`detected`] returned true).
#[cfg(test)]
#[target_feature(enable = "bmi2,adx")]
pub(crate) unsafe fn mul(a: &Fq, b: &Fq) -> Fq {
    // SAFETY: this function's own contract (BMI2 and ADX present).
    unsafe { mul_unchecked_features(a, b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, Field, One, PrimeField, UniformRand, Zero};
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn fq_adx_constants_are_bn254s() {
        assert_eq!(MODULUS_AND_INV[..4], Fq::MODULUS.0);
        let inv = MODULUS_AND_INV[4];
        assert_eq!(Fq::MODULUS.0[0].wrapping_mul(inv), u64::MAX, "q * q' = -1 mod 2^64");
    }

    /// Elements at the edges: 0, 1, -1, R (the Montgomery form of R is R^2),
    /// values whose Montgomery limbs are all ones or sit just below q, and
    /// powers of two at every limb boundary.
    fn edge_cases() -> Vec<Fq> {
        let mut v = vec![Fq::zero(), Fq::one(), -Fq::one(), Fq::from(2u64), -Fq::from(2u64)];
        // Montgomery limbs q - 1, q - 2, ..., and 2^k - 1, 2^k for every k < 254.
        let q = Fq::MODULUS;
        for d in 1..4u64 {
            let mut limbs = q;
            limbs.sub_with_borrow(&BigInt::from(d));
            v.push(Fq::new_unchecked(limbs));
        }
        for k in 0..254u32 {
            let mut p = BigInt::<4>::zero();
            p.0[(k / 64) as usize] = 1 << (k % 64);
            v.push(Fq::new_unchecked(p));
            let mut m = p;
            m.sub_with_borrow(&BigInt::from(1u64));
            v.push(Fq::new_unchecked(m));
        }
        // Limbs of all ones below the top one, top limb q's minus one.
        v.push(Fq::new_unchecked(BigInt([u64::MAX, u64::MAX, u64::MAX, q.0[3] - 1])));
        v.push(Fq::new_unchecked(BigInt([0, 0, 0, q.0[3]])));
        // R mod q as an element (its Montgomery form is R^2 mod q).
        v.push(Fq::from_bigint(Fq::R).expect("R mod q < q"));
        v.push(Fq::new_unchecked(Fq::R));
        v.push(Fq::new_unchecked(Fq::R2));
        v
    }

    #[test]
    fn fq_adx_mul_matches_arkworks() {
        if !detected() {
            eprintln!("no BMI2/ADX on this CPU: the ADX multiplication is not tested here");
            return;
        }
        let mut rng = StdRng::seed_from_u64(7);
        let mut xs = edge_cases();
        for x in xs.clone() {
            xs.push(x.square());
        }
        xs.extend((0..200).map(|_| Fq::rand(&mut rng)));
        for a in &xs {
            for b in &xs {
                // SAFETY: detected() above.
                let got = unsafe { mul(a, b) };
                assert_eq!(got.0, (*a * b).0, "a = {a:?}, b = {b:?}");
                assert!(got.0 < Fq::MODULUS);
            }
        }
        // Chains of products, each fed back in.
        let mut x = Fq::rand(&mut rng);
        let mut y = x;
        for _ in 0..100_000 {
            let z = Fq::rand(&mut rng);
            // SAFETY: detected() above.
            x = unsafe { mul_unchecked_features(&x, &z) };
            y *= z;
            if rng.gen_range(0..4) == 0 {
                // SAFETY: detected() above.
                x = unsafe { mul_unchecked_features(&x, &x) };
                y.square_in_place();
            }
            assert_eq!(x.0, y.0);
        }
    }
}
