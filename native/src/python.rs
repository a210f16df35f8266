//! The `zkml._native` extension module. Thin: argument conversion, releasing
//! the GIL around the heavy work, and turning every error, panics included,
//! into the matching `zkml.errors` class.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::error::Error;
use crate::pipeline;
use crate::program::Constants;
use crate::progress;

fn error_class(e: &Error) -> &'static str {
    match e {
        Error::Program(_) => "ModelError",
        Error::OutOfRange(_) => "QuantizationError",
        Error::InputShape(_) => "InputShapeError",
        Error::Format(_) => "ProofFormatError",
        Error::Mismatch(_) => "CircuitMismatchError",
        Error::Unsatisfied { .. } => "WitnessError",
        Error::Io { .. } => "InputFileError",
        Error::Device(_) => "DeviceError",
        Error::Internal(_) => "InternalError",
    }
}

/// The structured facts of an error, for `ZkmlError.details`.
fn error_details<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (key, value) in e.fields() {
        match value {
            crate::error::Field::Int(v) => d.set_item(key, v)?,
            crate::error::Field::Text(v) => d.set_item(key, v)?,
        }
    }
    Ok(d)
}

fn raise(py: Python<'_>, class: &str, message: String, error: Option<&Error>) -> PyErr {
    match py.import("zkml.errors").and_then(|m| m.getattr(class)) {
        Ok(cls) => match cls.call1((message.clone(),)) {
            Ok(inst) => {
                if let Some(e) = error {
                    if let (Ok(details), Ok(extra)) = (inst.getattr("details"), error_details(py, e)) {
                        if let Ok(details) = details.downcast::<PyDict>() {
                            let _ = details.update(extra.as_mapping());
                        }
                    }
                }
                PyErr::from_value(inst)
            }
            Err(e) => e,
        },
        Err(_) => PyRuntimeError::new_err(message),
    }
}

thread_local! {
    /// What the panic hook saw last on this thread (message and location).
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Keep panics off stderr (the CLI promises one-line errors) but remember them,
/// location included, for the InternalError that reports them.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
    }));
}

/// Run `f` without the GIL, converting errors and panics into Python exceptions.
/// `f` may borrow `bytes` arguments (`&[u8]`): a `bytes` object is immutable
/// and its caller holds it for the whole call, so `constants.bin` (up to
/// 2 GiB) is never copied on the way in.
fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> crate::error::Result<T> + Send) -> PyResult<T> {
    let outcome = py.allow_threads(|| catch_unwind(AssertUnwindSafe(f)));
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(raise(py, error_class(&e), e.to_string(), Some(&e))),
        Err(panic) => {
            let msg = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .or_else(|| crate::error::panic_text(&*panic))
                .unwrap_or_else(|| "unknown panic".into());
            Err(raise(py, "InternalError", format!("native code {msg}"), None))
        }
    }
}

/// [`run`] with the stages that `f` marks going to `progress`, when given.
fn run_reporting<T: Send>(
    py: Python<'_>,
    progress: Option<&NativeProgress>,
    f: impl FnOnce() -> crate::error::Result<T> + Send,
) -> PyResult<T> {
    match progress {
        None => run(py, f),
        Some(p) => {
            let log = p.log.clone();
            run(py, move || progress::reporting(log, f))
        }
    }
}

/// The stages of one native call, readable from another thread while the
/// call runs (see `progress.rs`): pass one as `progress=` to `circuit_info`,
/// `setup`, `Prover(...)` or `Prover.prove`.
#[pyclass(frozen, name = "Progress")]
struct NativeProgress {
    log: Arc<progress::Log>,
}

#[pymethods]
impl NativeProgress {
    #[new]
    fn new() -> Self {
        NativeProgress { log: Arc::new(progress::Log::default()) }
    }

    /// (name, seconds so far) of the stage running now, or None.
    fn current(&self) -> Option<(&'static str, f64)> {
        self.log.current()
    }

    /// (name, seconds, peak RSS bytes at its end) of each finished stage, in order.
    fn stages(&self) -> Vec<(&'static str, f64, u64)> {
        self.log.stages().into_iter().map(|s| (s.name, s.seconds, s.peak_rss_bytes)).collect()
    }
}

