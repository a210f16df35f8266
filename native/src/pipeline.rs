//! The operations the Python package calls, on bytes and paths: circuit
//! statistics, setup, prove, verify. Everything here returns `Result`; the
//! Python layer (`python.rs`) turns errors into `zkml.errors` classes.

use std::path::Path;
use std::time::Instant;

use ark_bn254::Fr;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use crate::backend;
#[cfg(test)]
use crate::backend::Cpu;
use crate::error::{Error, Result};
use crate::formats::proving_key::{
    domain_size_hint, read_proving_key_for, read_proving_key_unhashed, write_proving_key, KeyHeader,
};
use crate::groth16::r1cs_to_qap::{domain_for, domain_for_rows};
use crate::groth16::{create_proof_from_rows, generate_parameters, verify_proof, HostMsms};
use crate::program::{Circuit, Constants};
use crate::progress;
use crate::r1cs::WitnessRows;
use crate::snarkjs;
use crate::synth::{count_constraints, synthesize, synthesize_witness, WitnessSynthesis};

#[derive(Debug, Clone)]
pub struct CircuitInfo {
    pub circuit_hash: String,
    pub constraints: usize,
    pub variables: usize,
    pub public_inputs: usize,
    pub domain_size: usize,
    pub nonzeros: usize,
    /// Constraint count per gadget region (instruction), in program order.
    pub by_region: Vec<(String, usize)>,
}

/// `program` and `constants` are the bytes of `circuit.json` and
/// `constants.bin` everywhere below.
pub fn circuit_info(program: &[u8], constants: &[u8]) -> Result<CircuitInfo> {
    progress::stage("load_circuit");
    let circuit = Circuit::from_parts(program, constants)?;
    progress::stage("synthesize");
    // Counted as the rows are built, never held: a layer's rows carry its
    // weights, hundreds of MB of matrix entries for a wide model.
    let c = count_constraints(&circuit)?;
    Ok(CircuitInfo {
        circuit_hash: circuit.hash_hex(),
        constraints: c.num_constraints,
        variables: c.num_variables,
        public_inputs: c.num_public,
        domain_size: domain_for_rows(c.num_constraints + c.num_public + 1)?.size,
        nonzeros: c.nonzeros,
        by_region: c.by_label,
    })
}

/// Witness only: the outputs and public signals for `inputs` (and `salts`,
/// one per hashed input or output), after checking that the witness
/// satisfies every constraint.
pub fn evaluate(
    program: &[u8],
    constants: &[u8],
    weights: Option<&[u8]>,
    inputs: &[Vec<i64>],
    salts: &[Fr],
) -> Result<(Vec<Vec<i64>>, Vec<Fr>)> {
    let circuit = circuit_with_weights(program, constants, weights)?;
    let s = synthesize_witness(&circuit, inputs, salts, 0)?;
    check_satisfied(&s.witness)?;
    Ok((s.outputs, s.witness.public_inputs().to_vec()))
}

/// The circuit, with the prover's committed weights (`weights.bin`) loaded
/// when given.
pub fn circuit_with_weights(program: &[u8], constants: &[u8], weights: Option<&[u8]>) -> Result<Circuit> {
    let mut circuit = Circuit::from_parts(program, constants)?;
    if let Some(w) = weights {
        if !circuit.has_committed() {
            return Err(Error::InputShape("weights were given, but this circuit commits to none".to_string()));
        }
        circuit.load_weights(w)?;
    }
    Ok(circuit)
}

fn check_satisfied(w: &WitnessRows) -> Result<()> {
    match w.first_unsatisfied() {
        Some(row) => Err(Error::Unsatisfied { row, label: w.label_of(row).to_string() }),
        None => Ok(()),
    }
}

fn rng(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(s) => ChaCha20Rng::seed_from_u64(s),
        None => ChaCha20Rng::from_entropy(),
    }
}

/// Circuit-specific setup with local randomness; writes the proving key to
/// `pk_path` and returns the verifying key as snarkjs JSON. `seed` makes it
/// reproducible and is for tests only. It needs no input: the circuit is
/// synthesised in structure-only mode.
pub fn setup(program: &[u8], constants: &[u8], pk_path: &Path, seed: Option<u64>) -> Result<String> {
    progress::stage("load_circuit");
    let circuit = Circuit::from_parts(program, constants)?;
    progress::stage("synthesize");
    let s = synthesize(&circuit, None)?;
    progress::stage("generate_keys");
    let pk = generate_parameters(&s.r1cs, &mut rng(seed))?;
    progress::stage("write_key");
    let header = KeyHeader { circuit_hash: circuit.hash, r1cs_digest: s.r1cs.digest() };
    write_proving_key(pk_path, &header, &pk)?;
    Ok(snarkjs::vk_to_json(&pk.vk).to_string())
}

/// The circuit's constraint system as an iden3 `.r1cs` file (no input
/// needed: the structure does not depend on it).
pub fn export_r1cs(program: &[u8], constants: &[u8], path: &Path) -> Result<()> {
    let circuit = Circuit::from_parts(program, constants)?;
    let s = synthesize(&circuit, None)?;
    let bytes = crate::formats::r1cs::to_bytes(&s.r1cs);
    crate::io::write_atomic(path, |f| std::io::Write::write_all(f, &bytes))
}

/// The witness of `inputs` (checked to satisfy every constraint) as an
/// iden3 `.wtns` file; returns the public signals.
pub fn export_witness(
    program: &[u8],
    constants: &[u8],
    weights: Option<&[u8]>,
    inputs: &[Vec<i64>],
    salts: &[Fr],
    path: &Path,
) -> Result<Vec<Fr>> {
    let circuit = circuit_with_weights(program, constants, weights)?;
    let w = synthesize_witness(&circuit, inputs, salts, 0)?.witness;
    check_satisfied(&w)?;
    let bytes = crate::formats::wtns::to_bytes(&w.assignment);
    crate::io::write_atomic(path, |f| std::io::Write::write_all(f, &bytes))?;
    Ok(w.public_inputs().to_vec())
}

/// Reads and checks a powers-of-tau file for this circuit's QAP domain (see
/// [`crate::formats::ptau`]); returns (power, ceremony power).
pub fn check_ptau(program: &[u8], constants: &[u8], ptau: &Path) -> Result<(u32, u32)> {
    let circuit = Circuit::from_parts(program, constants)?;
    let s = synthesize(&circuit, None)?;
    let domain = domain_for(&s.r1cs)?;
    let info = crate::formats::ptau::check(ptau, domain.size, &mut rng(None))?;
    Ok((info.power, info.ceremony_power))
}

/// The proving key at `pk_path` (checked against the circuit) as a snarkjs
/// `.zkey`. Its phase-2 transcript is taken from the `.zkey` at
/// `transcript_from` (the one the key was imported from), or left empty (a
/// key of our own setup).
pub fn export_zkey(
    program: &[u8],
    constants: &[u8],
    pk_path: &Path,
    path: &Path,
    transcript_from: Option<&Path>,
) -> Result<()> {
    let circuit = Circuit::from_parts(program, constants)?;
    let s = synthesize(&circuit, None)?;
    let header = KeyHeader { circuit_hash: circuit.hash, r1cs_digest: s.r1cs.digest() };
    let pk = crate::formats::proving_key::read_proving_key(pk_path, &header)?;
    let transcript = match transcript_from {
        None => None,
        Some(from) => {
            let data = std::fs::read(from).map_err(|e| Error::io(format!("cannot read {}", from.display()), e))?;
            Some(crate::formats::zkey::transcript_of(&data)?)
        }
    };
    let bytes = crate::formats::zkey::to_bytes(&pk, &s.r1cs, transcript.as_deref())?;
    crate::io::write_atomic(path, |f| std::io::Write::write_all(f, &bytes))
}

