//! zkml's proving-key file, format 3 (`docs/design-notes.md`): 8 magic bytes
//! (format version in the last two), the circuit hash, the constraint-system
//! digest, the body's checksum ([`body_checksum`]), then the body: the [`ProvingKey`]'s
//! fields in declaration order, each `Vec` as a little-endian u64 count then
//! its points. A coordinate is its Montgomery form (x·2^256 mod q, four
//! little-endian u64 limbs, as arkworks holds it in memory and snarkjs's
//! `.zkey` stores it), so reading a point is a copy: a G1 point is x, y (64
//! bytes), a G2 point x.c0, x.c1, y.c0, y.c1 (128 bytes), the point at
//! infinity all zeros ((0, 0) is on neither curve).
//!
//! The file is written and read in chunks: writing never holds a serialised
//! copy of the key, reading never holds the file, and each batch of chunks is
//! hashed (the checksum's pieces in parallel) while its points are decoded.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField, Zero};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::hex;
use crate::error::Error;
use crate::groth16::ProvingKey;

/// Version 3: coordinates in Montgomery form, infinity as zeros. Version 2
/// held arkworks' canonical serialisation (each coordinate converted on
/// reading), version 1 the H query in the power basis.
const PK_MAGIC: &[u8; 8] = b"ZKMLPK\x00\x03";
const OLDER_MAGICS: [(&[u8; 8], u32); 2] = [(b"ZKMLPK\x00\x01", 1), (b"ZKMLPK\x00\x02", 2)];
/// Magic, circuit hash, R1CS digest, body checksum.
pub const HEADER_BYTES: usize = 8 + 3 * 32;
const G1_BYTES: usize = 64;
const G2_BYTES: usize = 128;
/// The checksum's pieces (4 MiB).
const CHUNK: usize = 1 << 22;

/// The body's checksum: SHA-256 over the SHA-256 of each 4 MiB piece of the
/// body (the last one shorter), so that the pieces hash in parallel.
pub fn body_checksum(body: &[u8]) -> [u8; 32] {
    let mut h = PieceHasher::default();
    h.update(body);
    h.finalize()
}

/// [`body_checksum`] fed in order, a slice at a time: the whole pieces
/// within a slice are hashed in parallel.
#[derive(Default)]
struct PieceHasher {
    partial: Sha256,
    partial_len: usize,
    digests: Vec<[u8; 32]>,
}

impl PieceHasher {
    fn update(&mut self, mut data: &[u8]) {
        if self.partial_len > 0 {
            let take = (CHUNK - self.partial_len).min(data.len());
            self.partial.update(&data[..take]);
            self.partial_len += take;
            data = &data[take..];
            if self.partial_len == CHUNK {
                self.digests.push(self.partial.finalize_reset().into());
                self.partial_len = 0;
            }
        }
        let whole = data.len() / CHUNK * CHUNK;
        self.digests.par_extend(data[..whole].par_chunks(CHUNK).map(|p| -> [u8; 32] { Sha256::digest(p).into() }));
        self.partial.update(&data[whole..]);
        self.partial_len += data.len() - whole;
    }

    fn finalize(mut self) -> [u8; 32] {
        if self.partial_len > 0 {
            self.digests.push(self.partial.finalize().into());
        }
        Sha256::digest(self.digests.concat()).into()
    }
}

/// Bytes written or read (encoded or decoded, and hashed) at a time: a
/// piece per core, at least two.
fn batch_bytes() -> usize {
    CHUNK * rayon::current_num_threads().clamp(2, 16)
}

/// Header of a proving-key file: what it was made for.
pub struct KeyHeader {
    pub circuit_hash: [u8; 32],
    pub r1cs_digest: [u8; 32],
}

fn put_fq(out: &mut [u8], x: &Fq) {
    for (o, limb) in out.chunks_exact_mut(8).zip(x.0 .0) {
        o.copy_from_slice(&limb.to_le_bytes());
    }
}

fn encode_g1(p: &G1Affine, out: &mut [u8]) {
    if p.infinity {
        return out.fill(0);
    }
    put_fq(&mut out[..32], &p.x);
    put_fq(&mut out[32..], &p.y);
}

fn encode_g2(p: &G2Affine, out: &mut [u8]) {
    if p.infinity {
        return out.fill(0);
    }
    for (k, x) in [&p.x.c0, &p.x.c1, &p.y.c0, &p.y.c1].into_iter().enumerate() {
        put_fq(&mut out[32 * k..32 * k + 32], x);
    }
}