#[pyfunction]
#[pyo3(signature = (program, constants, progress=None))]
fn circuit_info<'py>(
    py: Python<'py>,
    program: &[u8],
    constants: &[u8],
    progress: Option<&NativeProgress>,
) -> PyResult<Bound<'py, PyDict>> {
    let info = run_reporting(py, progress, || pipeline::circuit_info(program, constants))?;
    let d = PyDict::new(py);
    d.set_item("circuit_hash", info.circuit_hash)?;
    d.set_item("constraints", info.constraints)?;
    d.set_item("variables", info.variables)?;
    d.set_item("public_inputs", info.public_inputs)?;
    d.set_item("domain_size", info.domain_size)?;
    d.set_item("nonzeros", info.nonzeros)?;
    d.set_item("constraints_by_instruction", info.by_region)?;
    Ok(d)
}

/// Salts as canonical decimal strings below r.
fn parse_salts(salts: &[String]) -> crate::error::Result<Vec<ark_bn254::Fr>> {
    salts.iter().enumerate().map(|(k, s)| crate::snarkjs::fr_from_decimal(s, &format!("salt {k}"))).collect()
}

#[pyfunction]
#[pyo3(signature = (program, constants, inputs, salts=Vec::new(), weights=None))]
fn evaluate(
    py: Python<'_>,
    program: &[u8],
    constants: &[u8],
    inputs: Vec<Vec<i64>>,
    salts: Vec<String>,
    weights: Option<&[u8]>,
) -> PyResult<(Vec<Vec<i64>>, Vec<String>)> {
    let (outputs, public) =
        run(py, || pipeline::evaluate(program, constants, weights, &inputs, &parse_salts(&salts)?))?;
    Ok((outputs, public.iter().map(crate::snarkjs::dec).collect()))
}

#[pyfunction]
#[pyo3(signature = (program, constants, pk_path, seed=None, progress=None))]
fn setup(
    py: Python<'_>,
    program: &[u8],
    constants: &[u8],
    pk_path: PathBuf,
    seed: Option<u64>,
    progress: Option<&NativeProgress>,
) -> PyResult<String> {
    run_reporting(py, progress, || pipeline::setup(program, constants, &pk_path, seed))
}

#[pyfunction]
#[pyo3(signature = (program, constants, pk_path, inputs, seed=None, device="auto", salts=Vec::new()))]
#[allow(clippy::too_many_arguments)]
fn prove<'py>(
    py: Python<'py>,
    program: &[u8],
    constants: &[u8],
    pk_path: PathBuf,
    inputs: Vec<Vec<i64>>,
    seed: Option<u64>,
    device: &str,
    salts: Vec<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let device = device.to_string();
    let out = run(py, || pipeline::prove(program, constants, &pk_path, &inputs, &parse_salts(&salts)?, seed, &device))?;
    prove_output_dict(py, out)
}

fn prove_output_dict<'py>(py: Python<'py>, out: pipeline::ProveOutput) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("proof", out.proof_json)?;
    d.set_item("public", out.public)?;
    d.set_item("outputs", out.outputs)?;
    d.set_item("timings", out.timings)?;
    d.set_item("backend", out.backend)?;
    d.set_item("device", out.device)?;
    d.set_item("vk", out.vk_json)?;
    Ok(d)
}

/// A build and its proving key loaded once (on a GPU, the key's points
/// uploaded once) for many proofs; see `pipeline::Prover`.
#[pyclass(frozen, name = "Prover")]
struct NativeProver {
    inner: pipeline::Prover,
}

#[pymethods]
impl NativeProver {
    /// `constants`: the bytes of `constants.bin`, or its path (then read in
    /// chunks: the file is never held whole, here or in Python).
    /// With `one_proof=True` the circuit and the key are read on threads of
    /// their own while the caller goes on, and on the CPU without hashing
    /// them unless the proof fails its self-check (see
    /// `pipeline::Prover::start`): a failure to load them is then the error
    /// of `prove` (and of the getters), which waits for them. On the CPU
    /// such a prover proves once (it drops the constants after synthesis).
    #[new]
    #[pyo3(signature = (program, constants, pk_path, device="auto", weights=None, progress=None, one_proof=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        program: &[u8],
        constants: &Bound<'_, PyAny>,
        pk_path: PathBuf,
        device: &str,
        weights: Option<&[u8]>,
        progress: Option<&NativeProgress>,
        one_proof: bool,
    ) -> PyResult<Self> {
        let device = device.to_string();
        let constants_path: PathBuf;
        let constants = match constants.downcast::<PyBytes>() {
            Ok(bytes) => Constants::Bytes(bytes.as_bytes()),
            Err(_) => {
                constants_path = constants.extract()?;
                Constants::File(&constants_path)
            }
        };
        let inner = run_reporting(py, progress, || match one_proof {
            false => pipeline::Prover::with_weights(program, constants, &pk_path, &device, weights),
            true => pipeline::Prover::start(program, constants, &pk_path, &device, weights, true),
        })?;
        Ok(NativeProver { inner })
    }

    #[pyo3(signature = (inputs, seed=None, salts=Vec::new(), progress=None))]
    fn prove<'py>(
        &self,
        py: Python<'py>,
        inputs: Vec<Vec<i64>>,
        seed: Option<u64>,
        salts: Vec<String>,
        progress: Option<&NativeProgress>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let out = run_reporting(py, progress, || self.inner.prove(&inputs, &parse_salts(&salts)?, seed))?;
        prove_output_dict(py, out)
    }

    #[getter]
    fn device(&self, py: Python<'_>) -> PyResult<String> {
        run(py, || self.inner.device().map(str::to_string))
    }

    #[getter]
    fn backend(&self, py: Python<'_>) -> PyResult<&'static str> {
        run(py, || self.inner.backend_name())
    }

    #[getter]
    fn key_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        run(py, || self.inner.key_bytes())
    }

    #[getter]
    fn device_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        run(py, || self.inner.device_bytes())
    }

    #[getter]
    fn vk(&self, py: Python<'_>) -> PyResult<String> {
        run(py, || self.inner.vk_json())
    }
}

