//! The base-field multiplication the MSM's hot loops use, chosen once per MSM.
//!
//! The batch-affine additions (`batch_add.rs`) spend most of their time in
//! base-field multiplications. They take them from a [`FieldOps`] value:
//! [`Portable`] is arkworks' `*`; on x86-64 CPUs with BMI2 and ADX, [`Adx`]
//! replaces BN254 Fq's multiplication by `fq_adx.rs`'s assembly. `pippenger`
//! picks one at the top of each MSM, so the check is not repeated per
//! multiplication and each choice gets its own monomorphized loops.

use ark_ff::Field;

/// Multiplication in a field `F`; implementations are zero-sized tokens.
pub(super) trait FieldOps: Copy + Send + Sync {
    /// Whether this is arkworks' arithmetic, so that point additions may as
    /// well be arkworks' own (`jacobian.rs`).
    const ARKWORKS: bool = false;

    fn mul<F: Field>(self, a: &F, b: &F) -> F;

    #[inline(always)]
    fn square<F: Field>(self, a: &F) -> F {
        self.mul(a, a)
    }
}

/// arkworks' arithmetic, whatever the CPU.
#[derive(Clone, Copy)]
pub(super) struct Portable;

impl FieldOps for Portable {
    const ARKWORKS: bool = true;

    #[inline(always)]
    fn mul<F: Field>(self, a: &F, b: &F) -> F {
        *a * b
    }

    #[inline(always)]
    fn square<F: Field>(self, a: &F) -> F {
        a.square()
    }
}

/// BMI2/ADX multiplication for BN254's Fq, arkworks' for other fields. A value
/// exists only where the CPU has both extensions ([`Adx::for_field`]).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(super) struct Adx(());

#[cfg(target_arch = "x86_64")]
impl Adx {
    /// The token, if `F` is BN254's Fq (the only field it speeds up) and the
    /// CPU has BMI2 and ADX.
    pub(super) fn for_field<F: Field>() -> Option<Self> {
        (is_fq::<F>() && super::fq_adx::detected()).then_some(Self(()))
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn is_fq<F: Field>() -> bool {
    std::any::TypeId::of::<F>() == std::any::TypeId::of::<ark_bn254::Fq>()
}

#[cfg(target_arch = "x86_64")]
impl FieldOps for Adx {
    #[inline(always)]
    fn mul<F: Field>(self, a: &F, b: &F) -> F {
        // SAFETY: `self` exists only if the CPU has BMI2 and ADX (`for_field`),
        // which `mul_unchecked_features` requires.
        match as_fq(a, b) {
            Some((a, b)) => from_fq(unsafe { super::fq_adx::mul_unchecked_features(a, b) }),
            None => *a * b,
        }
    }
}

/// `(a, b)` as Fq references if `F` is Fq.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn as_fq<'a, F: Field>(a: &'a F, b: &'a F) -> Option<(&'a ark_bn254::Fq, &'a ark_bn254::Fq)> {
    use ark_bn254::Fq;
    // SAFETY: only when F is Fq (same TypeId, so the same type): the casts
    // reinterpret nothing, and the lifetimes are the inputs'.
    is_fq::<F>().then(|| unsafe { (&*(a as *const F).cast::<Fq>(), &*(b as *const F).cast::<Fq>()) })
}

/// `x` as an `F`, for `F` = Fq only.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn from_fq<F: Field>(x: ark_bn254::Fq) -> F {
    assert!(is_fq::<F>());
    // SAFETY: F is Fq (checked above, a constant after monomorphization).
    unsafe { *(&x as *const ark_bn254::Fq).cast::<F>() }
}