/// A coordinate from its Montgomery limbs, if they are below q.
fn get_fq(b: &[u8]) -> Option<Fq> {
    let limbs: [u64; 4] = std::array::from_fn(|i| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes")));
    let big = BigInt(limbs);
    (big < Fq::MODULUS).then(|| Fq::new_unchecked(big))
}

fn decode_g1(b: &[u8]) -> Option<G1Affine> {
    let (x, y) = (get_fq(&b[..32])?, get_fq(&b[32..64])?);
    Some(if x.is_zero() && y.is_zero() { G1Affine::identity() } else { G1Affine::new_unchecked(x, y) })
}

fn decode_g2(b: &[u8]) -> Option<G2Affine> {
    let x = Fq2::new(get_fq(&b[..32])?, get_fq(&b[32..64])?);
    let y = Fq2::new(get_fq(&b[64..96])?, get_fq(&b[96..128])?);
    Some(if x.is_zero() && y.is_zero() { G2Affine::identity() } else { G2Affine::new_unchecked(x, y) })
}

/// The body's bytes on their way to the file, hashed as they go.
struct BodyWriter<'a, W: Write> {
    out: &'a mut W,
    hasher: PieceHasher,
    buf: Vec<u8>,
}

impl<W: Write> BodyWriter<'_, W> {
    fn bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)
    }

    fn point<T>(&mut self, p: &T, size: usize, encode: fn(&T, &mut [u8])) -> std::io::Result<()> {
        let mut b = [0u8; G2_BYTES];
        encode(p, &mut b[..size]);
        self.bytes(&b[..size])
    }

    fn points<T: Sync>(&mut self, points: &[T], size: usize, encode: fn(&T, &mut [u8])) -> std::io::Result<()> {
        self.bytes(&(points.len() as u64).to_le_bytes())?;
        for chunk in points.chunks(batch_bytes() / size) {
            self.buf.resize(chunk.len() * size, 0);
            self.buf.par_chunks_mut(size).zip(chunk.par_iter()).for_each(|(out, p)| encode(p, out));
            self.hasher.update(&self.buf);
            self.out.write_all(&self.buf)?;
        }
        Ok(())
    }
}

/// Write `pk` atomically: a temporary file beside `path`, fsync, rename. A
/// failure leaves no partial key behind. The body is encoded and hashed in
/// chunks as it is written; the checksum goes into the header at the end.
pub fn write_proving_key(path: &Path, header: &KeyHeader, pk: &ProvingKey) -> crate::error::Result<()> {
    crate::io::write_atomic(path, |f| {
        f.write_all(PK_MAGIC)?;
        f.write_all(&header.circuit_hash)?;
        f.write_all(&header.r1cs_digest)?;
        f.write_all(&[0; 32])?; // the body's checksum, once it is known
        let mut body = BodyWriter { out: &mut *f, hasher: PieceHasher::default(), buf: Vec::new() };
        let vk = &pk.vk;
        body.point(&vk.alpha_g1, G1_BYTES, encode_g1)?;
        for p in [&vk.beta_g2, &vk.gamma_g2, &vk.delta_g2] {
            body.point(p, G2_BYTES, encode_g2)?;
        }
        body.points(&vk.gamma_abc_g1, G1_BYTES, encode_g1)?;
        body.point(&pk.beta_g1, G1_BYTES, encode_g1)?;
        body.point(&pk.delta_g1, G1_BYTES, encode_g1)?;
        body.points(&pk.a_query, G1_BYTES, encode_g1)?;
        body.points(&pk.b_g1_query, G1_BYTES, encode_g1)?;
        body.points(&pk.b_g2_query, G2_BYTES, encode_g2)?;
        body.points(&pk.h_query, G1_BYTES, encode_g1)?;
        body.points(&pk.l_query, G1_BYTES, encode_g1)?;
        body.bytes(&pk.domain_size.to_le_bytes())?;
        let checksum = body.hasher.finalize();
        f.seek(SeekFrom::Start(HEADER_BYTES as u64 - 32))?;
        f.write_all(&checksum)
    })
}

/// Read a proving key and check that it belongs to `expected` (its circuit
/// hash and its constraint-system digest).
pub fn read_proving_key(path: &Path, expected: &KeyHeader) -> crate::error::Result<ProvingKey> {
    let (pk, r1cs_digest) = read_key(path, &expected.circuit_hash)?;
    check_r1cs_digest(path, &r1cs_digest, &expected.r1cs_digest)?;
    Ok(pk)
}

