//! The few CUDA driver API calls zkml needs, opened at run time from
//! `libcuda.so.1` (the driver, present wherever a GPU is usable). Nothing here
//! links against CUDA, so the crate builds and runs on machines without it.
//!
//! Every call is checked: a non-zero `CUresult` becomes [`Error::Device`] with
//! the driver's own name for it and what was being attempted.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::sync::Arc;

use libloading::Library;

use crate::error::{Error, Result};

pub type CuResult = c_int;
pub type CuDevice = c_int;
pub type CuContext = *mut c_void;
pub type CuModule = *mut c_void;
pub type CuFunction = *mut c_void;
pub type CuDevicePtr = u64;

const ATTR_MULTIPROCESSOR_COUNT: c_int = 16;
const ATTR_COMPUTE_CAPABILITY_MAJOR: c_int = 75;
const ATTR_COMPUTE_CAPABILITY_MINOR: c_int = 76;

macro_rules! driver_api {
    ($($field:ident : $symbol:literal fn($($arg:ty),*);)*) => {
        /// Function pointers into the driver, resolved once.
        struct Api {
            $($field: unsafe extern "C" fn($($arg),*) -> CuResult,)*
        }
        impl Api {
            fn load(lib: &Library) -> Result<Self> {
                // SAFETY: each symbol is declared with the signature of the
                // CUDA driver API function of that name.
                unsafe {
                    Ok(Self {
                        $($field: *lib
                            .get::<unsafe extern "C" fn($($arg),*) -> CuResult>(concat!($symbol, "\0").as_bytes())
                            .map_err(|e| Error::Device(format!("the CUDA driver lacks {}: {e}", $symbol)))?,)*
                    })
                }
            }
        }
    };
}

driver_api! {
    init: "cuInit" fn(c_uint);
    device_get_count: "cuDeviceGetCount" fn(*mut c_int);
    device_get: "cuDeviceGet" fn(*mut CuDevice, c_int);
    device_get_name: "cuDeviceGetName" fn(*mut c_char, c_int, CuDevice);
    device_get_attribute: "cuDeviceGetAttribute" fn(*mut c_int, c_int, CuDevice);
    device_total_mem: "cuDeviceTotalMem_v2" fn(*mut usize, CuDevice);
    primary_ctx_retain: "cuDevicePrimaryCtxRetain" fn(*mut CuContext, CuDevice);
    primary_ctx_release: "cuDevicePrimaryCtxRelease_v2" fn(CuDevice);
    ctx_set_current: "cuCtxSetCurrent" fn(CuContext);
    ctx_synchronize: "cuCtxSynchronize" fn();
    mem_get_info: "cuMemGetInfo_v2" fn(*mut usize, *mut usize);
    module_load_data: "cuModuleLoadData" fn(*mut CuModule, *const c_void);
    module_unload: "cuModuleUnload" fn(CuModule);
    module_get_function: "cuModuleGetFunction" fn(*mut CuFunction, CuModule, *const c_char);
    mem_alloc: "cuMemAlloc_v2" fn(*mut CuDevicePtr, usize);
    mem_free: "cuMemFree_v2" fn(CuDevicePtr);
    memcpy_htod: "cuMemcpyHtoD_v2" fn(CuDevicePtr, *const c_void, usize);
    memcpy_dtoh: "cuMemcpyDtoH_v2" fn(*mut c_void, CuDevicePtr, usize);
    memcpy_dtod: "cuMemcpyDtoD_v2" fn(CuDevicePtr, CuDevicePtr, usize);
    memset_d32: "cuMemsetD32_v2" fn(CuDevicePtr, c_uint, usize);
    launch_kernel: "cuLaunchKernel" fn(CuFunction, c_uint, c_uint, c_uint, c_uint, c_uint, c_uint, c_uint, *mut c_void, *mut *mut c_void, *mut *mut c_void);
    get_error_name: "cuGetErrorName" fn(CuResult, *mut *const c_char);
}

/// The loaded driver library and its entry points.
pub struct Driver {
    api: Api,
    _lib: Library,
}

impl Driver {
    /// Opens the driver library (`ZKML_CUDA_DRIVER` overrides the name) and
    /// calls `cuInit`.
    pub fn open() -> Result<Arc<Self>> {
        let names: Vec<String> = match std::env::var("ZKML_CUDA_DRIVER") {
            Ok(path) if !path.is_empty() => vec![path],
            _ => vec!["libcuda.so.1".into(), "libcuda.so".into()],
        };
        Self::open_first(&names)
    }

