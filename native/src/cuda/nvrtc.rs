//! Run-time compilation of zkml's CUDA sources with NVRTC, and a disk cache of
//! the results.
//!
//! NVRTC is found, in order, at `$ZKML_NVRTC` (a path to `libnvrtc.so*`), in
//! the directories given by [`set_search_dirs`] (the Python package passes the
//! `nvidia/cu13/lib` folders of the `nvidia-cuda-nvrtc` wheel), under
//! `$VIRTUAL_ENV`, by the loader's own search, and under `$CUDA_HOME` or
//! `/usr/local/cuda`. Its builtins library is opened first from the same
//! folder, so NVRTC finds it without `LD_LIBRARY_PATH`.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use libloading::Library;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The CUDA sources, embedded so the extension needs no files at run time.
pub const SOURCES: &[(&str, &str)] = &[
    ("common.cuh", include_str!("../../cuda/common.cuh")),
    ("field.cuh", include_str!("../../cuda/field.cuh")),
    ("ec.cuh", include_str!("../../cuda/ec.cuh")),
    ("bn254.cuh", include_str!("../../cuda/bn254.cuh")),
    ("msm.cuh", include_str!("../../cuda/msm.cuh")),
    ("ntt.cuh", include_str!("../../cuda/ntt.cuh")),
];
pub const MAIN: (&str, &str) = ("bn254.cu", include_str!("../../cuda/bn254.cu"));

/// Every kernel the host launches (checked to exist after each compilation).
pub const KERNELS: &[&str] = &[
    "zk_msm_digits",
    "zk_msm_scatter",
    "zk_scan_block",
    "zk_scan_add",
    "zk_task_counts",
    "zk_emit_tasks",
    "zk_g1_sum_affine_tasks",
    "zk_g1_sum_xyzz_tasks",
    "zk_g1_reduce_segments",
    "zk_g1_sum_runs",
    "zk_g1_check_add",
    "zk_g2_sum_affine_tasks",
    "zk_g2_sum_xyzz_tasks",
    "zk_g2_reduce_segments",
    "zk_g2_sum_runs",
    "zk_g2_check_add",
    "zk_check_fq",
    "zk_check_fr_canonical",
    "zk_ntt_bitrev",
    "zk_ntt_pass",
];

static SEARCH_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Extra folders to look for NVRTC in (before the system's).
pub fn set_search_dirs(dirs: Vec<PathBuf>) {
    *SEARCH_DIRS.lock().unwrap_or_else(|e| e.into_inner()) = dirs;
}

type NvrtcResult = c_int;
type Program = *mut c_void;

struct Api {
    version: unsafe extern "C" fn(*mut c_int, *mut c_int) -> NvrtcResult,
    create: unsafe extern "C" fn(
        *mut Program,
        *const c_char,
        *const c_char,
        c_int,
        *const *const c_char,
        *const *const c_char,
    ) -> NvrtcResult,
    compile: unsafe extern "C" fn(Program, c_int, *const *const c_char) -> NvrtcResult,
    log_size: unsafe extern "C" fn(Program, *mut usize) -> NvrtcResult,
    log: unsafe extern "C" fn(Program, *mut c_char) -> NvrtcResult,
    ptx_size: unsafe extern "C" fn(Program, *mut usize) -> NvrtcResult,
    ptx: unsafe extern "C" fn(Program, *mut c_char) -> NvrtcResult,
    cubin_size: unsafe extern "C" fn(Program, *mut usize) -> NvrtcResult,
    cubin: unsafe extern "C" fn(Program, *mut c_char) -> NvrtcResult,
    destroy: unsafe extern "C" fn(*mut Program) -> NvrtcResult,
    error_string: unsafe extern "C" fn(NvrtcResult) -> *const c_char,
}

pub struct Nvrtc {
    api: Api,
    pub path: PathBuf,
    pub version: (i32, i32),
    _libs: Vec<Library>,
}

fn candidates() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = SEARCH_DIRS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Ok(venv) = std::env::var("VIRTUAL_ENV") {
        if let Ok(entries) = std::fs::read_dir(Path::new(&venv).join("lib")) {
            for e in entries.flatten() {
                dirs.push(e.path().join("site-packages/nvidia/cu13/lib"));
                dirs.push(e.path().join("site-packages/nvidia/cuda_nvrtc/lib"));
            }
        }
    }
    let mut files = Vec::new();
    if let Ok(p) = std::env::var("ZKML_NVRTC") {
        if !p.is_empty() {
            files.push(PathBuf::from(p));
        }
    }
    for d in dirs {
        for name in ["libnvrtc.so.13", "libnvrtc.so.12"] {
            let f = d.join(name);
            if f.exists() {
                files.push(f);
            }
        }
    }
    // Names for the loader's own search, then the toolkit's usual home.
    for name in ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"] {
        files.push(PathBuf::from(name));
    }
    let home = std::env::var("CUDA_HOME").unwrap_or_else(|_| "/usr/local/cuda".into());
    for name in ["lib64/libnvrtc.so", "targets/x86_64-linux/lib/libnvrtc.so"] {
        files.push(Path::new(&home).join(name));
    }
    files
}