/// Folders where NVRTC may live (the Python package passes the
/// `nvidia-cuda-nvrtc` wheel's library folders).
#[pyfunction]
fn check_ptau(py: Python<'_>, program: &[u8], constants: &[u8], ptau: PathBuf) -> PyResult<(u32, u32)> {
    run(py, || pipeline::check_ptau(program, constants, &ptau))
}

#[pyfunction]
fn export_r1cs(py: Python<'_>, program: &[u8], constants: &[u8], path: PathBuf) -> PyResult<()> {
    run(py, || pipeline::export_r1cs(program, constants, &path))
}

#[pyfunction]
#[pyo3(signature = (program, constants, inputs, path, salts=Vec::new(), weights=None))]
fn export_witness(
    py: Python<'_>,
    program: &[u8],
    constants: &[u8],
    inputs: Vec<Vec<i64>>,
    path: PathBuf,
    salts: Vec<String>,
    weights: Option<&[u8]>,
) -> PyResult<Vec<String>> {
    let public =
        run(py, || pipeline::export_witness(program, constants, weights, &inputs, &parse_salts(&salts)?, &path))?;
    Ok(public.iter().map(crate::snarkjs::dec).collect())
}

#[pyfunction]
#[pyo3(signature = (program, constants, pk_path, path, transcript_from=None))]
fn export_zkey(
    py: Python<'_>,
    program: &[u8],
    constants: &[u8],
    pk_path: PathBuf,
    path: PathBuf,
    transcript_from: Option<PathBuf>,
) -> PyResult<()> {
    run(py, || pipeline::export_zkey(program, constants, &pk_path, &path, transcript_from.as_deref()))
}

#[pyfunction]
fn import_zkey(
    py: Python<'_>,
    program: &[u8],
    constants: &[u8],
    zkey_path: PathBuf,
    pk_path: PathBuf,
) -> PyResult<(String, Vec<(String, String)>)> {
    run(py, || pipeline::import_zkey(program, constants, &zkey_path, &pk_path))
}

#[pyfunction]
fn set_nvrtc_search_dirs(dirs: Vec<PathBuf>) {
    crate::cuda::nvrtc::set_search_dirs(dirs);
}

/// Which device `device` resolves to, as the prover would report it.
#[pyfunction]
fn describe_device(py: Python<'_>, device: &str) -> PyResult<String> {
    let device = device.to_string();
    run(py, || crate::backend::select(&device).map(|s| s.description))
}

/// GPU self-check and MSM comparison: `log2_sizes` G1 and G2 MSMs on the
/// GPU against the CPU MSM, on random and witness-like scalars. Returns one
/// line per case; raises DeviceError on the first mismatch.
#[pyfunction]
fn cuda_msm_check(py: Python<'_>, log2_sizes: Vec<u32>, seed: u64) -> PyResult<Vec<String>> {
    run(py, || crate::cuda::compare_with_cpu(&log2_sizes, seed))
}