/// Reads a snarkjs `.zkey` made for this circuit (see
/// [`crate::formats::zkey::from_bytes`]) and writes it as our proving key;
/// returns the verifying key (snarkjs JSON) and the contributions
/// (name, kind) its transcript lists.
pub fn import_zkey(
    program: &[u8],
    constants: &[u8],
    zkey_path: &Path,
    pk_path: &Path,
) -> Result<(String, Vec<(String, String)>)> {
    let circuit = Circuit::from_parts(program, constants)?;
    let s = synthesize(&circuit, None)?;
    let domain = domain_for(&s.r1cs)?;
    let data = std::fs::read(zkey_path).map_err(|e| Error::io(format!("cannot read {}", zkey_path.display()), e))?;
    let (pk, extras) = crate::formats::zkey::from_bytes(&data, &s.r1cs, domain.size)?;
    let header = KeyHeader { circuit_hash: circuit.hash, r1cs_digest: s.r1cs.digest() };
    write_proving_key(pk_path, &header, &pk)?;
    Ok((snarkjs::vk_to_json(&pk.vk).to_string(), extras.contributions.into_iter().map(|c| (c.name, c.kind)).collect()))
}

pub struct ProveOutput {
    pub proof_json: String,
    pub public: Vec<String>,
    pub outputs: Vec<Vec<i64>>,
    /// (stage, seconds): synthesize, load_key, evaluate (the QAP's row
    /// evaluations and satisfaction check), quotient (h), msm
    pub timings: Vec<(&'static str, f64)>,
    pub backend: &'static str,
    /// Which device proved, and why (see [`backend::select`]).
    pub device: String,
    /// The verifying key inside the proving key, as snarkjs JSON, so the
    /// caller can check it against the verification key beside it.
    pub vk_json: String,
}

/// `device`: "auto", "cpu" or "cuda" (see [`backend::select`]). One proof
/// with a [`Prover`] made for it.
pub fn prove(
    program: &[u8],
    constants: &[u8],
    pk_path: &Path,
    inputs: &[Vec<i64>],
    salts: &[Fr],
    seed: Option<u64>,
    device: &str,
) -> Result<ProveOutput> {
    Prover::new(program, Constants::Bytes(constants), pk_path, device)?.prove(inputs, salts, seed)
}

/// Where a [`Prover`]'s MSMs run (one per prover, so the size of the CUDA
/// variant costs nothing).
#[allow(clippy::large_enum_variant)]
enum Engine {
    Cpu,
    /// A GPU with the key's points resident on it. The row values come from
    /// the witness-only synthesis on the CPU (no matrices anywhere), and go
    /// over for the quotient.
    Cuda {
        gpu: crate::cuda::Cuda,
        key: crate::cuda::ResidentKey,
    },
}

/// A value that a loading thread is computing, or has computed: every
/// caller of [`Pending::get`] waits for it, and each is told of its error.
struct Pending<T> {
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<Result<T>>>>,
    done: std::sync::OnceLock<Result<T>>,
}

impl<T: Send + 'static> Pending<T> {
    fn ready(value: Result<T>) -> Self {
        let done = std::sync::OnceLock::new();
        let _ = done.set(value);
        Pending { thread: std::sync::Mutex::new(None), done }
    }

    /// `work` on a thread of its own (inline if no thread can be made).
    fn spawn(name: &str, work: impl FnOnce() -> Result<T> + Send + 'static) -> Self {
        let work = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
        let theirs = work.clone();
        let spawned = std::thread::Builder::new().name(name.to_string()).spawn(move || {
            let work = theirs.lock().unwrap_or_else(|e| e.into_inner()).take().expect("taken once");
            work()
        });
        match spawned {
            Ok(thread) => Pending { thread: std::sync::Mutex::new(Some(thread)), done: std::sync::OnceLock::new() },
            Err(_) => {
                let work = work.lock().unwrap_or_else(|e| e.into_inner()).take().expect("not taken");
                Pending::ready(work())
            }
        }
    }

    fn is_ready(&self) -> bool {
        self.done.get().is_some()
    }

    fn get(&self) -> Result<&T> {
        let done = self.done.get_or_init(|| {
            let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
            match thread.map(|t| t.join()) {
                Some(Ok(result)) => result,
                Some(Err(panic)) => {
                    let msg = crate::error::panic_text(&*panic).unwrap_or_else(|| "unknown panic".into());
                    Err(Error::Internal(format!("native code panicked while loading: {msg}")))
                }
                None => Err(Error::Internal("the loading thread was lost".into())),
            }
        });
        done.as_ref().map_err(Error::replay)
    }
}

/// The circuit as a prover holds it, with `constants.bin`'s SHA-256 perhaps
/// still being computed (a proof checks it before it is returned).
struct LoadedCircuit {
    /// Shared by every proof; `None` for a prover of one proof on the CPU,
    /// whose proof takes the circuit from `once` and drops it (the
    /// constants, hundreds of MB for a wide model) after its synthesis.
    shared: Option<Circuit>,
    once: std::sync::Mutex<Option<Circuit>>,
    digest: std::sync::Mutex<Option<crate::program::PendingDigest>>,
    checked: std::sync::OnceLock<Result<()>>,
}

impl LoadedCircuit {
    /// Waits for `constants.bin`'s hash (once); a mismatch is every caller's error.
    fn constants_checked(&self) -> Result<()> {
        let checked = self.checked.get_or_init(|| {
            let digest = self.digest.lock().unwrap_or_else(|e| e.into_inner()).take();
            digest.map_or(Ok(()), |d| d.check())
        });
        checked.as_ref().map(|_| ()).map_err(Error::replay)
    }
}

/// The proving key as a prover holds it, and where its MSMs run.
struct LoadedKey {
    pk: crate::groth16::ProvingKey,
    engine: Engine,
    description: String,
}

/// A build and its proving key loaded once (and, on a GPU, the key's points
/// uploaded once) for any number of proofs.
///
/// On the CPU the circuit (parsing, `constants.bin`'s hash and decoding)
/// and the proving key (its checksum and points) are read on two threads of
/// their own, side by side, from [`Prover::start`] on; a proof waits for the
/// circuit before its synthesis and for the key after it, so a single proof
/// synthesises while the key is still being read. Everything is checked as
/// before, and a failure to load is the error of each proof (and of each
/// accessor). [`Prover::new`] waits for both.
pub struct Prover {
    circuit: Pending<LoadedCircuit>,
    key: Pending<LoadedKey>,
    /// The QAP domain size the key file records (unchecked), the capacity
    /// the witness reserves for the rows while the key is still loading.
    rows_hint: usize,
    pk_path: std::path::PathBuf,
    circuit_hash: [u8; 32],
    /// The key was read without its checksum ([`Prover::start`] for one
    /// proof): it is checked when a proof fails, to name a corrupt file.
    key_unhashed: bool,
    /// Made by [`Prover::start`] for one proof.
    one_proof: bool,
    /// What was asked for: "auto" lets a GPU failing mid-proof hand that
    /// proof to the CPU.
    requested: String,
    /// Seconds spent waiting for the circuit and the key, reported by the
    /// first proof as its `load_key`.
    load_seconds: std::sync::Mutex<Option<f64>>,
}

