//! A constant's values, held in the narrowest of i8, i16, i32 and i64 that
//! holds every one of them: a model's 8-bit weights take one byte each, not
//! eight. Reading them gives back exactly the i64 values of `constants.bin`.
//!
//! Cold code reads values one at a time ([`Values::get`], [`Values::iter`])
//! or as an `&[i64]` ([`Values::to_i64`], a copy unless the width is i64).
//! Hot loops match the width once with [`with_values!`](crate::with_values)
//! and run on the typed slice, generic over [`Elem`].

use std::borrow::Cow;

/// An element type of [`Values`]: converts to i64 without loss.
pub trait Elem: Copy + Send + Sync + Into<i64> + TryFrom<i64> + std::fmt::Debug + 'static {}
impl Elem for i8 {}
impl Elem for i16 {}
impl Elem for i32 {}
impl Elem for i64 {}

/// A storage width, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Width {
    W8,
    W16,
    W32,
    W64,
}

impl Width {
    /// The narrowest width that holds every value in `lo..=hi`.
    pub fn holding(lo: i64, hi: i64) -> Width {
        let fits = |min: i64, max: i64| lo >= min && hi <= max;
        if fits(i8::MIN.into(), i8::MAX.into()) {
            Width::W8
        } else if fits(i16::MIN.into(), i16::MAX.into()) {
            Width::W16
        } else if fits(i32::MIN.into(), i32::MAX.into()) {
            Width::W32
        } else {
            Width::W64
        }
    }

    /// The narrowest width that holds every `bits`-bit signed value (2..=64).
    pub fn for_bits(bits: u32) -> Width {
        Width::holding(-1i64 << (bits - 1), ((1u64 << (bits - 1)) - 1) as i64)
    }
}

/// Values of one constant, row-major, in the narrowest width that holds them
/// (or a wider one: a committed constant's width is that of its bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// Run `$body` with `$s` bound to the typed `&Vec<T>` of `$values` (a
/// `&Values`), `T` one of i8, i16, i32, i64: the width is matched once, and
/// `$body` is compiled for each.
#[macro_export]
macro_rules! with_values {
    ($values:expr, |$s:ident| $body:expr) => {
        match $values {
            $crate::program::Values::I8($s) => $body,
            $crate::program::Values::I16($s) => $body,
            $crate::program::Values::I32($s) => $body,
            // `$body` converts its elements to i64 for the narrower widths.
            #[allow(clippy::useless_conversion)]
            $crate::program::Values::I64($s) => $body,
        }
    };
}

/// `v` as a `T`, which the caller has checked it fits.
fn narrow<T: Elem>(v: i64) -> T {
    T::try_from(v).unwrap_or_else(|_| panic!("{v} was checked to fit {}", std::any::type_name::<T>()))
}

/// Append `values` to `v`, each of which the caller has checked to fit `T`.
fn push_all<T: Elem>(v: &mut Vec<T>, values: impl Iterator<Item = i64>) {
    v.extend(values.map(narrow::<T>));
}

impl Values {
    /// No values yet, room for `capacity`.
    pub fn empty(width: Width, capacity: usize) -> Values {
        match width {
            Width::W8 => Values::I8(Vec::with_capacity(capacity)),
            Width::W16 => Values::I16(Vec::with_capacity(capacity)),
            Width::W32 => Values::I32(Vec::with_capacity(capacity)),
            Width::W64 => Values::I64(Vec::with_capacity(capacity)),
        }
    }

    /// `values` in the narrowest width that holds them.
    pub fn from_i64(values: &[i64]) -> Values {
        let mut v = Values::empty(Width::W8, values.len());
        v.extend(values, values.len());
        v
    }

    /// `n` copies of `value`, in `width` or the narrowest wider one that holds it.
    pub fn filled(width: Width, value: i64, n: usize) -> Values {
        match width.max(Width::holding(value, value)) {
            Width::W8 => Values::I8(vec![narrow(value); n]),
            Width::W16 => Values::I16(vec![narrow(value); n]),
            Width::W32 => Values::I32(vec![narrow(value); n]),
            Width::W64 => Values::I64(vec![value; n]),
        }
    }

    pub fn width(&self) -> Width {
        match self {
            Values::I8(_) => Width::W8,
            Values::I16(_) => Width::W16,
            Values::I32(_) => Width::W32,
            Values::I64(_) => Width::W64,
        }
    }

    pub fn len(&self) -> usize {
        with_values!(self, |s| s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `i` (panics past the end, as slice indexing does).
    pub fn get(&self, i: usize) -> i64 {
        with_values!(self, |s| s[i].into())
    }

    /// Every value, in order.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            Values::I8(s) => Iter::I8(s.iter()),
            Values::I16(s) => Iter::I16(s.iter()),
            Values::I32(s) => Iter::I32(s.iter()),
            Values::I64(s) => Iter::I64(s.iter()),
        }
    }

