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

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}