/// The key's constraint-system digest must be `expected`: a key made by
/// another zkml version's synthesis for the same program cannot prove.
pub fn check_r1cs_digest(path: &Path, found: &[u8; 32], expected: &[u8; 32]) -> crate::error::Result<()> {
    if found != expected {
        return Err(Error::Mismatch(format!(
            "proving key {} was made for a different constraint system (another zkml version?); run setup again",
            path.display()
        )));
    }
    Ok(())
}

/// [`read_proving_key`] checking only the circuit hash (a prover checks
/// that the key fits the constraint system by verifying its proofs).
pub fn read_proving_key_for(path: &Path, circuit: &[u8; 32]) -> crate::error::Result<ProvingKey> {
    read_key(path, circuit).map(|(pk, _)| pk)
}

/// The QAP domain size a format-3 key at `path` records (its last eight
/// bytes), unchecked: a capacity hint for synthesis while the key is still
/// being read. 0 when the file cannot be read or the size is implausible
/// (an H query of that many points would not fit in the file).
pub fn domain_size_hint(path: &Path) -> usize {
    let read = || -> std::io::Result<u64> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        if len < (HEADER_BYTES + 8) as u64 {
            return Ok(0);
        }
        f.seek(SeekFrom::End(-8))?;
        let mut b = [0u8; 8];
        f.read_exact(&mut b)?;
        let n = u64::from_le_bytes(b);
        Ok(if n.checked_mul(G1_BYTES as u64).is_some_and(|bytes| bytes <= len) { n } else { 0 })
    };
    read().ok().and_then(|n| usize::try_from(n).ok()).unwrap_or(0)
}

/// [`read_proving_key_for`] without hashing the body against the header's
/// checksum, for a single proof that verifies itself (and calls
/// [`read_proving_key_for`] only when that fails, to name a corrupted
/// file). The layout is still checked as it is read (every count against
/// the bytes left, coordinates below q, nothing left over); a file that
/// fails those checks is read again with its checksum, so that a corrupted
/// file is reported as corrupted.
pub fn read_proving_key_unhashed(path: &Path, circuit: &[u8; 32]) -> crate::error::Result<ProvingKey> {
    match read_key_hashing(path, circuit, false) {
        Err(Error::Format(_)) => read_proving_key_for(path, circuit),
        other => other.map(|(pk, _)| pk),
    }
}

/// The key and the constraint-system digest its header records.
fn read_key(path: &Path, circuit: &[u8; 32]) -> crate::error::Result<(ProvingKey, [u8; 32])> {
    read_key_hashing(path, circuit, true)
}

fn read_key_hashing(path: &Path, circuit: &[u8; 32], hash: bool) -> crate::error::Result<(ProvingKey, [u8; 32])> {
    let cannot = |e| Error::io(format!("cannot read proving key {}", path.display()), e);
    let bad = |what: &str| Error::Format(format!("{} is not a valid zkml proving key: {what}", path.display()));
    let mut file = File::open(path).map_err(cannot)?;
    let mut header = [0u8; HEADER_BYTES];
    let got = read_up_to(&mut file, &mut header).map_err(cannot)?;
    for (magic, version) in OLDER_MAGICS {
        if got >= 8 && &header[..8] == magic {
            return Err(Error::Format(format!(
                "proving key {} was made by an older zkml (key format {version}); run setup again",
                path.display()
            )));
        }
    }
    if got < HEADER_BYTES || &header[..8] != PK_MAGIC {
        return Err(bad("wrong magic bytes or truncated"));
    }
    let circuit_hash = &header[8..40];
    if circuit_hash != circuit {
        return Err(Error::Mismatch(format!(
            "proving key {} was made for circuit {}, not {}",
            path.display(),
            hex(circuit_hash),
            hex(circuit)
        )));
    }
    let r1cs_digest: [u8; 32] = header[40..72].try_into().expect("32 bytes");
    let checksum = &header[72..104];
    let size = file.metadata().map_err(cannot)?.len();
    let mut body = BodyReader {
        file,
        left: size.saturating_sub(HEADER_BYTES as u64),
        hasher: hash.then(PieceHasher::default),
        buf: Vec::new(),
        bad_coordinate: AtomicBool::new(false),
    };
    let parsed = body.key();
    // Whatever the parse found, the whole body is hashed first: a corrupted
    // file is reported as such, not as whatever its corruption looks like.
    let parsed = match parsed {
        Err(Stop::Io(e)) => return Err(cannot(e)),
        Err(Stop::Bad(what)) => Err(what),
        Ok(pk) => Ok(pk),
    };
    let left_over = body.drain().map_err(cannot)?;
    if body.hasher.take().is_some_and(|h| h.finalize() != checksum) {
        return Err(bad("checksum mismatch (the file is corrupted)"));
    }
    let pk = parsed.map_err(|what| bad(&what))?;
    if left_over > 0 {
        return Err(bad(&format!("{left_over} bytes left over after the key")));
    }
    if body.bad_coordinate.into_inner() {
        return Err(bad("a coordinate is not below the field modulus"));
    }
    Ok((pk, r1cs_digest))
}