    /// The values as i64: borrowed when they are stored so, else a copy.
    pub fn to_i64(&self) -> Cow<'_, [i64]> {
        match self {
            Values::I64(s) => Cow::Borrowed(s),
            _ => Cow::Owned(self.iter().collect()),
        }
    }

    pub fn to_vec(&self) -> Vec<i64> {
        self.to_i64().into_owned()
    }

    /// Append `words`, first widening what is held (to room for `capacity`
    /// values) if one of them does not fit its width.
    pub fn extend(&mut self, words: &[i64], capacity: usize) {
        let Some(lo) = words.iter().min() else { return };
        let hi = words.iter().max().expect("not empty");
        let need = Width::holding(*lo, *hi);
        if need > self.width() {
            let mut wider = Values::empty(need, capacity.max(self.len() + words.len()));
            with_values!(&mut wider, |w| push_all(w, self.iter()));
            *self = wider;
        }
        with_values!(self, |s| push_all(s, words.iter().copied()));
    }

    /// `values`, each of which the caller has checked to fit `width`.
    pub fn from_fitting(width: Width, values: impl ExactSizeIterator<Item = i64>) -> Values {
        let mut v = Values::empty(width, values.len());
        with_values!(&mut v, |s| push_all(s, values));
        v
    }
}

/// [`Values::iter`]: the width matched once per call of `next`, on a slice
/// iterator of its own type.
pub enum Iter<'a> {
    I8(std::slice::Iter<'a, i8>),
    I16(std::slice::Iter<'a, i16>),
    I32(std::slice::Iter<'a, i32>),
    I64(std::slice::Iter<'a, i64>),
}

impl Iterator for Iter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        match self {
            Iter::I8(i) => i.next().map(|&v| v.into()),
            Iter::I16(i) => i.next().map(|&v| v.into()),
            Iter::I32(i) => i.next().map(|&v| v.into()),
            Iter::I64(i) => i.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Iter::I8(i) => i.len(),
            Iter::I16(i) => i.len(),
            Iter::I32(i) => i.len(),
            Iter::I64(i) => i.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    const EDGES: [i64; 16] = [
        0,
        -1,
        1,
        i8::MIN as i64,
        i8::MAX as i64,
        i8::MIN as i64 - 1,
        i8::MAX as i64 + 1,
        i16::MIN as i64,
        i16::MAX as i64,
        i16::MIN as i64 - 1,
        i16::MAX as i64 + 1,
        i32::MIN as i64,
        i32::MAX as i64,
        i32::MIN as i64 - 1,
        i32::MAX as i64 + 1,
        i64::MIN,
    ];

    #[test]
    fn each_value_takes_the_narrowest_width_that_holds_it() {
        let expected = [
            Width::W8,
            Width::W8,
            Width::W8,
            Width::W8,
            Width::W8,
            Width::W16,
            Width::W16,
            Width::W16,
            Width::W16,
            Width::W32,
            Width::W32,
            Width::W32,
            Width::W32,
            Width::W64,
            Width::W64,
            Width::W64,
        ];
        for (v, w) in EDGES.iter().zip(expected) {
            let values = Values::from_i64(&[*v, 0]);
            assert_eq!(values.width(), w, "{v}");
            assert_eq!(values.to_vec(), vec![*v, 0]);
            assert_eq!((values.get(0), values.len()), (*v, 2));
        }
        assert_eq!(Values::from_i64(&[i64::MAX]).width(), Width::W64);
        assert_eq!(
            [2, 8, 9, 16, 17, 32, 33, 64].map(Width::for_bits),
            [Width::W8, Width::W8, Width::W16, Width::W16, Width::W32, Width::W32, Width::W64, Width::W64]
        );
    }

    #[test]
    fn extending_widens_and_keeps_every_value() {
        // Every order of the edges, in chunks of every length: the values
        // read back are the values written, in the narrowest width.
        let mut all: Vec<i64> = EDGES.to_vec();
        all.push(i64::MAX);
        for rot in 0..all.len() {
            all.rotate_left(1);
            for chunk in 1..=all.len() {
                let mut v = Values::empty(Width::W8, all.len());
                all.chunks(chunk).for_each(|c| v.extend(c, all.len()));
                assert_eq!(v.to_vec(), all, "rotation {rot}, chunks of {chunk}");
                assert_eq!(v.iter().collect::<Vec<_>>(), all);
                assert_eq!(v.iter().len(), all.len());
                assert_eq!(v.width(), Width::W64);
            }
        }
        let mut v = Values::empty(Width::W8, 4);
        v.extend(&[1, -128], 4);
        v.extend(&[300], 4);
        assert_eq!((v.width(), v.to_vec()), (Width::W16, vec![1, -128, 300]));
        assert_eq!(Values::filled(Width::W8, -1 << 15, 3), Values::I16(vec![i16::MIN; 3]));
        assert_eq!(Values::filled(Width::W32, 5, 2), Values::I32(vec![5; 2]));
        assert_eq!(Values::from_fitting(Width::W16, [1i64, -2].into_iter()), Values::I16(vec![1, -2]));
    }
}
