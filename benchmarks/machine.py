"""The machine a benchmark ran on: CPU model and SIMD level, printed with every table."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["cpu_name", "simd_level", "machine_line"]


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_name() -> str:
    """The CPU model, from /proc/cpuinfo where there is one."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def simd_level() -> str:
    """The widest vector instructions the CPU has: AVX-512, AVX2, AVX, SSE4.2, or 'unknown' (from its flags)."""
    flags = next((line.split(":", 1)[1].split() for line in _cpuinfo().splitlines() if line.startswith("flags")), [])
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2")):
        if flag in flags:
            return name
    return "unknown"


def machine_line() -> str:
    """'CPU: <model>, <SIMD>, <n> cores visible' for the head of a benchmark table."""
    return f"CPU: {cpu_name()}, {simd_level()}, {len(os.sched_getaffinity(0))} cores visible"
