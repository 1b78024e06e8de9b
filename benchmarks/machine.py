"""The machine a benchmark ran on: CPU model and SIMD level, printed with every table.

``--isa avx2`` in the benchmark scripts (``isa_environment``) limits the code every compiler in the
run generates to AVX2 on a CPU that has AVX-512, so that AVX2 figures can be had where no AVX2-only
machine is: numba (``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES``: the host's CPU with its AVX-512
features off), numpy's dispatched loops (``NPY_DISABLE_CPU_FEATURES``) and XLA, for jqscore
(``XLA_FLAGS=--xla_cpu_max_isa=AVX2``).  The hardware is the same, so this measures the code an
AVX2 CPU would run, not that CPU's own speed.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["cpu_name", "simd_level", "simd_text", "machine_line", "isa_environment", "ISAS", "bench_inputs",
           "run_child", "publish", "best_time"]

#: What ``--isa`` accepts: the CPU's own instructions, or AVX2 at most.
ISAS = ("native", "avx2")


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


def machine_line(isa: str = "native") -> str:
    """'CPU: <model>, <SIMD>, <n> cores visible' for the head of a benchmark table.

    Parameters
    ----------
    isa : {'native', 'avx2'}
        As ``--isa``: with 'avx2' the line says that code generation was limited to AVX2.
    """
    return f"CPU: {cpu_name()}, {simd_text(isa)}, {len(os.sched_getaffinity(0))} cores visible"


def simd_text(isa: str = "native") -> str:
    """The SIMD level as a table states it: the CPU's, or 'AVX2 code on an <level> CPU' under ``--isa avx2``."""
    return simd_level() if isa == "native" else f"AVX2 code (--isa avx2) on an {simd_level()} CPU"


def isa_environment(isa: str) -> dict:
    """Environment variables that limit generated code to ``isa`` (see the module docstring).

    Parameters
    ----------
    isa : {'native', 'avx2'}

    Returns
    -------
    dict — empty for 'native'; for 'avx2' the numba, numpy and XLA settings, to be set before those
    libraries are imported (the benchmark scripts set them in their own environment, which the
    child processes inherit)
    """
    if isa not in ISAS:
        raise ValueError(f"isa={isa!r}: expected one of {', '.join(ISAS)}")
    if isa == "native":
        return {}
    import llvmlite.binding as llvm
    from numpy._core._multiarray_umath import __cpu_features__

    features = llvm.get_host_cpu_features()
    if not features.get("avx2"):
        raise ValueError("isa='avx2': this CPU has no AVX2")
    wide = ("avx512", "avx10", "amx", "evex512")
    flags = ",".join(("-" if name.startswith(wide) or not on else "+") + name for name, on in sorted(features.items()))
    numpy_off = " ".join(name for name, on in __cpu_features__.items() if on and ("512" in name or name == "X86_V4"))
    env = {"NUMBA_CPU_NAME": llvm.get_host_cpu_name(), "NUMBA_CPU_FEATURES": flags,
           "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_max_isa=AVX2").strip()}
    if numpy_off:
        env["NPY_DISABLE_CPU_FEATURES"] = numpy_off
    return env


def bench_inputs(label: str, out) -> dict:
    """Make (or reuse) the inputs of one size with ``make_inputs.py``, in a process of its own (a child's peak
    memory, ``ru_maxrss``, starts from its parent's on Linux, so the benchmark's own process must stay small),
    and return the size's entry of ``inputs.json`` (``model``, ``map``, ``atoms``, ``map_mb``, …).

    Parameters
    ----------
    label : str — a size of ``make_inputs.py`` ('100k', '400k', '1M', '3M')
    out : str or Path — the folder of the inputs
    """
    import json
    import subprocess
    import sys

    out = Path(out)
    subprocess.run([sys.executable, str(Path(__file__).resolve().parent / "make_inputs.py"), "--sizes", label,
                    "--out", str(out)], check=True, stdout=sys.stderr)
    return json.loads((out / "inputs.json").read_text())[label]


def run_child(script, *args, env: dict | None = None):
    """Run ``script --child ARGS…`` in a fresh Python process and return what its last line of output gives as
    JSON (each benchmark measures in a child of its own, so that its peak memory and caches are its own).

    Parameters
    ----------
    script : str or Path — the benchmark script (``__file__``)
    *args : its child's arguments
    env : dict, optional — the child's environment (``PYTHONPATH`` for another version, say)
    """
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(script), "--child", *map(str, args)], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(run.stdout.strip().splitlines()[-1])


def publish(lines, out, name: str) -> int:
    """Write a benchmark's Markdown table (its lines) to ``out/name`` and print it; returns 0, the exit code.

    Parameters
    ----------
    lines : list of str — headed by :func:`machine_line`
    out : Path — the output folder
    name : str — the file's name (``io.md``, …)
    """
    text = "\n".join(lines) + "\n"
    (Path(out) / name).write_text(text)
    print(text)
    return 0


def best_time(func, repeats: int, *, warm: bool = False) -> float:
    """The shortest of ``repeats`` timed calls of ``func`` (s); with ``warm``, one untimed call first (compiling or
    loading what it needs).

    Parameters
    ----------
    func : callable, no arguments
    repeats : int
    warm : bool
    """
    import time

    if warm:
        func()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return best