impl Prover {
    /// Parses the circuit, reads the proving key (checked against the
    /// circuit's hash; that it was made for this constraint system, each
    /// proof checks by verifying itself) and, on a GPU, uploads its points.
    /// With "auto", a GPU that cannot hold the key leaves the prover on the
    /// CPU, saying why; with "cuda" it is an [`Error::Device`] naming the
    /// sizes.
    /// `constants`: `constants.bin`'s bytes or path ([`Constants`]).
    pub fn new(program: &[u8], constants: Constants<'_>, pk_path: &Path, device: &str) -> Result<Self> {
        Prover::with_weights(program, constants, pk_path, device, None)
    }

    /// [`Prover::new`] with the committed weights (`weights.bin`) loaded
    /// for the proofs to come.
    pub fn with_weights(
        program: &[u8],
        constants: Constants<'_>,
        pk_path: &Path,
        device: &str,
        weights: Option<&[u8]>,
    ) -> Result<Self> {
        let prover = Prover::start(program, constants, pk_path, device, weights, false)?;
        let t = Instant::now();
        progress::stage("load_circuit");
        prover.circuit.get()?;
        progress::stage("load_key");
        prover.key.get()?;
        *prover.load_seconds.lock().unwrap_or_else(|e| e.into_inner()) = Some(t.elapsed().as_secs_f64());
        Ok(prover)
    }

    /// Opens the device and starts reading the circuit and the key, on the
    /// CPU without waiting for either (see [`Prover`]); on a GPU the key is
    /// read and uploaded here, on this thread (the device's context is
    /// this thread's). Only the device can fail here.
    ///
    /// `one_proof`: `constants.bin`'s SHA-256 (against the program's
    /// `constants_sha256`) is computed while the proof synthesises its
    /// witness, and checked before the proof is returned; on the CPU the
    /// key is read without its checksum (its layout and coordinates are
    /// still checked). The checksum only names a corrupt key: a proof from
    /// one fails the self-check every proof passes before it is returned,
    /// and when a proof fails, the key's checksum is checked so that a
    /// corrupt key is the error (as a prover that checked it on loading
    /// reports it). On the CPU such a prover proves once: its proof drops
    /// the constants after synthesis (the memory of a wide model's weights).
    pub fn start(
        program: &[u8],
        constants: Constants<'_>,
        pk_path: &Path,
        device: &str,
        weights: Option<&[u8]>,
        one_proof: bool,
    ) -> Result<Self> {
        let (opened, description) = backend::open(device)?;
        let circuit_hash: [u8; 32] = Sha256::digest(program).into();
        let source = match constants {
            Constants::Bytes(b) => OwnedConstants::Bytes(b.to_vec()),
            Constants::File(p) => OwnedConstants::File(p.to_path_buf()),
        };
        // On the CPU a prover of one proof also drops its constants after synthesis.
        let key_unhashed = one_proof && matches!(opened, backend::Opened::Cpu);
        let (program, weights) = (program.to_vec(), weights.map(<[u8]>::to_vec));
        let circuit = Pending::spawn("zkml-circuit", move || {
            let (mut circuit, digest) = match one_proof {
                true => Circuit::from_source_hashing_behind(&program, source.borrow())?,
                false => (Circuit::from_source(&program, source.borrow())?, None),
            };
            if let Some(w) = weights {
                if !circuit.has_committed() {
                    return Err(Error::InputShape("weights were given, but this circuit commits to none".to_string()));
                }
                circuit.load_weights(&w)?;
            }
            let (shared, once) = if key_unhashed { (None, Some(circuit)) } else { (Some(circuit), None) };
            Ok(LoadedCircuit {
                shared,
                once: std::sync::Mutex::new(once),
                digest: std::sync::Mutex::new(digest),
                checked: std::sync::OnceLock::new(),
            })
        });
        let path = pk_path.to_path_buf();
        let key = match opened {
            backend::Opened::Cpu => Pending::spawn("zkml-key", move || {
                let pk = match key_unhashed {
                    false => read_proving_key_for(&path, &circuit_hash)?,
                    true => read_proving_key_unhashed(&path, &circuit_hash)?,
                };
                Ok(LoadedKey { pk, engine: Engine::Cpu, description })
            }),
            backend::Opened::Cuda(gpu) => Pending::ready(circuit.get().map(|_| ()).and_then(|()| {
                let pk = read_proving_key_for(&path, &circuit_hash)?;
                match gpu.upload_key(&pk) {
                    Ok(key) => Ok(LoadedKey { pk, engine: Engine::Cuda { gpu, key }, description }),
                    Err(Error::Device(why)) if device == "auto" => {
                        Ok(LoadedKey { pk, engine: Engine::Cpu, description: backend::cpu_description(&why) })
                    }
                    Err(e) => Err(e),
                }
            })),
        };
        Ok(Prover {
            circuit,
            key,
            rows_hint: domain_size_hint(pk_path),
            pk_path: pk_path.to_path_buf(),
            circuit_hash,
            key_unhashed,
            one_proof,
            requested: device.to_string(),
            load_seconds: std::sync::Mutex::new(None),
        })
    }

    /// The device as proofs report it (see [`backend::select`]).
    pub fn device(&self) -> Result<&str> {
        Ok(&self.key.get()?.description)
    }

    /// Host bytes of the proving key held: its points as stored in memory
    /// (`size_of` each affine point, times the vector lengths) and its
    /// fixed part.
    pub fn key_bytes(&self) -> Result<usize> {
        let pk = &self.key.get()?.pk;
        Ok(std::mem::size_of_val(pk)
            + std::mem::size_of_val(pk.vk.gamma_abc_g1.as_slice())
            + std::mem::size_of_val(pk.a_query.as_slice())
            + std::mem::size_of_val(pk.b_g1_query.as_slice())
            + std::mem::size_of_val(pk.b_g2_query.as_slice())
            + std::mem::size_of_val(pk.h_query.as_slice())
            + std::mem::size_of_val(pk.l_query.as_slice()))
    }

    /// Device bytes of the resident key's points (0 on the CPU); the MSM
    /// and NTT working buffers a proof allocates are not counted.
    pub fn device_bytes(&self) -> Result<usize> {
        Ok(match &self.key.get()?.engine {
            Engine::Cpu => 0,
            Engine::Cuda { key, .. } => key.bytes(),
        })
    }