/// Seconds this machine's CPU prover takes for its primitives at 2^log2
/// elements (median of three): a G1 MSM on random and on witness-like
/// scalars, a G2 MSM on witness-like scalars, and an NTT. `zkml estimate`
/// predicts proving time from them.
#[pyfunction]
fn primitive_timings(py: Python<'_>, log2: u32) -> PyResult<Vec<(String, f64)>> {
    use ark_bn254::{G1Projective, G2Projective};
    py.allow_threads(|| {
        let n = 1usize << log2.clamp(4, 20);
        let g1 = crate::cuda::sample_points::<ark_bn254::g1::Config>(n, 1);
        let g2 = crate::cuda::sample_points::<ark_bn254::g2::Config>(n, 2);
        let random = crate::cuda::sample_scalars(n, "random", 3);
        let witness = crate::cuda::sample_scalars(n, "witness", 4);
        let domain = crate::ntt::Domain::<ark_bn254::Fr>::new(n).expect("n is a power of two");
        let median = |f: &mut dyn FnMut()| {
            let mut t: Vec<f64> = (0..3)
                .map(|_| {
                    let s = std::time::Instant::now();
                    f();
                    s.elapsed().as_secs_f64()
                })
                .collect();
            t.sort_by(|a, b| a.partial_cmp(b).unwrap());
            t[1]
        };
        let mut out = Vec::new();
        out.push((
            "g1_random".to_string(),
            median(&mut || {
                let _ = std::hint::black_box(crate::msm::msm::<G1Projective>(&g1, &random));
            }),
        ));
        out.push((
            "g1_witness".to_string(),
            median(&mut || {
                let _ = std::hint::black_box(crate::msm::msm::<G1Projective>(&g1, &witness));
            }),
        ));
        out.push((
            "g2_witness".to_string(),
            median(&mut || {
                let _ = std::hint::black_box(crate::msm::msm::<G2Projective>(&g2, &witness));
            }),
        ));
        let mut v = random.clone();
        out.push(("ntt".to_string(), median(&mut || domain.fft(&mut v))));
        Ok(out)
    })
}

/// Test hook: the next GPU MSM fails as a lost device would.
#[pyfunction]
fn _cuda_inject_failure_for_tests() {
    crate::cuda::inject_failure_for_tests();
}

/// Compiles the CUDA kernels to PTX for `arch` (e.g. "compute_90") with
/// NVRTC, without a GPU. Returns the PTX size in bytes.
#[pyfunction]
fn cuda_compile_check(py: Python<'_>, arch: &str) -> PyResult<usize> {
    let arch = arch.to_string();
    run(py, || crate::cuda::nvrtc::Nvrtc::open()?.compile(&arch, &[]).map(|ptx| ptx.len()))
}

#[pyfunction]
fn verify(py: Python<'_>, vk_json: &str, proof_json: &str, public_json: &str) -> PyResult<bool> {
    let (vk, proof, public) = (vk_json.to_string(), proof_json.to_string(), public_json.to_string());
    run(py, || pipeline::verify(&vk, &proof, &public))
}

/// circomlib's Poseidon hash of 1 to 8 field elements, each an int or a
/// canonical decimal string in [0, r) (r the BN254 scalar field modulus); the
/// hash as a decimal string.
#[pyfunction]
fn poseidon(py: Python<'_>, values: Vec<Bound<'_, PyAny>>) -> PyResult<String> {
    use pyo3::types::{PyBool, PyInt, PyString};
    let decimals = values
        .iter()
        .map(|v| {
            if v.is_instance_of::<PyString>() {
                v.extract::<String>()
            } else if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() {
                Ok(v.str()?.to_string())
            } else {
                Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "poseidon inputs are ints or decimal strings, not {}",
                    v.get_type().name()?
                )))
            }
        })
        .collect::<PyResult<Vec<String>>>()?;
    run(py, || crate::gadgets::poseidon::poseidon_decimal(&decimals))
}

/// Test hook: a panic inside native code must surface as zkml.errors.InternalError.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    run(py, || -> crate::error::Result<()> { panic!("deliberate test panic") })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    install_panic_hook();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(circuit_info, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(setup, m)?)?;
    m.add_function(wrap_pyfunction!(prove, m)?)?;
    m.add_class::<NativeProver>()?;
    m.add_class::<NativeProgress>()?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(set_nvrtc_search_dirs, m)?)?;
    m.add_function(wrap_pyfunction!(check_ptau, m)?)?;
    m.add_function(wrap_pyfunction!(export_r1cs, m)?)?;
    m.add_function(wrap_pyfunction!(export_witness, m)?)?;
    m.add_function(wrap_pyfunction!(export_zkey, m)?)?;
    m.add_function(wrap_pyfunction!(import_zkey, m)?)?;
    m.add_function(wrap_pyfunction!(describe_device, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_msm_check, m)?)?;
    m.add_function(wrap_pyfunction!(primitive_timings, m)?)?;
    m.add_function(wrap_pyfunction!(_cuda_inject_failure_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_compile_check, m)?)?;
    Ok(())
}