    /// The first of `names` that loads as a CUDA driver (tests pass a stand-in).
    pub fn open_first(names: &[String]) -> Result<Arc<Self>> {
        let mut last = String::new();
        for name in names {
            // SAFETY: loading the CUDA driver runs only its initialisers.
            match unsafe { Library::new(name) } {
                Ok(lib) => {
                    let driver = Self { api: Api::load(&lib)?, _lib: lib };
                    driver.check(unsafe { (driver.api.init)(0) }, "initialise the CUDA driver")?;
                    return Ok(Arc::new(driver));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(Error::Device(format!("no CUDA driver found ({last})")))
    }

    fn error_name(&self, code: CuResult) -> String {
        let mut name: *const c_char = std::ptr::null();
        // SAFETY: cuGetErrorName writes a pointer to a static string or leaves it null.
        if unsafe { (self.api.get_error_name)(code, &mut name) } == 0 && !name.is_null() {
            unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
        } else {
            format!("CUDA error {code}")
        }
    }

    /// `Ok` for CUDA_SUCCESS, else a device error saying what failed.
    pub fn check(&self, code: CuResult, what: &str) -> Result<()> {
        if code == 0 {
            Ok(())
        } else {
            Err(Error::Device(format!("could not {what}: {}", self.error_name(code))))
        }
    }

    pub fn device_count(&self) -> Result<usize> {
        let mut n = 0;
        self.check(unsafe { (self.api.device_get_count)(&mut n) }, "count CUDA devices")?;
        Ok(n.max(0) as usize)
    }
}

/// One GPU with its primary context made current on the calling thread.
pub struct Device {
    driver: Arc<Driver>,
    device: CuDevice,
    context: CuContext,
    pub name: String,
    /// Compute capability (major, minor).
    pub capability: (u32, u32),
    pub multiprocessors: u32,
    pub total_memory: usize,
}

// SAFETY: the context handle is only used after `make_current` on the calling
// thread, and the CUDA driver API is thread-safe.
unsafe impl Send for Device {}
unsafe impl Sync for Device {}

impl Device {
    pub fn open(driver: Arc<Driver>, ordinal: usize) -> Result<Self> {
        let api = &driver.api;
        let mut device = 0;
        driver.check(unsafe { (api.device_get)(&mut device, ordinal as c_int) }, "open CUDA device")?;
        let mut name = [0 as c_char; 256];
        driver.check(unsafe { (api.device_get_name)(name.as_mut_ptr(), 256, device) }, "read the device name")?;
        let name = unsafe { CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned();
        let attribute = |attr| -> Result<u32> {
            let mut v = 0;
            driver.check(unsafe { (api.device_get_attribute)(&mut v, attr, device) }, "read a device attribute")?;
            Ok(v.max(0) as u32)
        };
        let capability = (attribute(ATTR_COMPUTE_CAPABILITY_MAJOR)?, attribute(ATTR_COMPUTE_CAPABILITY_MINOR)?);
        let multiprocessors = attribute(ATTR_MULTIPROCESSOR_COUNT)?;
        let mut total_memory = 0;
        driver.check(unsafe { (api.device_total_mem)(&mut total_memory, device) }, "read the device memory size")?;
        let mut context = std::ptr::null_mut();
        driver.check(unsafe { (api.primary_ctx_retain)(&mut context, device) }, "create a CUDA context")?;
        let dev = Self { driver, device, context, name, capability, multiprocessors, total_memory };
        dev.make_current()?;
        Ok(dev)
    }

    /// Binds this device's context to the calling thread (cheap; call before work).
    pub fn make_current(&self) -> Result<()> {
        self.driver.check(unsafe { (self.driver.api.ctx_set_current)(self.context) }, "bind the CUDA context")
    }

    pub fn synchronize(&self) -> Result<()> {
        self.driver.check(unsafe { (self.driver.api.ctx_synchronize)() }, "finish the GPU work")
    }

    /// (free, total) device memory in bytes.
    pub fn memory_info(&self) -> Result<(usize, usize)> {
        let (mut free, mut total) = (0, 0);
        self.driver
            .check(unsafe { (self.driver.api.mem_get_info)(&mut free, &mut total) }, "read free device memory")?;
        Ok((free, total))
    }

    pub fn alloc(self: &Arc<Self>, bytes: usize) -> Result<DeviceBuffer> {
        let mut ptr = 0;
        let code = unsafe { (self.driver.api.mem_alloc)(&mut ptr, bytes.max(4)) };
        if code != 0 {
            let free = self.memory_info().map(|(f, _)| f).unwrap_or(0);
            return Err(Error::Device(format!(
                "could not allocate {} MiB on {} ({} MiB free): {}",
                bytes >> 20,
                self.name,
                free >> 20,
                self.driver.error_name(code)
            )));
        }
        Ok(DeviceBuffer { device: Arc::clone(self), ptr, bytes })
    }

    pub fn load_module(self: &Arc<Self>, image: &[u8]) -> Result<Module> {
        // cuModuleLoadData reads a NUL-terminated PTX text or a cubin; copy so
        // both end in a zero byte.
        let mut owned = image.to_vec();
        owned.push(0);
        let mut module = std::ptr::null_mut();
        self.driver.check(
            unsafe { (self.driver.api.module_load_data)(&mut module, owned.as_ptr().cast()) },
            "load the GPU kernels",
        )?;
        Ok(Module { device: Arc::clone(self), module })
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        unsafe { (self.driver.api.primary_ctx_release)(self.device) };
    }
}

/// Device memory, freed on drop.
pub struct DeviceBuffer {
    device: Arc<Device>,
    pub ptr: CuDevicePtr,
    pub bytes: usize,
}

impl DeviceBuffer {
    /// Copies `data` to the start of the buffer.
    pub fn upload<T: Copy>(&self, data: &[T]) -> Result<()> {
        self.upload_at(0, data)
    }

    /// Whether `bytes` bytes at `offset` lie inside the buffer (an error if
    /// not), and whether there is anything to copy at all.
    fn span(&self, offset: usize, bytes: usize, what: &str) -> Result<bool> {
        if offset.checked_add(bytes).is_none_or(|end| end > self.bytes) {
            return Err(Error::Internal(format!(
                "{what} of {bytes} bytes at {offset} overruns a {}-byte buffer",
                self.bytes
            )));
        }
        Ok(bytes > 0)
    }

    /// Copies `data` to `offset` bytes into the buffer.
    pub fn upload_at<T: Copy>(&self, offset: usize, data: &[T]) -> Result<()> {
        let bytes = std::mem::size_of_val(data);
        if !self.span(offset, bytes, "upload")? {
            return Ok(());
        }
        let api = &self.device.driver.api;
        self.device.driver.check(
            unsafe { (api.memcpy_htod)(self.ptr + offset as u64, data.as_ptr().cast(), bytes) },
            "copy to the GPU",
        )
    }

    /// Copies `out.len()` elements from `offset` bytes into the buffer.
    pub fn download_at<T: Copy>(&self, offset: usize, out: &mut [T]) -> Result<()> {
        let bytes = std::mem::size_of_val(out);
        if !self.span(offset, bytes, "download")? {
            return Ok(());
        }
        let api = &self.device.driver.api;
        self.device.driver.check(
            unsafe { (api.memcpy_dtoh)(out.as_mut_ptr().cast(), self.ptr + offset as u64, bytes) },
            "copy from the GPU",
        )
    }

    /// Copies the first `bytes` bytes of `src` to the start of this buffer.
    pub fn copy_from(&self, src: &DeviceBuffer, bytes: usize) -> Result<()> {
        if !(self.span(0, bytes, "device copy")? && src.span(0, bytes, "device copy")?) {
            return Ok(());
        }
        let api = &self.device.driver.api;
        self.device.driver.check(unsafe { (api.memcpy_dtod)(self.ptr, src.ptr, bytes) }, "copy within the GPU")
    }

    /// Sets `count` 32-bit words from the start to `value`.
    pub fn fill_u32(&self, value: u32, count: usize) -> Result<()> {
        if count * 4 > self.bytes {
            return Err(Error::Internal("fill overruns its buffer".into()));
        }
        let api = &self.device.driver.api;
        self.device.driver.check(unsafe { (api.memset_d32)(self.ptr, value, count) }, "clear GPU memory")
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        unsafe { (self.device.driver.api.mem_free)(self.ptr) };
    }
}

/// A loaded module of kernels.
pub struct Module {
    device: Arc<Device>,
    module: CuModule,
}

unsafe impl Send for Module {}
unsafe impl Sync for Module {}

impl Module {
    pub fn function(&self, name: &str) -> Result<Kernel> {
        let cname = CString::new(name).map_err(|_| Error::Internal("kernel name with NUL".into()))?;
        let mut f = std::ptr::null_mut();
        self.device.driver.check(
            unsafe { (self.device.driver.api.module_get_function)(&mut f, self.module, cname.as_ptr()) },
            &format!("find kernel {name}"),
        )?;
        Ok(Kernel { device: Arc::clone(&self.device), function: f, name: name.to_string() })
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        unsafe { (self.device.driver.api.module_unload)(self.module) };
    }
}

/// A kernel argument: a device pointer or a 32-bit integer, passed by value.
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    Ptr(CuDevicePtr),
    U32(u32),
}

impl From<&DeviceBuffer> for Arg {
    fn from(b: &DeviceBuffer) -> Self {
        Arg::Ptr(b.ptr)
    }
}

impl From<u32> for Arg {
    fn from(v: u32) -> Self {
        Arg::U32(v)
    }
}

pub struct Kernel {
    device: Arc<Device>,
    function: CuFunction,
    pub name: String,
}

unsafe impl Send for Kernel {}
unsafe impl Sync for Kernel {}

impl Kernel {
    /// Launches over `threads` threads in blocks of `block` (a multiple of 32).
    pub fn launch(&self, threads: u64, block: u32, args: &[Arg]) -> Result<()> {
        if threads == 0 {
            return Ok(());
        }
        let grid = threads.div_ceil(block as u64);
        if grid > i32::MAX as u64 {
            return Err(Error::Device(format!("{}: {threads} threads exceed one launch", self.name)));
        }
        // The driver reads each argument through a pointer to its value.
        let mut values: Vec<u64> = args
            .iter()
            .map(|a| match *a {
                Arg::Ptr(p) => p,
                Arg::U32(v) => v as u64,
            })
            .collect();
        let mut pointers: Vec<*mut c_void> = values.iter_mut().map(|v| (v as *mut u64).cast()).collect();
        let api = &self.device.driver.api;
        let code = unsafe {
            (api.launch_kernel)(
                self.function,
                grid as c_uint,
                1,
                1,
                block,
                1,
                1,
                0,
                std::ptr::null_mut(),
                pointers.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        };
        self.device.driver.check(code, &format!("launch {}", self.name))
    }
}

/// Device buffers kept for reuse: an MSM makes a dozen allocations, and
/// `cuMemFree` waits for the whole device, so freeing them every call would
/// cost more than the small kernels they serve.
#[derive(Default)]
pub struct Pool {
    free: std::sync::Mutex<Vec<DeviceBuffer>>,
}

/// A buffer on loan from a [`Pool`], returned to it on drop.
pub struct Pooled<'a> {
    buffer: Option<DeviceBuffer>,
    pool: &'a Pool,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = DeviceBuffer;
    fn deref(&self) -> &DeviceBuffer {
        self.buffer.as_ref().expect("a pooled buffer is present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            self.pool.free.lock().unwrap_or_else(|e| e.into_inner()).push(b);
        }
    }
}

impl<'a> From<&Pooled<'a>> for Arg {
    fn from(b: &Pooled<'a>) -> Self {
        Arg::Ptr(b.ptr)
    }
}

impl Pool {
    /// A buffer of at least `bytes`: a free one no more than twice that size
    /// (plus 1 MiB), else a new one; on out-of-memory the pool is emptied and
    /// the allocation tried once more.
    pub fn take(&self, device: &Arc<Device>, bytes: usize) -> Result<Pooled<'_>> {
        let bytes = bytes.max(4);
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, b)| b.bytes >= bytes && b.bytes <= 2 * bytes + (1 << 20))
                .min_by_key(|(_, b)| b.bytes)
                .map(|(i, _)| i);
            best.map(|i| free.swap_remove(i))
        };
        let buffer = match reused {
            Some(b) => b,
            None => match device.alloc(bytes) {
                Ok(b) => b,
                Err(_) => {
                    self.clear();
                    device.alloc(bytes)?
                }
            },
        };
        Ok(Pooled { buffer: Some(buffer), pool: self })
    }

    /// Frees every buffer not on loan.
    pub fn clear(&self) {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