/// Fills `buf` from `r` as far as it goes; returns the bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Why a body's parse stopped.
enum Stop {
    /// The layout is broken (what, where).
    Bad(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Stop::Bad("the file ends early".into())
        } else {
            Stop::Io(e)
        }
    }
}

/// The body, read in chunks: each is hashed while its points are decoded.
/// Every count is checked against the bytes the file has left before
/// anything is allocated: a forged count (checksum recomputed) must be an
/// error, not an allocation failure that aborts the process.
struct BodyReader {
    file: File,
    /// Bytes of the body not read yet (from the file's size).
    left: u64,
    /// None: the body is not hashed (see [`read_proving_key_unhashed`]).
    hasher: Option<PieceHasher>,
    buf: Vec<u8>,
    /// A coordinate was not below q (reported once the checksum is known
    /// to be right: a corrupted file is reported as corrupted).
    bad_coordinate: AtomicBool,
}

impl BodyReader {
    /// The next `n` bytes into `self.buf`, not hashed.
    fn fill(&mut self, n: usize, what: &str) -> Result<(), Stop> {
        if n as u64 > self.left {
            return Err(Stop::Bad(format!("truncated in {what}")));
        }
        self.buf.resize(n, 0);
        self.file.read_exact(&mut self.buf)?;
        self.left -= n as u64;
        Ok(())
    }

    /// The next `N` bytes, hashed.
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Stop> {
        self.fill(N, what)?;
        if let Some(h) = &mut self.hasher {
            h.update(&self.buf);
        }
        Ok(self.buf[..].try_into().expect("N bytes"))
    }

    fn point<T: AffineRepr>(&mut self, size: usize, what: &str, decode: fn(&[u8]) -> Option<T>) -> Result<T, Stop> {
        self.fill(size, what)?;
        if let Some(h) = &mut self.hasher {
            h.update(&self.buf);
        }
        Ok(decode(&self.buf).unwrap_or_else(|| {
            self.bad_coordinate.store(true, Ordering::Relaxed);
            T::zero()
        }))
    }

    fn points<T: AffineRepr>(
        &mut self,
        size: usize,
        what: &str,
        decode: fn(&[u8]) -> Option<T>,
    ) -> Result<Vec<T>, Stop> {
        let count = u64::from_le_bytes(self.array(&format!("the length of {what}"))?);
        let count = usize::try_from(count)
            .ok()
            .filter(|c| c.checked_mul(size).is_some_and(|b| b as u64 <= self.left))
            .ok_or_else(|| Stop::Bad(format!("{what} claims {count} points, more than the file holds")))?;
        let mut out = Vec::with_capacity(count);
        let mut remaining = count;
        while remaining > 0 {
            let k = remaining.min(batch_bytes() / size);
            self.fill(k * size, what)?;
            let (buf, hasher, bad) = (&self.buf, &mut self.hasher, &self.bad_coordinate);
            rayon::join(
                || {
                    if let Some(h) = hasher {
                        h.update(buf)
                    }
                },
                || {
                    out.par_extend(buf.par_chunks_exact(size).map(|b| {
                        decode(b).unwrap_or_else(|| {
                            bad.store(true, Ordering::Relaxed);
                            T::zero()
                        })
                    }))
                },
            );
            remaining -= k;
        }
        Ok(out)
    }