/// Opens the builtins library beside `nvrtc` so NVRTC's own dlopen finds it loaded.
fn preload_builtins(nvrtc: &Path) -> Vec<Library> {
    let Some(dir) = nvrtc.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Vec::new();
    };
    let mut libs = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut names: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                n.starts_with("libnvrtc-builtins.so.") && !n.contains(".alt.")
            })
            .collect();
        names.sort();
        for p in names {
            // SAFETY: NVRTC's builtins library has no initialisers with side effects.
            if let Ok(lib) = unsafe { Library::new(&p) } {
                libs.push(lib);
            }
        }
    }
    libs
}

impl Nvrtc {
    /// The first NVRTC that loads, or an error listing where it looked.
    pub fn open() -> Result<&'static Nvrtc> {
        static NVRTC: OnceLock<std::result::Result<Nvrtc, String>> = OnceLock::new();
        NVRTC.get_or_init(|| Self::load().map_err(|e| e.to_string())).as_ref().map_err(|e| Error::Device(e.clone()))
    }

    fn load() -> Result<Nvrtc> {
        let mut tried = Vec::new();
        for path in candidates() {
            let mut libs = preload_builtins(&path);
            // SAFETY: loading NVRTC runs only its initialisers.
            let lib = match unsafe { Library::new(&path) } {
                Ok(lib) => lib,
                Err(_) => {
                    tried.push(path.display().to_string());
                    continue;
                }
            };
            let api = unsafe {
                macro_rules! sym {
                    ($name:literal) => {
                        *lib.get(concat!($name, "\0").as_bytes())
                            .map_err(|e| Error::Device(format!("{} lacks {}: {e}", path.display(), $name)))?
                    };
                }
                Api {
                    version: sym!("nvrtcVersion"),
                    create: sym!("nvrtcCreateProgram"),
                    compile: sym!("nvrtcCompileProgram"),
                    log_size: sym!("nvrtcGetProgramLogSize"),
                    log: sym!("nvrtcGetProgramLog"),
                    ptx_size: sym!("nvrtcGetPTXSize"),
                    ptx: sym!("nvrtcGetPTX"),
                    cubin_size: sym!("nvrtcGetCUBINSize"),
                    cubin: sym!("nvrtcGetCUBIN"),
                    destroy: sym!("nvrtcDestroyProgram"),
                    error_string: sym!("nvrtcGetErrorString"),
                }
            };
            let (mut major, mut minor) = (0, 0);
            unsafe { (api.version)(&mut major, &mut minor) };
            libs.push(lib);
            return Ok(Nvrtc { api, path, version: (major, minor), _libs: libs });
        }
        Err(Error::Device(format!(
            "NVRTC (the CUDA run-time compiler) was not found; install it with `pip install nvidia-cuda-nvrtc` or set ZKML_NVRTC (looked for {})",
            tried.join(", ")
        )))
    }

    fn check(&self, code: NvrtcResult, what: &str) -> Result<()> {
        if code == 0 {
            return Ok(());
        }
        let msg = unsafe { CStr::from_ptr((self.api.error_string)(code)) }.to_string_lossy().into_owned();
        Err(Error::Device(format!("NVRTC could not {what}: {msg}")))
    }

    /// Compiles the embedded sources for `arch`: a real architecture
    /// (`sm_90`) gives a cubin, a virtual one (`compute_90`) gives PTX.
    pub fn compile(&self, arch: &str, defines: &[&str]) -> Result<Vec<u8>> {
        let to_c = |s: &str| CString::new(s).map_err(|_| Error::Internal("NUL in CUDA source".into()));
        let main_src = to_c(MAIN.1)?;
        let main_name = to_c(MAIN.0)?;
        let header_srcs = SOURCES.iter().map(|(_, s)| to_c(s)).collect::<Result<Vec<_>>>()?;
        let header_names = SOURCES.iter().map(|(n, _)| to_c(n)).collect::<Result<Vec<_>>>()?;
        let header_src_ptrs: Vec<*const c_char> = header_srcs.iter().map(|s| s.as_ptr()).collect();
        let header_name_ptrs: Vec<*const c_char> = header_names.iter().map(|s| s.as_ptr()).collect();
        let mut options =
            vec![format!("--gpu-architecture={arch}"), "--std=c++17".to_string(), "-default-device".to_string()];
        options.extend(defines.iter().map(|d| format!("-D{d}")));
        let options = options.iter().map(|o| to_c(o)).collect::<Result<Vec<_>>>()?;
        let option_ptrs: Vec<*const c_char> = options.iter().map(|s| s.as_ptr()).collect();

        let mut program: Program = std::ptr::null_mut();
        self.check(
            unsafe {
                (self.api.create)(
                    &mut program,
                    main_src.as_ptr(),
                    main_name.as_ptr(),
                    SOURCES.len() as c_int,
                    header_src_ptrs.as_ptr(),
                    header_name_ptrs.as_ptr(),
                )
            },
            "create a program",
        )?;
        let result = (|| {
            let code = unsafe { (self.api.compile)(program, option_ptrs.len() as c_int, option_ptrs.as_ptr()) };
            if code != 0 {
                let mut size = 0;
                unsafe { (self.api.log_size)(program, &mut size) };
                let mut log = vec![0u8; size.max(1)];
                unsafe { (self.api.log)(program, log.as_mut_ptr().cast()) };
                let log = String::from_utf8_lossy(&log).trim_end_matches('\0').trim().to_string();
                return Err(Error::Device(format!("the CUDA kernels did not compile for {arch}: {log}")));
            }
            let cubin = arch.starts_with("sm_");
            let mut size = 0;
            let (size_fn, get_fn) =
                if cubin { (self.api.cubin_size, self.api.cubin) } else { (self.api.ptx_size, self.api.ptx) };
            self.check(unsafe { size_fn(program, &mut size) }, "size its output")?;
            let mut out = vec![0u8; size];
            self.check(unsafe { get_fn(program, out.as_mut_ptr().cast()) }, "read its output")?;
            if !cubin {
                // PTX comes NUL-terminated.
                while out.last() == Some(&0) {
                    out.pop();
                }
            }
            Ok(out)
        })();
        unsafe { (self.api.destroy)(&mut program) };
        result
    }

    /// [`Nvrtc::compile`] through an on-disk cache keyed by the sources, the
    /// options and NVRTC's version, in `$ZKML_CACHE_DIR/cuda` (default
    /// `~/.cache/zkml/cuda`). A cache that cannot be written is skipped.
    pub fn compile_cached(&self, arch: &str, defines: &[&str]) -> Result<Vec<u8>> {
        let dir = cache_dir();
        let file = dir.as_ref().map(|d| d.join(cache_file_name(self.version, arch, defines)));
        if let Some(f) = &file {
            if let Ok(bytes) = std::fs::read(f) {
                if !bytes.is_empty() {
                    return Ok(bytes);
                }
            }
        }
        let image = self.compile(arch, defines)?;
        if let (Some(dir), Some(f)) = (dir, file) {
            let _ = std::fs::create_dir_all(&dir).and_then(|_| {
                let tmp = dir.join(format!(".{}.{}", f.file_name().unwrap().to_string_lossy(), std::process::id()));
                std::fs::write(&tmp, &image)?;
                std::fs::rename(&tmp, &f)
            });
        }
        Ok(image)
    }
}

/// The cache's file name for the embedded sources compiled by NVRTC
/// `version` for `arch` with `defines`: `bn254-<arch>-<key>.bin`, the key
/// being the first 16 bytes of SHA-256 over `"{version:?}|{arch}|{defines:?}|"`
/// and then each source's name and text, headers in [`SOURCES`] order, then
/// [`MAIN`]. (A cubin compiled elsewhere under this name is loaded as is.)
pub fn cache_file_name(version: (i32, i32), arch: &str, defines: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(format!("{version:?}|{arch}|{defines:?}|"));
    for (name, src) in SOURCES.iter().chain(std::iter::once(&MAIN)) {
        h.update(name.as_bytes());
        h.update(src.as_bytes());
    }
    let key: String = h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("bn254-{arch}-{key}.bin")
}

fn cache_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("ZKML_CACHE_DIR") {
        if !d.is_empty() {
            return Some(PathBuf::from(d).join("cuda"));
        }
    }
    let base = std::env::var("XDG_CACHE_HOME")
        .ok()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var("HOME").ok().map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("zkml").join("cuda"))
}