    pub fn backend_name(&self) -> Result<&'static str> {
        Ok(engine_name(&self.key.get()?.engine))
    }

    /// Proves one inference; `salts` as for [`evaluate`]. `seed` fixes the
    /// prover's randomness (tests only). Waits for the circuit before the
    /// synthesis (stage `load_circuit`) and for the key after it (stage
    /// `load_key`) when they are still loading.
    ///
    /// When a proof fails in any way, a `constants.bin` whose hash was
    /// still being computed, or a key read without its checksum, is
    /// checked first: a file that is not the one compiled or set up (which
    /// could fail synthesis, or give a proof that does not verify itself)
    /// is then the error.
    pub fn prove(&self, inputs: &[Vec<i64>], salts: &[Fr], seed: Option<u64>) -> Result<ProveOutput> {
        let out = self.prove_loaded(inputs, salts, seed);
        if out.is_err() {
            if let Ok(loaded) = self.circuit.get() {
                loaded.constants_checked()?;
            }
            if self.key_unhashed {
                read_proving_key_for(&self.pk_path, &self.circuit_hash)?;
            }
        }
        out
    }

    fn prove_loaded(&self, inputs: &[Vec<i64>], salts: &[Fr], seed: Option<u64>) -> Result<ProveOutput> {
        let mut waited = 0.0;
        let loaded = self.wait(&self.circuit, "load_circuit", &mut waited)?;
        let taken = match &loaded.shared {
            Some(_) => None,
            None => {
                let mut once = loaded.once.lock().unwrap_or_else(|e| e.into_inner());
                Some(once.take().ok_or_else(|| Error::Internal("this prover was made for one proof".into()))?)
            }
        };
        let circuit = loaded.shared.as_ref().or(taken.as_ref()).expect("one of the two");
        progress::stage("synthesize");
        let t = Instant::now();
        // Witness only: the assignment and each row's values A·z, B·z, C·z,
        // never the matrices (gadgets skip even building the rows whose
        // values they know).
        let rows_hint = match self.key.done.get() {
            Some(Ok(key)) => key.pk.domain_size as usize,
            _ => self.rows_hint,
        };
        let WitnessSynthesis { witness: mut w, outputs } = synthesize_witness(circuit, inputs, salts, rows_hint)?;
        // A prover of one proof holds its constants no longer.
        let circuit = loaded.shared.as_ref();
        drop(taken);
        let t_synth = t.elapsed().as_secs_f64();

        let LoadedKey { pk, engine, description } = self.wait(&self.key, "load_key", &mut waited)?;

        let mut rng = rng(seed);
        let mut backend_name = engine_name(engine);
        let mut description = description.clone();
        let cpu = crate::backend::Cpu;
        let (proof, timings) = match engine {
            Engine::Cpu => create_proof_from_rows(pk, &mut w, &cpu, &HostMsms(&cpu), &mut rng)?,
            Engine::Cuda { gpu, key } => {
                // The recorded rows go to the GPU for the quotient and the H MSM.
                let msms = crate::cuda::ResidentMsms { gpu, key, r1cs: None };
                match create_proof_from_rows(pk, &mut w, gpu, &msms, &mut rng) {
                    // With "auto", a GPU that fails mid-proof (out of memory, a
                    // lost context) hands this proof to the CPU, with the host
                    // copy of the key, and says so; "cuda" reports it. The rows
                    // went to the GPU: the witness is synthesised again.
                    Err(Error::Device(why)) if self.requested == "auto" => {
                        backend_name = "cpu";
                        description = backend::cpu_description(&format!("the GPU failed during the proof: {why}"));
                        let circuit =
                            circuit.ok_or_else(|| Error::Internal("no circuit to prove again with".into()))?;
                        let mut w = synthesize_witness(circuit, inputs, salts, rows_hint)?.witness;
                        create_proof_from_rows(pk, &mut w, &cpu, &HostMsms(&cpu), &mut rng)?
                    }
                    other => other?,
                }
            }
        };
        loaded.constants_checked()?;
        self.check_proof(pk, &proof, w.public_inputs(), backend_name)?;
        let t_load = self.load_seconds.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or(0.0) + waited;
        Ok(ProveOutput {
            proof_json: snarkjs::proof_to_json(&proof).to_string(),
            public: w.public_inputs().iter().map(snarkjs::dec).collect(),
            outputs,
            timings: vec![
                ("synthesize", t_synth),
                ("load_key", t_load),
                ("evaluate", timings.evaluate),
                ("quotient", timings.quotient),
                ("msm", timings.msm),
            ],
            backend: backend_name,
            device: description,
            vk_json: snarkjs::vk_to_json(&pk.vk).to_string(),
        })
    }

    /// `pending`'s value; while it is still loading (or always, for a
    /// prover of one proof), as `stage`, adding the seconds
    /// waited to `waited`.
    fn wait<'a, T: Send + 'static>(
        &self,
        pending: &'a Pending<T>,
        stage: &'static str,
        waited: &mut f64,
    ) -> Result<&'a T> {
        // A prover of one proof always reports both waits (the same stages
        // for every proof); any other, only the waits that happen.
        if pending.is_ready() && !self.one_proof {
            return pending.get();
        }
        progress::stage(stage);
        let t = Instant::now();
        let value = pending.get();
        *waited += t.elapsed().as_secs_f64();
        value
    }

    /// The key is bound to the circuit by the circuit hash (checked when it
    /// was read), not to the constraint system the circuit synthesises to: a
    /// key made by another zkml version's synthesis of the same program (or
    /// corrupted with its checksum recomputed) proves, but its proofs do
    /// not verify. So every proof is verified with the key's own verifying
    /// key (a few milliseconds) before it is returned; a failure is an
    /// [`Error::Mismatch`], never a proof. The pairing equation only: a key without phase-2 randomness (after
    /// `setup --ptau`, before any contribution) still proves, as before;
    /// refusing such a key is the verifier's business.
    fn check_proof(
        &self,
        pk: &crate::groth16::ProvingKey,
        proof: &crate::groth16::Proof,
        public: &[Fr],
        backend: &str,
    ) -> Result<()> {
        if crate::groth16::pairing_check(&pk.vk, proof, public)? {
            return Ok(());
        }
        // On a GPU the device's arithmetic is one more suspect.
        let device = if backend == "cpu" { "" } else { " (or the GPU computed the proof wrong: try --device cpu)" };
        Err(Error::Mismatch(format!(
            "the proof does not verify with the verifying key inside proving key {}: the key was made for a \
             different constraint system (another zkml version?) or is corrupt; run setup again{device}",
            self.pk_path.display()
        )))
    }

    /// The verifying key inside the proving key, as snarkjs JSON.
    pub fn vk_json(&self) -> Result<String> {
        Ok(snarkjs::vk_to_json(&self.key.get()?.pk.vk).to_string())
    }
}

fn engine_name(engine: &Engine) -> &'static str {
    match engine {
        Engine::Cpu => "cpu",
        Engine::Cuda { .. } => "cuda",
    }
}

/// `constants.bin` as [`Constants`] names it, owned by a loading thread.
enum OwnedConstants {
    Bytes(Vec<u8>),
    File(std::path::PathBuf),
}

impl OwnedConstants {
    fn borrow(&self) -> Constants<'_> {
        match self {
            OwnedConstants::Bytes(b) => Constants::Bytes(b),
            OwnedConstants::File(p) => Constants::File(p),
        }
    }
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Format(format!("{what} is not valid JSON: {e}")))
}

