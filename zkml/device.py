"""Where the GPU backend finds NVRTC, and which device a prove would use.

The native extension opens the CUDA driver and NVRTC at run time, so zkml
installs and runs without CUDA. NVRTC usually comes from the
``nvidia-cuda-nvrtc`` wheel (``pip install zkml[cuda]``), which puts
``libnvrtc.so.13`` under ``site-packages/nvidia/cu13/lib``; this module tells
the extension about those folders.
"""

from __future__ import annotations

import site
import sys
from pathlib import Path

from zkml import _native

_configured = False


def nvrtc_dirs() -> list[Path]:
    """Library folders of the nvidia-cuda-nvrtc wheel on this interpreter's path."""
    roots = [Path(p) for p in sys.path if p] + [Path(p) for p in site.getsitepackages()]
    dirs: list[Path] = []
    for root in roots:
        for sub in ("nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib"):
            d = root / sub
            if d.is_dir() and d not in dirs:
                dirs.append(d)
    return dirs


def configure() -> None:
    """Pass the NVRTC folders to the extension (once)."""
    global _configured
    if not _configured:
        _native.set_nvrtc_search_dirs([str(d) for d in nvrtc_dirs()])
        _configured = True


def describe(device: str = "auto") -> str:
    """What `device` resolves to here, e.g. "cuda (NVIDIA H100 80GB HBM3, sm_90, 79 GiB)"
    or "cpu (no usable GPU: no CUDA driver found ...)". Raises DeviceError for
    "cuda" without a usable GPU."""
    configure()
    return str(_native.describe_device(device))
