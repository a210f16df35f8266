//! One error type for the native core. Each variant maps onto one class of
//! `zkml.errors` when it crosses into Python (see `python.rs`), and carries the
//! cause as text so nothing is thrown away on the way.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The quantized program is malformed (bad index, shape, width...).
    #[error("invalid program: {0}")]
    Program(String),
    /// A value does not fit its tensor's fixed-point range.
    #[error("{0}")]
    OutOfRange(String),
    /// Inputs of the wrong number or size.
    #[error("{0}")]
    InputShape(String),
    /// A key, proof or public-input file is malformed.
    #[error("{0}")]
    Format(String),
    /// Artifacts that belong to different circuits or versions.
    #[error("{0}")]
    Mismatch(String),
    /// The witness does not satisfy a constraint. Always a bug or a tampered witness.
    #[error("witness does not satisfy constraint {row} ({label})")]
    Unsatisfied { row: usize, label: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The GPU (or its driver or compiler) failed or is unusable.
    #[error("device error: {0}")]
    Device(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The text a panic was raised with (its `String` or `&str` payload).
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> Option<String> {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    /// The same error again (same variant and text; an I/O error keeps its
    /// kind and message), for a failure that more than one caller is told of.
    pub fn replay(&self) -> Self {
        match self {
            Error::Program(s) => Error::Program(s.clone()),
            Error::OutOfRange(s) => Error::OutOfRange(s.clone()),
            Error::InputShape(s) => Error::InputShape(s.clone()),
            Error::Format(s) => Error::Format(s.clone()),
            Error::Mismatch(s) => Error::Mismatch(s.clone()),
            Error::Unsatisfied { row, label } => Error::Unsatisfied { row: *row, label: label.clone() },
            Error::Io { context, source } => {
                Error::Io { context: context.clone(), source: std::io::Error::new(source.kind(), source.to_string()) }
            }
            Error::Device(s) => Error::Device(s.clone()),
            Error::Internal(s) => Error::Internal(s.clone()),
        }
    }

    /// The structured facts of the error, for `ZkmlError.details`. A failing
    /// constraint gives its `row` and `region`, and the region split into
    /// what emitted it: the `instruction` index, its `op` and the `tensor`
    /// it writes (which names the ONNX node's output), or the program
    /// `input` it range-checks. An I/O error gives its `context`, the
    /// `os_error` and the `path`.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        match self {
            Error::Unsatisfied { row, label } => {
                let mut out = vec![("row", Field::Int(*row as i64)), ("region", Field::Text(label.clone()))];
                if let Some(rest) = label.strip_prefix('#') {
                    let parsed = rest.split_once(' ').and_then(|(k, rest)| {
                        let (op, tensor) = rest.split_once(" -> ")?;
                        let tensor = tensor.strip_prefix('\'')?.strip_suffix('\'')?;
                        Some((k.parse::<i64>().ok()?, op.to_string(), tensor.to_string()))
                    });
                    if let Some((k, op, tensor)) = parsed {
                        out.push(("instruction", Field::Int(k)));
                        out.push(("op", Field::Text(op)));
                        out.push(("tensor", Field::Text(tensor)));
                    }
                } else if let Some(name) = label.strip_prefix("input '").and_then(|r| r.strip_suffix('\'')) {
                    out.push(("input", Field::Text(name.to_string())));
                }
                out
            }
            Error::Io { context, source } => {
                let mut out =
                    vec![("context", Field::Text(context.clone())), ("os_error", Field::Text(source.to_string()))];
                // Every I/O context is "cannot read|write [proving key] <path>".
                let path = ["cannot read proving key ", "cannot read ", "cannot write "]
                    .iter()
                    .find_map(|prefix| context.strip_prefix(prefix));
                if let Some(path) = path {
                    out.push(("path", Field::Text(path.to_string())));
                }
                out
            }
            _ => Vec::new(),
        }
    }
}

/// A value of [`Error::fields`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Int(i64),
    Text(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_constraint_names_its_instruction_op_and_tensor() {
        let e = Error::Unsatisfied { row: 812, label: "#2 relu -> 'h1'".into() };
        let f = e.fields();
        assert!(f.contains(&("row", Field::Int(812))));
        assert!(f.contains(&("instruction", Field::Int(2))));
        assert!(f.contains(&("op", Field::Text("relu".into()))));
        assert!(f.contains(&("tensor", Field::Text("h1".into()))));
        let e = Error::Unsatisfied { row: 3, label: "input 'x'".into() };
        assert!(e.fields().contains(&("input", Field::Text("x".into()))));
        let e = Error::Unsatisfied { row: 9, label: "public inputs".into() };
        assert_eq!(e.fields().len(), 2);
        let e = Error::io("cannot read k.bin", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(e.fields()[0], ("context", Field::Text("cannot read k.bin".into())));
        assert!(e.fields().contains(&("path", Field::Text("k.bin".into()))));
    }

    #[test]
    fn a_replayed_error_has_the_same_variant_text_and_fields() {
        let errors = [
            Error::Program("p".into()),
            Error::OutOfRange("o".into()),
            Error::InputShape("i".into()),
            Error::Format("f".into()),
            Error::Mismatch("m".into()),
            Error::Unsatisfied { row: 7, label: "#1 relu -> 'x'".into() },
            Error::io("cannot read k.bin", std::io::Error::from(std::io::ErrorKind::NotFound)),
            Error::Device("d".into()),
            Error::Internal("n".into()),
        ];
        for e in &errors {
            let again = e.replay();
            assert_eq!(std::mem::discriminant(e), std::mem::discriminant(&again));
            assert_eq!(e.to_string(), again.to_string());
            assert_eq!(e.fields(), again.fields());
        }
        let Error::Io { source, .. } = errors[6].replay() else { unreachable!() };
        assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    }
}