/// Ok(true) for a valid proof, Ok(false) for an invalid one, Err for malformed
/// input (bad points, a public input >= r, the wrong number of inputs).
pub fn verify(vk_json: &str, proof_json: &str, public_json: &str) -> Result<bool> {
    let vk = snarkjs::vk_from_json(&parse_json(vk_json, "the verification key")?)?;
    let proof = snarkjs::proof_from_json(&parse_json(proof_json, "the proof")?)?;
    let public = snarkjs::public_from_json(&parse_json(public_json, "the public inputs")?)?;
    verify_proof(&vk, &proof, &public)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groth16::create_proof;
    use crate::program::tests::{tiny_builder, tiny_program};

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("zkml-pipeline-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join("pk.bin")
    }

    /// `setup` records the digest of the system's matrices in the key
    /// (`export_zkey` checks it), and the key's proofs verify.
    #[test]
    fn setup_records_the_r1cs_digest_and_its_proofs_verify() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(41);
        let (prog, consts) = tiny_program();
        let mut builds = vec![(prog, consts, vec![vec![4, -3, 5]])];
        for _ in 0..3 {
            let (builder, input) = crate::synth::tests::random_build(&mut rng);
            let (prog, consts) = builder.build();
            builds.push((prog, consts, input));
        }
        for (k, (prog, consts, input)) in builds.iter().enumerate() {
            let pk = tmp(&format!("witness-digest-{k}"));
            let vk = setup(prog, consts, &pk, Some(3)).unwrap();
            let circuit = Circuit::from_parts(prog, consts).unwrap();
            let r1cs_digest = synthesize(&circuit, None).unwrap().r1cs.digest();
            let header = KeyHeader { circuit_hash: circuit.hash, r1cs_digest };
            assert!(crate::formats::proving_key::read_proving_key(&pk, &header).is_ok(), "build {k}");
            let out = prove(prog, consts, &pk, input, &[], Some(4), "cpu").unwrap();
            assert!(verify(&vk, &out.proof_json, &serde_json::to_string(&out.public).unwrap()).unwrap());
            std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
        }
    }

    /// Proving from the recorded rows gives the proof that proving from the
    /// matrices gives (same randomness), and a witness that breaks a row is
    /// refused with the same error (row and region) either way.
    #[test]
    fn proofs_from_recorded_rows_are_proofs_from_the_matrices_and_refuse_the_same_rows() {
        use crate::gadgets::affine::affine_with;
        use crate::gadgets::range::signed_value;
        use crate::r1cs::{ConstraintSystem, Lc};
        use rand::SeedableRng;
        let mut seeds = rand_chacha::ChaCha20Rng::seed_from_u64(42);
        for _ in 0..3 {
            let (circuit, input) = crate::synth::tests::random_program(&mut seeds);
            let s = synthesize(&circuit, Some(&input)).unwrap();
            let pk = generate_parameters(&s.r1cs, &mut rng(Some(1))).unwrap();
            let want = create_proof(&pk, &s.r1cs, &s.assignment, &Cpu, &mut rng(Some(2))).unwrap().0;
            let mut w = synthesize_witness(&circuit, &input, &[], 0).unwrap().witness;
            let got = create_proof_from_rows(&pk, &mut w, &Cpu, &HostMsms(&Cpu), &mut rng(Some(2))).unwrap().0;
            assert_eq!((got.a, got.b, got.c), (want.a, want.b, want.c));
        }
        // A rescale with a wrong quotient (acc = 3*9 + 7 = 34 = 8*4 + 2, claimed 5), through the gadget code.
        let build = |mut cs: ConstraintSystem| {
            cs.region("input");
            let x = signed_value(&mut cs, 9, 8);
            let p = cs.alloc_public(Fr::from(9u64));
            cs.enforce_zero(Lc::var(p) - Lc::var(x.var));
            cs.region("rescale");
            affine_with(&mut cs, [(&x, 3, Fr::from(3u64))], 7, 3, 16, Fr::from(5u64), Fr::from(2u64));
            cs.region("after");
            signed_value(&mut cs, -3, 8);
            cs
        };
        let (r1cs, z) = build(ConstraintSystem::new()).finish();
        let pk = generate_parameters(&r1cs, &mut rng(Some(3))).unwrap();
        let want = create_proof(&pk, &r1cs, &z, &Cpu, &mut rng(Some(4))).err().unwrap();
        assert!(matches!(&want, Error::Unsatisfied { label, .. } if label == "rescale"), "{want}");
        let mut w = build(ConstraintSystem::witness_only(0)).finish_rows();
        let got = create_proof_from_rows(&pk, &mut w, &Cpu, &HostMsms(&Cpu), &mut rng(Some(4))).err().unwrap();
        assert_eq!(got.to_string(), want.to_string());
        // A key for another system is a mismatch, not a proof.
        let mut w = build(ConstraintSystem::witness_only(0)).finish_rows();
        w.assignment.push(Fr::from(0u64));
        let err = create_proof_from_rows(&pk, &mut w, &Cpu, &HostMsms(&Cpu), &mut rng(Some(4))).err().unwrap();
        assert!(matches!(err, Error::Mismatch(_)), "{err}");
    }

    /// A key with this circuit's hash but made for another constraint system
    /// of the same shape (as another zkml version's synthesis of the same
    /// program would make): the key of a circuit with another bias, its
    /// header claiming this circuit. It reads, and it proves, but no proof
    /// comes out: each one fails the prover's own verification.
    #[test]
    fn a_key_made_for_another_constraint_system_is_refused_by_every_proof() {
        let (prog, consts) = tiny_program();
        let mut other = tiny_builder();
        other.set_constant(1, &[2], &[3, -2]);
        let (other, other_consts) = other.build();
        let structure = |p: &[u8], c: &[u8]| synthesize(&Circuit::from_parts(p, c).unwrap(), None).unwrap().r1cs;
        let (mine, theirs) = (structure(&prog, &consts), structure(&other, &other_consts));
        assert_ne!(mine.digest(), theirs.digest());
        assert_eq!((mine.num_constraints(), mine.num_variables), (theirs.num_constraints(), theirs.num_variables));
        let pk = tmp("other-digest");
        setup(&other, &other_consts, &pk, Some(4)).unwrap();
        let mut bytes = std::fs::read(&pk).unwrap();
        let circuit = Circuit::from_parts(&prog, &consts).unwrap();
        bytes[8..40].copy_from_slice(&circuit.hash); // the header's circuit hash (not covered by the checksum)
        std::fs::write(&pk, &bytes).unwrap();
        let prover = Prover::new(&prog, Constants::Bytes(&consts), &pk, "cpu").unwrap();
        for seed in 0..2 {
            let err = prover.prove(&[vec![4, -3, 5]], &[], Some(seed)).err().expect("refused");
            assert!(matches!(&err, Error::Mismatch(m) if m.contains("different constraint system")), "{err}");
            assert!(err.to_string().contains("run setup again"), "{err}");
        }
        let err = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], &[], None, "cpu").err().expect("refused");
        assert!(matches!(&err, Error::Mismatch(m) if m.contains("different constraint system")), "{err}");
        // The R1CS digest in the header no longer takes part in proving: a
        // key whose digest is damaged (the header is not checksummed) still
        // proves, and its proofs verify; exporting it as a .zkey refuses it.
        setup(&prog, &consts, &pk, Some(4)).unwrap();
        let mut bytes = std::fs::read(&pk).unwrap();
        bytes[40] ^= 1;
        std::fs::write(&pk, &bytes).unwrap();
        assert!(prove(&prog, &consts, &pk, &[vec![4, -3, 5]], &[], Some(1), "cpu").is_ok());
        let err = export_zkey(&prog, &consts, &pk, &pk.with_extension("zkey"), None).err().unwrap();
        assert!(matches!(&err, Error::Mismatch(m) if m.contains("different constraint system")), "{err}");
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_key_with_delta_equal_to_gamma_is_refused_not_fooled_by_a_forged_proof() {
        use crate::groth16::prepare_inputs;
        use ark_ec::{AffineRepr, CurveGroup};
        let (prog, consts) = tiny_program();
        let pk = tmp("degenerate");
        let vk_json = setup(&prog, &consts, &pk, Some(4)).unwrap();
        let mut vk_value: serde_json::Value = serde_json::from_str(&vk_json).unwrap();
        vk_value["vk_delta_2"] = vk_value["vk_gamma_2"].clone();
        let vk = snarkjs::vk_from_json(&vk_value).unwrap();
        // The forgery: A = alpha, B = beta, C = -vk_x, for public signals never proved.
        let public = vec![Fr::from(123u64); vk.gamma_abc_g1.len() - 1];
        let vk_x = prepare_inputs(&vk, &public).unwrap();
        let forged = crate::groth16::Proof { a: vk.alpha_g1, b: vk.beta_g2, c: (-vk_x).into_affine() };
        let public_json = snarkjs::public_to_json(&public).to_string();
        let err =
            verify(&vk_value.to_string(), &snarkjs::proof_to_json(&forged).to_string(), &public_json).err().unwrap();
        assert!(err.to_string().contains("vk_delta_2 equals vk_gamma_2"), "{err}");
        // delta = the generator (no phase 2) and a point at infinity are refused too.
        vk_value["vk_delta_2"] = snarkjs::g2_to_json(&ark_bn254::G2Affine::generator());
        let err =
            verify(&vk_value.to_string(), &snarkjs::proof_to_json(&forged).to_string(), &public_json).err().unwrap();
        assert!(err.to_string().contains("G2 generator"), "{err}");
        vk_value["vk_delta_2"] = snarkjs::g2_to_json(&ark_bn254::G2Affine::zero());
        let err =
            verify(&vk_value.to_string(), &snarkjs::proof_to_json(&forged).to_string(), &public_json).err().unwrap();
        assert!(err.to_string().contains("point at infinity"), "{err}");
    }

    #[test]
    fn a_proving_key_with_a_forged_point_count_is_an_error_not_an_abort() {
        use crate::formats::proving_key::body_checksum;
        let (prog, consts) = tiny_program();
        let pk = tmp("hostile-count");
        setup(&prog, &consts, &pk, Some(5)).unwrap();
        let mut data = std::fs::read(&pk).unwrap();
        // Header (104 bytes), alpha (64), beta, gamma, delta (128 each), then IC.
        let ic_at = 104 + 64 + 3 * 128;
        let ic = u64::from_le_bytes(data[ic_at..ic_at + 8].try_into().unwrap()) as usize;
        let a_query_at = ic_at + 8 + ic * 64 + 2 * 64;
        for (at, count) in [(a_query_at, 1u64 << 36), (ic_at, u64::MAX), (a_query_at, 3)] {
            let mut forged = data.clone();
            forged[at..at + 8].copy_from_slice(&count.to_le_bytes());
            let checksum = body_checksum(&forged[104..]);
            forged[72..104].copy_from_slice(&checksum);
            std::fs::write(&pk, &forged).unwrap();
            let err = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], &[], Some(2), "cpu").err().unwrap();
            assert!(matches!(err, Error::Format(_)), "{err}");
            assert!(err.to_string().contains("not a valid zkml proving key"), "{err}");
        }
        data.push(0);
        let checksum = body_checksum(&data[104..]);
        data[72..104].copy_from_slice(&checksum);
        std::fs::write(&pk, &data).unwrap();
        let err = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], &[], Some(2), "cpu").err().unwrap();
        assert!(err.to_string().contains("left over"), "{err}");
    }

    #[test]
    fn a_negated_or_rerandomised_proof_verifies_only_for_the_same_public_signals() {
        use ark_ec::CurveGroup;
        use ark_ff::{Field, UniformRand};
        let (prog, consts) = tiny_program();
        let pk = tmp("malleable");
        let vk = setup(&prog, &consts, &pk, Some(8)).unwrap();
        let out = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], &[], Some(9), "cpu").unwrap();
        let other = prove(&prog, &consts, &pk, &[vec![4, -3, 6]], &[], Some(10), "cpu").unwrap();
        let public = serde_json::to_string(&out.public).unwrap();
        let other_public = serde_json::to_string(&other.public).unwrap();
        let p = snarkjs::proof_from_json(&serde_json::from_str(&out.proof_json).unwrap()).unwrap();
        let t = Fr::rand(&mut rng(Some(11)));
        let variants = [
            // (-A, -B, C): e(-A, -B) = e(A, B).
            crate::groth16::Proof { a: -p.a, b: -p.b, c: p.c },
            // (tA, B/t, C).
            crate::groth16::Proof { a: (p.a * t).into_affine(), b: (p.b * t.inverse().unwrap()).into_affine(), c: p.c },
        ];
        for v in variants {
            assert_ne!(v.a, p.a);
            let json = snarkjs::proof_to_json(&v).to_string();
            // Valid by design (proofs are malleable), so never an identifier...
            assert!(verify(&vk, &json, &public).unwrap());
            // ...and harmless: it proves nothing new.
            assert!(!verify(&vk, &json, &other_public).unwrap());
        }
    }

    #[test]
    fn setup_prove_verify_round_trip_and_rejections() {
        let (prog, consts) = tiny_program();
        let pk = tmp("roundtrip");
        let vk = setup(&prog, &consts, &pk, Some(1)).unwrap();
        let out = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], &[], Some(2), "cpu").unwrap();
        assert_eq!(out.outputs, vec![vec![6, 0]]);
        let public = serde_json::to_string(&out.public).unwrap();
        assert!(verify(&vk, &out.proof_json, &public).unwrap());

        // Another input's public signals do not verify with this proof.
        let other = prove(&prog, &consts, &pk, &[vec![4, -3, 6]], &[], Some(3), "cpu").unwrap();
        let other_public = serde_json::to_string(&other.public).unwrap();
        assert!(!verify(&vk, &out.proof_json, &other_public).unwrap());

        // A swapped proof element fails.
        let mut p: serde_json::Value = serde_json::from_str(&out.proof_json).unwrap();
        let q: serde_json::Value = serde_json::from_str(&other.proof_json).unwrap();
        p["pi_c"] = q["pi_c"].clone();
        assert!(!verify(&vk, &p.to_string(), &public).unwrap());

        // The wrong number of public inputs is an error, not a verdict.
        assert!(verify(&vk, &out.proof_json, "[\"1\"]").is_err());
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_key_for_another_circuit_is_refused() {
        let (prog, consts) = tiny_program();
        let pk = tmp("mismatch");
        setup(&prog, &consts, &pk, Some(1)).unwrap();
        // The same document shape with another bias: another blob, hence
        // another constants_sha256 and another circuit hash.
        let mut other = tiny_builder();
        other.set_constant(1, &[2], &[3, -2]);
        let (other, other_consts) = other.build();
        let err = prove(&other, &other_consts, &pk, &[vec![4, -3, 5]], &[], None, "cpu").err().unwrap();
        assert!(matches!(err, Error::Mismatch(_)), "{err}");
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn setup_needs_no_input_and_prove_reports_an_out_of_range_input() {
        use crate::program::builder::ProgramBuilder;
        use serde_json::json;
        // y = 2^13 x0 + 2^20 at 8 bits: 0 at x0 = -128, 2^20 at x0 = 0.
        let mut b = ProgramBuilder::new("bias");
        let x = b.tensor("x", &[2], 0, 8);
        let y = b.tensor("y", &[1], 0, 8);
        b.input("x", x);
        b.output("y", y);
        let index = b.constant("index", &[1, 2], &[0, 1]);
        let weight = b.constant("weight", &[1, 2], &[1 << 13, 0]);
        let row = b.constant("row", &[1], &[0]);
        let bias = b.constant("bias", &[1], &[1 << 20]);
        b.instruction(json!({"op": "affine", "inputs": [x], "output": y, "index": index, "weight": weight,
                             "row": row, "bias": bias, "shift": 0}));
        let (prog, consts) = b.build();
        let info = circuit_info(&prog, &consts).unwrap();
        assert_eq!(info.public_inputs, 2);
        let pk = tmp("no-input");
        let vk = setup(&prog, &consts, &pk, Some(12)).unwrap();
        let err = prove(&prog, &consts, &pk, &[vec![0, 0]], &[], Some(13), "cpu").err().unwrap();
        assert!(matches!(err, Error::OutOfRange(_)), "{err}");
        let out = prove(&prog, &consts, &pk, &[vec![-128, 3]], &[], Some(13), "cpu").unwrap();
        assert_eq!(out.outputs, vec![vec![0]]);
        assert!(verify(&vk, &out.proof_json, &serde_json::to_string(&out.public).unwrap()).unwrap());
        let (outputs, public) = evaluate(&prog, &consts, None, &[vec![-128, 0]], &[]).unwrap();
        assert_eq!((outputs, public.len()), (vec![vec![0]], 2));
        // 2^13 (-127) + 2^20 = 8192 does not fit 8 bits either.
        let err = evaluate(&prog, &consts, None, &[vec![-127, 0]], &[]).err().unwrap();
        assert!(matches!(&err, Error::OutOfRange(m) if m.contains("value 8192 of tensor 'y'")), "{err}");
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_prover_reads_the_key_once_and_proves_each_input_as_prove_does() {
        let (prog, consts) = tiny_program();
        let pk = tmp("prover");
        let vk = setup(&prog, &consts, &pk, Some(21)).unwrap();
        let file_bytes = std::fs::metadata(&pk).unwrap().len() as usize;
        let prover = Prover::new(&prog, Constants::Bytes(&consts), &pk, "cpu").unwrap();
        assert!(prover.device().unwrap().starts_with("cpu (asked for"), "{}", prover.device().unwrap());
        assert_eq!(prover.device_bytes().unwrap(), 0);
        // In-memory points are a little larger than the file's (72 vs 64, 136 vs 128 bytes).
        let key_bytes = prover.key_bytes().unwrap();
        assert!(key_bytes >= file_bytes - 104 && key_bytes < 2 * file_bytes, "{key_bytes} {file_bytes}");
        std::fs::remove_file(&pk).unwrap();
        for (i, input) in [vec![4, -3, 5], vec![4, -3, 6], vec![0, 0, 0]].iter().enumerate() {
            let out = prover.prove(std::slice::from_ref(input), &[], Some(30 + i as u64)).unwrap();
            assert_eq!(out.backend, "cpu");
            assert_eq!(out.timings[1].0, "load_key");
            assert_eq!(out.timings[1].1 > 0.0, i == 0, "only the first proof reports the load");
            assert!(verify(&vk, &out.proof_json, &serde_json::to_string(&out.public).unwrap()).unwrap());
            let (outputs, public) = evaluate(&prog, &consts, None, std::slice::from_ref(input), &[]).unwrap();
            assert_eq!(out.outputs, outputs);
            assert_eq!(out.public, public.iter().map(snarkjs::dec).collect::<Vec<_>>());
            assert_eq!(out.vk_json, vk);
        }
        // Without the file, a new prover (and so `prove`) fails clearly.
        let err = Prover::new(&prog, Constants::Bytes(&consts), &pk, "cpu").err().unwrap();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(prove(&prog, &consts, &pk, &[vec![4, -3, 5]], &[], None, "cpu").is_err());
        assert!(matches!(Prover::new(&prog, Constants::Bytes(&consts), &pk, "tpu").err().unwrap(), Error::Device(_)));
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_prover_with_the_same_seed_gives_the_same_proof_as_prove() {
        let (prog, consts) = tiny_program();
        let pk = tmp("prover-seed");
        setup(&prog, &consts, &pk, Some(22)).unwrap();
        let prover = Prover::new(&prog, Constants::Bytes(&consts), &pk, "cpu").unwrap();
        let a = prover.prove(&[vec![4, -3, 5]], &[], Some(5)).unwrap();
        let b = prove(&prog, &consts, &pk, &[vec![4, -3, 5]], &[], Some(5), "cpu").unwrap();
        assert_eq!(a.proof_json, b.proof_json);
        // constants.bin read from its file (in chunks) is the same circuit.
        let file = pk.with_file_name("constants.bin");
        std::fs::write(&file, &consts).unwrap();
        let c = Prover::new(&prog, Constants::File(&file), &pk, "cpu").unwrap();
        assert_eq!(c.prove(&[vec![4, -3, 5]], &[], Some(5)).unwrap().proof_json, a.proof_json);
        // An input the circuit refuses is the same error, and the prover survives it.
        let e1 = prover.prove(&[vec![4, -3]], &[], Some(5)).err().unwrap().to_string();
        let e2 = prove(&prog, &consts, &pk, &[vec![4, -3]], &[], Some(5), "cpu").err().unwrap().to_string();
        assert_eq!(e1, e2);
        assert!(prover.prove(&[vec![4, -3, 5]], &[], Some(6)).is_ok());
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_started_prover_loads_while_the_caller_goes_on_and_proves_as_a_waiting_one() {
        let (prog, consts) = tiny_program();
        let pk = tmp("prover-start");
        let vk = setup(&prog, &consts, &pk, Some(23)).unwrap();
        let file = pk.with_file_name("constants.bin");
        std::fs::write(&file, &consts).unwrap();
        let domain = read_proving_key_for(&pk, &Sha256::digest(&prog).into()).unwrap().domain_size;
        assert_eq!(domain_size_hint(&pk) as u64, domain, "the key's QAP domain");
        assert_eq!(domain_size_hint(&pk.with_file_name("none.key")), 0);
        let waiting = Prover::new(&prog, Constants::File(&file), &pk, "cpu").unwrap();
        let want = waiting.prove(&[vec![4, -3, 5]], &[], Some(7)).unwrap();
        let mut key = std::fs::read(&pk).unwrap();
        // alpha_1, the body's first point: every proof uses it.
        key[crate::formats::proving_key::HEADER_BYTES] ^= 0x40;
        let bad_key = pk.with_file_name("corrupt.key");
        std::fs::write(&bad_key, &key).unwrap();
        let mut wrong = consts.clone();
        wrong[0] ^= 1;
        let wrong_file = pk.with_file_name("wrong-constants.bin");
        std::fs::write(&wrong_file, &wrong).unwrap();
        for one_proof in [false, true] {
            let started = Prover::start(&prog, Constants::File(&file), &pk, "cpu", None, one_proof).unwrap();
            let log = std::sync::Arc::new(progress::Log::default());
            let got = progress::reporting(log.clone(), || started.prove(&[vec![4, -3, 5]], &[], Some(7))).unwrap();
            assert_eq!((&got.proof_json, &got.vk_json), (&want.proof_json, &vk));
            let names: Vec<_> = log.stages().iter().map(|s| s.name).collect();
            assert_eq!(names[names.len() - 3..], ["evaluate", "quotient", "msm"]);
            assert!(names.contains(&"synthesize"), "{names:?}");
            assert_eq!(started.device().unwrap(), waiting.device().unwrap());

            // A load that fails is the error of every proof and accessor.
            // Read without hashes (one_proof), a constants.bin or a key that
            // is not the one setup made still gives no proof: the proof fails
            // its self-check, and the files' hashes then name the culprit.
            let p = Prover::start(&prog, Constants::File(&wrong_file), &pk, "cpu", None, one_proof).unwrap();
            for _ in 0..2 {
                let err = p.prove(&[vec![4, -3, 5]], &[], Some(7)).err().unwrap();
                assert!(matches!(&err, Error::Program(m) if m.contains("constants_sha256")), "{one_proof} {err}");
            }
            let p = Prover::start(&prog, Constants::File(&file), &bad_key, "cpu", None, one_proof).unwrap();
            for _ in 0..2 {
                let err = p.prove(&[vec![4, -3, 5]], &[], Some(7)).err().unwrap();
                assert!(matches!(&err, Error::Format(m) if m.contains("checksum mismatch")), "{one_proof} {err}");
            }
            if !one_proof {
                assert!(matches!(p.vk_json().err().unwrap(), Error::Format(_)));
                assert!(matches!(p.key_bytes().err().unwrap(), Error::Format(_)));
            }
            // A prover of one proof (on the CPU) dropped its constants after
            // that proof's synthesis: it proves no more.
            let again = started.prove(&[vec![4, -3, 5]], &[], Some(7));
            assert_eq!(again.is_err(), one_proof);
            // An input the circuit refuses is reported as such; with a
            // corrupt key read unhashed, the key is what is reported.
            let started = Prover::start(&prog, Constants::File(&file), &pk, "cpu", None, one_proof).unwrap();
            let err = started.prove(&[vec![4, -3]], &[], Some(7)).err().unwrap();
            assert!(matches!(err, Error::InputShape(_)), "{err}");
            let err = p.prove(&[vec![4, -3]], &[], Some(7)).err().unwrap();
            match one_proof {
                true => assert!(matches!(&err, Error::Format(m) if m.contains("checksum")), "{err}"),
                false => assert!(matches!(err, Error::InputShape(_)), "{err}"),
            }
            // A missing key is an I/O error naming it; an unknown device fails at once.
            let none = pk.with_file_name("none.key");
            let p = Prover::start(&prog, Constants::File(&file), &none, "cpu", None, one_proof).unwrap();
            assert!(matches!(p.prove(&[vec![4, -3, 5]], &[], None).err().unwrap(), Error::Io { .. }));
            let tpu = Prover::start(&prog, Constants::File(&file), &pk, "tpu", None, one_proof);
            assert!(matches!(tpu.err().unwrap(), Error::Device(_)));
            // Weights for a circuit that commits to none: the circuit's load fails.
            let p = Prover::start(&prog, Constants::File(&file), &pk, "cpu", Some(&[0u8; 8]), one_proof).unwrap();
            assert!(matches!(p.prove(&[vec![4, -3, 5]], &[], None).err().unwrap(), Error::InputShape(_)));
        }
        std::fs::remove_dir_all(pk.parent().unwrap()).unwrap();
    }

    #[test]
    fn create_proof_with_host_msms_is_create_proof_and_asks_for_each_query_once() {
        use crate::groth16::{create_proof_with, HostMsms, KeyMsms, Query};
        use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
        use std::sync::Mutex;
        struct Recording<'a>(HostMsms<'a>, Mutex<Vec<(Query, usize)>>);
        impl KeyMsms for Recording<'_> {
            fn msm_g1(&self, q: Query, b: &[G1Affine], s: &[Fr]) -> Result<G1Projective> {
                self.1.lock().unwrap().push((q, b.len()));
                self.0.msm_g1(q, b, s)
            }
            fn msm_g2(&self, q: Query, b: &[G2Affine], s: &[Fr]) -> Result<G2Projective> {
                self.1.lock().unwrap().push((q, b.len()));
                self.0.msm_g2(q, b, s)
            }
        }
        let (prog, consts) = tiny_program();
        let circuit = Circuit::from_parts(&prog, &consts).unwrap();
        let s = synthesize(&circuit, Some(&[vec![4, -3, 5]])).unwrap();
        let pk = generate_parameters(&s.r1cs, &mut rng(Some(23))).unwrap();
        let want = create_proof(&pk, &s.r1cs, &s.assignment, &Cpu, &mut rng(Some(24))).unwrap().0;
        let rec = Recording(HostMsms(&Cpu), Mutex::new(Vec::new()));
        let got = create_proof_with(&pk, &s.r1cs, &s.assignment, &Cpu, &rec, &mut rng(Some(24))).unwrap().0;
        assert_eq!((got.a, got.b, got.c), (want.a, want.b, want.c));
        let mut calls = rec.1.into_inner().unwrap();
        calls.sort_by_key(|(q, _)| *q as u8);
        assert_eq!(
            calls,
            vec![
                (Query::A, pk.a_query.len()),
                (Query::BG1, pk.b_g1_query.len()),
                (Query::BG2, pk.b_g2_query.len()),
                (Query::H, pk.h_query.len()),
                (Query::L, pk.l_query.len()),
            ]
        );
        // A failing MSM provider fails the proof with its error.
        struct Failing;
        impl KeyMsms for Failing {
            fn msm_g1(&self, _: Query, _: &[G1Affine], _: &[Fr]) -> Result<G1Projective> {
                Err(Error::Device("lost".into()))
            }
            fn msm_g2(&self, _: Query, _: &[G2Affine], _: &[Fr]) -> Result<G2Projective> {
                Err(Error::Device("lost".into()))
            }
        }
        let err = create_proof_with(&pk, &s.r1cs, &s.assignment, &Cpu, &Failing, &mut rng(Some(24))).err().unwrap();
        assert!(matches!(err, Error::Device(ref m) if m == "lost"), "{err}");
    }

    #[test]
    fn the_constants_of_another_build_are_refused() {
        let (prog, mut consts) = tiny_program();
        consts[8] ^= 1;
        let err = circuit_info(&prog, &consts).err().unwrap();
        assert!(matches!(&err, Error::Program(m) if m.contains("do not belong together")), "{err}");
        let err = evaluate(&prog, &consts[..8], None, &[vec![1, 2, 3]], &[]).err().unwrap();
        assert!(matches!(&err, Error::Program(m) if m.contains("constants.bin holds 8 bytes")), "{err}");
    }

    #[test]
    fn the_prover_refuses_an_unsatisfying_witness() {
        let (prog, consts) = tiny_program();
        let circuit = Circuit::from_parts(&prog, &consts).unwrap();
        let s = synthesize(&circuit, Some(&[vec![4, -3, 5]])).unwrap();
        let pk = generate_parameters(&s.r1cs, &mut rng(Some(5))).unwrap();
        let mut z = s.assignment.clone();
        z[s.r1cs.num_public] += Fr::from(1u64);
        let err = create_proof(&pk, &s.r1cs, &z, &Cpu, &mut rng(Some(6))).err().unwrap();
        assert!(matches!(err, Error::Unsatisfied { ref label, .. } if label == "public inputs"), "{err}");
    }

    #[test]
    fn a_proof_of_a_false_output_does_not_verify() {
        // Claim output element 0 is 7 instead of 6: patch the witness all the way
        // (output value, the relu input, and the packed public signal), prove
        // without the prover's own check, and let the verifier judge.
        use crate::groth16::prover::create_proof_unchecked;
        let (prog, consts) = tiny_program();
        let circuit = Circuit::from_parts(&prog, &consts).unwrap();
        let s = synthesize(&circuit, Some(&[vec![4, -3, 5]])).unwrap();
        let pk = generate_parameters(&s.r1cs, &mut rng(Some(7))).unwrap();
        let mut z = s.assignment.clone();
        let out_col = s.r1cs.num_public;
        z[out_col] += Fr::from(1u64); // output 0 is the lowest packed field: +1 means 6 -> 7
        for (i, v) in z.iter_mut().enumerate().skip(out_col + 1) {
            if *v == Fr::from(6u64) && i > out_col {
                *v = Fr::from(7u64);
            }
        }
        assert!(s.r1cs.first_unsatisfied(&z).is_some());
        let proof = create_proof_unchecked(&pk, &s.r1cs, &z, &mut rng(Some(8))).unwrap();
        let public = &z[1..=s.r1cs.num_public];
        assert!(!verify_proof(&pk.vk, &proof, public).unwrap());
        // The honest statement with the same key does verify.
        let honest = create_proof(&pk, &s.r1cs, &s.assignment, &Cpu, &mut rng(Some(9))).unwrap().0;
        assert!(verify_proof(&pk.vk, &honest, s.public_inputs()).unwrap());
    }
}