    fn key(&mut self) -> Result<ProvingKey, Stop> {
        let vk = "the verifying key";
        let alpha_g1 = self.point(G1_BYTES, vk, decode_g1)?;
        let beta_g2 = self.point(G2_BYTES, vk, decode_g2)?;
        let gamma_g2 = self.point(G2_BYTES, vk, decode_g2)?;
        let delta_g2 = self.point(G2_BYTES, vk, decode_g2)?;
        let gamma_abc_g1 = self.points(G1_BYTES, "IC", decode_g1)?;
        let beta_g1 = self.point(G1_BYTES, "beta_g1 and delta_g1", decode_g1)?;
        let delta_g1 = self.point(G1_BYTES, "beta_g1 and delta_g1", decode_g1)?;
        Ok(ProvingKey {
            vk: crate::groth16::VerifyingKey { alpha_g1, beta_g2, gamma_g2, delta_g2, gamma_abc_g1 },
            beta_g1,
            delta_g1,
            a_query: self.points(G1_BYTES, "a_query", decode_g1)?,
            b_g1_query: self.points(G1_BYTES, "b_g1_query", decode_g1)?,
            b_g2_query: self.points(G2_BYTES, "b_g2_query", decode_g2)?,
            h_query: self.points(G1_BYTES, "h_query", decode_g1)?,
            l_query: self.points(G1_BYTES, "l_query", decode_g1)?,
            domain_size: u64::from_le_bytes(self.array("the domain size")?),
        })
    }

