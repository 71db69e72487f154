"""What this CPU can do, written next to every timed figure.

A figure from an AVX-512 server and one from an AVX2 laptop differ by a
factor of two or three for the same settings: benchmarks and the
hyper-parameter search record the SIMD level (from /proc/cpuinfo), the cap
oneDNN was given (`ONEDNN_MAX_CPU_ISA`, which makes an AVX-512 machine
behave like an AVX2 laptop) and the cores this process may use, so figures
are never compared blindly.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

#: Strongest first: (name shown, /proc/cpuinfo flag that proves it).
SIMD_LEVELS = (("AVX-512", "avx512f"), ("AVX2", "avx2"), ("AVX", "avx"), ("SSE4.2", "sse4_2"))


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The flags of the first processor in /proc/cpuinfo (empty where there is none)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.exists() else ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cpu_name(cpuinfo: str | None = None) -> str:
    """The first processor's model name in /proc/cpuinfo ("AMD EPYC 9R45"…), or the platform's word for it.

    An AMD chip gets its core generation too ("AMD EPYC (Zen 3)"): a cloud VM often names only
    "AMD EPYC", and a Zen 3 and a Zen 5 of that name train at twice and half each other's speed.
    """
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.exists() else ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if not line.strip() and fields:
            break                                        # the first processor's block is enough
        fields.setdefault(key.strip(), value.strip())
    name = next((fields[key] for key in ("model name", "Model", "Hardware") if fields.get(key)), "")
    if not name:
        return platform.processor() or platform.machine() or "unknown CPU"
    name = " ".join(name.replace("(R)", "").replace("(TM)", "").split())
    generation = amd_generation(fields.get("vendor_id", ""), fields.get("cpu family", ""), fields.get("model", ""))
    return f"{name} ({generation})" if generation and generation not in name else name


def amd_generation(vendor: str, family: str, model: str) -> str | None:
    """"Zen 3"… from an AMD processor's family and model numbers (AMD's published ranges), None otherwise."""
    if vendor != "AuthenticAMD" or not (family.isdigit() and model.isdigit()):
        return None
    family_number, model_number = int(family), int(model)
    if family_number == 0x17:
        return "Zen" if model_number < 0x30 else "Zen 2"
    if family_number == 0x19:
        zen4 = 0x10 <= model_number <= 0x1F or 0x60 <= model_number <= 0x7F or 0xA0 <= model_number <= 0xAF
        return "Zen 4" if zen4 else "Zen 3"
    if family_number == 0x1A:
        return "Zen 5"
    return None


def simd_level(flags: set[str]) -> str:
    """"AVX-512", "AVX2"…, with "+FMA" when fused multiply-add is there too; "unknown" without flags."""
    for name, flag in SIMD_LEVELS:
        if flag in flags:
            return name + ("+FMA" if "fma" in flags else "")
    return "unknown"


#: A pattern of oneDNN caps (`ONEDNN_MAX_CPU_ISA`) and the XLA:CPU ISA that matches them;
#: any other cap (AVX512_CORE…, AVX10…) or none: AVX512.
XLA_ISA_FOR_ONEDNN = ((r"AVX2", "AVX2"), (r"AVX$", "AVX"), (r"SSE", "SSE4_2"))


def xla_max_isa(environ: dict[str, str] | None = None) -> str | None:
    """The ISA XLA:CPU may generate code for, as named in XLA_FLAGS (None: XLA's own default)."""
    environ = os.environ if environ is None else environ
    found = re.search(r"--xla_cpu_max_isa=(\S+)", environ.get("XLA_FLAGS", ""))
    return found.group(1).upper() if found else None


def xla_flags_naming_the_isa(environ: dict[str, str], arch: str | None = None) -> str | None:
    """XLA_FLAGS with XLA:CPU's ISA named, or None where they are to stay as they are.

    Why: left to itself, XLA:CPU in TensorFlow 2.21 generated code half as fast
    on the sandbox's Zen 5 (2,499 against 4,624–4,776 tokens/s, docs/benchmarks.md);
    naming an ISA makes it use the host's own features up to that ISA (never
    more than the CPU has). It follows `ONEDNN_MAX_CPU_ISA`, so that the one
    variable makes an AVX-512 machine train like an AVX2 laptop, XLA included.
    x86-64 only; a value the user gave is kept.
    """
    arch = platform.machine() if arch is None else arch
    if arch.lower() not in ("x86_64", "amd64") or xla_max_isa(environ):
        return None
    onednn = (environ.get("ONEDNN_MAX_CPU_ISA") or "").upper()
    isa = next((xla for pattern, xla in XLA_ISA_FOR_ONEDNN if re.match(pattern, onednn)), "AVX512")
    return f"{environ.get('XLA_FLAGS', '')} --xla_cpu_max_isa={isa}".strip()


def describe(cpuinfo: str | None = None, environ: dict[str, str] | None = None) -> dict:
    """The machine facts a timed figure needs, as plain data."""
    environ = os.environ if environ is None else environ
    flags = cpu_flags(cpuinfo)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    # TensorFlow sizes both thread pools to the cores this process may use, unless told otherwise.
    return {"simd": simd_level(flags),
            "onednn_max_cpu_isa": environ.get("ONEDNN_MAX_CPU_ISA") or None,
            "xla_max_isa": xla_max_isa(environ),
            "cores": cores,
            "threads": {"intra_op": int(environ.get("TF_NUM_INTRAOP_THREADS") or cores),
                        "inter_op": int(environ.get("TF_NUM_INTEROP_THREADS") or cores)}}


def summary(facts: dict) -> str:
    """One line, e.g. "AVX-512+FMA CPU, oneDNN capped at AVX2, 2 cores"."""
    text = f"{facts['simd']} CPU"
    if facts.get("onednn_max_cpu_isa"):
        text += f", oneDNN capped at {facts['onednn_max_cpu_isa']}"
    if facts.get("xla_max_isa") not in (None, "AVX512"):  # AVX512: Aurore's default, the host's own features
        text += f", XLA capped at {facts['xla_max_isa']}"
    return text + f", {facts['cores']} {'core' if facts['cores'] == 1 else 'cores'}"