    /// Hashes whatever the parse left unread; returns how many bytes that was.
    fn drain(&mut self) -> std::io::Result<u64> {
        let mut buf = vec![0u8; batch_bytes()];
        let mut total = 0u64;
        loop {
            let n = read_up_to(&mut self.file, &mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            if let Some(h) = &mut self.hasher {
                h.update(&buf[..n]);
            }
            total += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use rand::SeedableRng;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("zkml-pk-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join("pk.bin")
    }

    /// Random points (and points at infinity) in every vector, vectors longer
    /// than a chunk among them: what is written is what is read back, and
    /// each point's bytes are its Montgomery limbs.
    #[test]
    fn a_key_round_trips_through_the_file_across_chunks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        // n successive multiples of a random point, one of them (when n > 2)
        // replaced by the point at infinity: index 1 in G1, the last in G2.
        fn multiples<P: CurveGroup>(rng: &mut rand_chacha::ChaCha20Rng, n: usize, hole: usize) -> Vec<P::Affine> {
            let p = P::rand(rng);
            let mut acc = p;
            let multiples: Vec<P> = (0..n)
                .map(|_| {
                    let next = acc + p;
                    std::mem::replace(&mut acc, next)
                })
                .collect();
            let mut v = P::normalize_batch(&multiples);
            if n > 2 {
                v[hole.min(n - 1)] = P::Affine::zero();
            }
            v
        }
        let g1 = |rng: &mut rand_chacha::ChaCha20Rng, n: usize| multiples::<ark_bn254::G1Projective>(rng, n, 1);
        let g2 = |rng: &mut rand_chacha::ChaCha20Rng, n: usize| multiples::<ark_bn254::G2Projective>(rng, n, n - 1);
        let big = CHUNK / G1_BYTES + 5;
        let pk = ProvingKey {
            vk: crate::groth16::VerifyingKey {
                alpha_g1: g1(&mut rng, 1)[0],
                beta_g2: g2(&mut rng, 1)[0],
                gamma_g2: G2Affine::generator(),
                delta_g2: g2(&mut rng, 1)[0],
                gamma_abc_g1: g1(&mut rng, 3),
            },
            beta_g1: g1(&mut rng, 1)[0],
            delta_g1: G1Affine::identity(),
            a_query: g1(&mut rng, big),
            b_g1_query: vec![],
            b_g2_query: g2(&mut rng, CHUNK / G2_BYTES + 3),
            h_query: g1(&mut rng, 17),
            l_query: g1(&mut rng, 2),
            domain_size: 1 << 5,
        };
        let path = tmp("round-trip");
        let header = KeyHeader { circuit_hash: [7; 32], r1cs_digest: [9; 32] };
        write_proving_key(&path, &header, &pk).unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(&data[..8], PK_MAGIC);
        assert_eq!(data[72..104], body_checksum(&data[HEADER_BYTES..]));
        let alpha = &data[HEADER_BYTES..HEADER_BYTES + 64];
        assert_eq!(alpha[..8], pk.vk.alpha_g1.x.0 .0[0].to_le_bytes());
        assert_eq!(read_proving_key(&path, &header).unwrap(), pk);
        let other = KeyHeader { circuit_hash: [7; 32], r1cs_digest: [8; 32] };
        let err = read_proving_key(&path, &other).err().unwrap();
        assert!(err.to_string().contains("different constraint system"), "{err}");
        let err = read_proving_key_for(&path, &[8; 32]).err().unwrap();
        assert!(matches!(err, Error::Mismatch(_)), "{err}");

        // Read without its checksum, the same key.
        assert_eq!(read_proving_key_unhashed(&path, &[7; 32]).unwrap(), pk);
        assert!(matches!(read_proving_key_unhashed(&path, &[8; 32]).err().unwrap(), Error::Mismatch(_)));
        assert_eq!(domain_size_hint(&path), 1 << 5);

        // Every single flipped bit of the body, sampled, is a checksum mismatch;
        // with the checksum recomputed a coordinate above q is refused. Read
        // unhashed, a flipped bit in a point is a different key (its proofs
        // fail their self-check), and one that breaks the layout (a count,
        // the domain size's top byte) is still reported as a checksum mismatch.
        for at in [HEADER_BYTES, HEADER_BYTES + 200, data.len() / 2, data.len() - 1] {
            let mut bad = data.clone();
            bad[at] ^= 0x80;
            std::fs::write(&path, &bad).unwrap();
            let err = read_proving_key_for(&path, &[7; 32]).err().unwrap();
            assert!(err.to_string().contains("checksum mismatch"), "{at}: {err}");
            match read_proving_key_unhashed(&path, &[7; 32]) {
                Ok(read) => assert_ne!(read, pk, "{at}"),
                Err(err) => assert!(err.to_string().contains("checksum mismatch"), "{at}: {err}"),
            }
        }
        let count_at = HEADER_BYTES + 64 + 3 * 128 + 7; // IC's count, top byte
        let mut bad = data.clone();
        bad[count_at] ^= 0x10;
        std::fs::write(&path, &bad).unwrap();
        let err = read_proving_key_unhashed(&path, &[7; 32]).err().unwrap();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
        let mut bad = data.clone();
        bad[HEADER_BYTES + 24..HEADER_BYTES + 32].copy_from_slice(&[0xff; 8]); // alpha.x's top limb
        let checksum = body_checksum(&bad[HEADER_BYTES..]);
        bad[72..104].copy_from_slice(&checksum);
        std::fs::write(&path, &bad).unwrap();
        let err = read_proving_key_for(&path, &[7; 32]).err().unwrap();
        assert!(err.to_string().contains("not below the field modulus"), "{err}");

        // Truncated anywhere: an error naming the file, never a panic.
        for len in [0, 7, 50, HEADER_BYTES, HEADER_BYTES + 100, data.len() / 2, data.len() - 1] {
            std::fs::write(&path, &data[..len]).unwrap();
            let err = read_proving_key_for(&path, &[7; 32]).err().unwrap();
            assert!(matches!(err, Error::Format(_)), "{len}: {err}");
            assert!(err.to_string().contains("not a valid zkml proving key"), "{len}: {err}");
        }
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    /// The checksum of pieces, however the body is fed: in one slice, or in
    /// slices that split pieces anywhere.
    #[test]
    fn the_checksum_is_the_hash_of_the_pieces_hashes_however_it_is_fed() {
        let body: Vec<u8> = (0..3 * CHUNK + 12345).map(|i| (i * 31 % 251) as u8).collect();
        let pieces: Vec<u8> = body.chunks(CHUNK).flat_map(|p| Sha256::digest(p).to_vec()).collect();
        let want: [u8; 32] = Sha256::digest(&pieces).into();
        assert_eq!(body_checksum(&body), want);
        for cuts in [vec![1, CHUNK, CHUNK + 1], vec![CHUNK - 1, 2 * CHUNK + 7], vec![5, 6, 7, 3 * CHUNK]] {
            let mut h = PieceHasher::default();
            let mut at = 0;
            for cut in cuts.into_iter().chain([body.len()]) {
                h.update(&body[at..cut]);
                at = cut;
            }
            assert_eq!(h.finalize(), want);
        }
        let empty: [u8; 32] = Sha256::digest([]).into();
        assert_eq!(body_checksum(&[]), empty);
        let one: [u8; 32] = Sha256::digest(Sha256::digest(b"abc")).into();
        assert_eq!(body_checksum(b"abc"), one);
    }

    #[test]
    fn a_key_of_an_older_format_asks_for_setup_again() {
        let path = tmp("older");
        for (magic, version) in OLDER_MAGICS {
            let mut data = magic.to_vec();
            data.extend([0u8; 200]);
            std::fs::write(&path, &data).unwrap();
            let err = read_proving_key_for(&path, &[0; 32]).err().unwrap();
            let want = format!("made by an older zkml (key format {version}); run setup again");
            assert!(matches!(&err, Error::Format(m) if m.contains(&want)), "{err}");
        }
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
