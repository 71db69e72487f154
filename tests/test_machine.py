"""The CPU facts written next to timed figures: SIMD level, oneDNN cap, cores."""

import os
import platform

from aurore import machine

EPYC = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse4_2 avx fma avx2 avx512f avx512bw\n\n" \
       "processor\t: 1\nflags\t\t: fpu sse4_2 avx fma avx2 avx512f avx512bw\n"
LAPTOP = "processor\t: 0\nflags\t\t: fpu sse4_2 avx fma avx2\n"
OLD = "processor\t: 0\nflags\t\t: fpu sse4_2\n"


def test_the_strongest_simd_level_is_named():
    assert machine.simd_level(machine.cpu_flags(EPYC)) == "AVX-512+FMA"
    assert machine.simd_level(machine.cpu_flags(LAPTOP)) == "AVX2+FMA"
    assert machine.simd_level(machine.cpu_flags(OLD)) == "SSE4.2"
    assert machine.simd_level(machine.cpu_flags("")) == "unknown"


def test_the_onednn_cap_is_reported_when_set():
    capped = machine.describe(EPYC, {"ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert capped["simd"] == "AVX-512+FMA" and capped["onednn_max_cpu_isa"] == "AVX2"
    assert machine.summary(capped).startswith("AVX-512+FMA CPU, oneDNN capped at AVX2, ")
    plain = machine.describe(LAPTOP, {})
    assert plain["onednn_max_cpu_isa"] is None and "capped" not in machine.summary(plain)
    assert plain["threads"] == {"intra_op": plain["cores"], "inter_op": plain["cores"]}
    assert machine.describe(LAPTOP, {"TF_NUM_INTEROP_THREADS": "1"})["threads"]["inter_op"] == 1
    assert machine.summary(dict(plain, cores=1)).endswith(", 1 core")
    assert machine.summary(dict(plain, cores=2)).endswith(", 2 cores")


def test_xla_is_told_its_isa_following_the_onednn_cap():
    assert machine.xla_flags_naming_the_isa({}, "x86_64") == "--xla_cpu_max_isa=AVX512"
    assert machine.xla_flags_naming_the_isa({"ONEDNN_MAX_CPU_ISA": "AVX2"}, "x86_64") == "--xla_cpu_max_isa=AVX2"
    assert machine.xla_flags_naming_the_isa({"ONEDNN_MAX_CPU_ISA": "avx2_vnni"}, "x86_64") == "--xla_cpu_max_isa=AVX2"
    assert machine.xla_flags_naming_the_isa({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, "x86_64") == "--xla_cpu_max_isa=AVX512"
    assert machine.xla_flags_naming_the_isa({"ONEDNN_MAX_CPU_ISA": "SSE41"}, "x86_64") == "--xla_cpu_max_isa=SSE4_2"
    # Other XLA flags are kept; an ISA the user named is never replaced; other architectures are left alone.
    assert machine.xla_flags_naming_the_isa({"XLA_FLAGS": "--xla_dump_to=/tmp/x"}, "x86_64") == \
        "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX512"
    assert machine.xla_flags_naming_the_isa({"XLA_FLAGS": "--xla_cpu_max_isa=AVX"}, "x86_64") is None
    assert machine.xla_flags_naming_the_isa({}, "aarch64") is None


def test_an_xla_cap_below_the_default_is_reported():
    capped = machine.describe(EPYC, {"ONEDNN_MAX_CPU_ISA": "AVX2", "XLA_FLAGS": "--xla_cpu_max_isa=avx2"})
    assert capped["xla_max_isa"] == "AVX2" and "oneDNN capped at AVX2, XLA capped at AVX2" in machine.summary(capped)
    default = machine.describe(EPYC, {"XLA_FLAGS": "--xla_cpu_max_isa=AVX512"})
    assert default["xla_max_isa"] == "AVX512" and "XLA" not in machine.summary(default)


def test_importing_aurore_names_the_isa_for_xla_before_tensorflow_starts():
    import subprocess
    import sys
    code = "import os, aurore; print(os.environ.get('XLA_FLAGS'))"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    printed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    expected = "--xla_cpu_max_isa=AVX2" if platform.machine().lower() in ("x86_64", "amd64") else "None"
    assert printed.strip() == expected


def test_the_cpu_name_comes_from_cpuinfo_without_trademark_signs():
    cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)  Gold 6338 CPU\nflags\t\t: avx2\n"
    assert machine.cpu_name(cpuinfo) == "Intel Xeon Gold 6338 CPU"
    assert machine.cpu_name("") and "(R)" not in machine.cpu_name("")


def amd_cpuinfo(family: int, model: int, name: str = "AMD EPYC") -> str:
    block = f"processor\t: {{}}\nvendor_id\t: AuthenticAMD\ncpu family\t: {family}\nmodel\t\t: {model}\nmodel name\t: {name}\n"
    return block.format(0) + "\n" + block.format(1).replace(f"cpu family\t: {family}", "cpu family\t: 99")


def test_an_amd_cpu_is_named_with_its_core_generation():
    """A VM's bare "AMD EPYC" hides a 2x difference in speed: the family and model numbers tell which Zen."""
    assert machine.cpu_name(amd_cpuinfo(25, 1)) == "AMD EPYC (Zen 3)"            # Milan: this project's laptop class
    assert machine.cpu_name(amd_cpuinfo(25, 0x11)) == "AMD EPYC (Zen 4)"         # Genoa
    assert machine.cpu_name(amd_cpuinfo(25, 0x50, "AMD Ryzen 7 5800U")) == "AMD Ryzen 7 5800U (Zen 3)"
    assert machine.cpu_name(amd_cpuinfo(26, 2)) == "AMD EPYC (Zen 5)"
    assert machine.cpu_name(amd_cpuinfo(23, 0x31)) == "AMD EPYC (Zen 2)"
    assert machine.cpu_name(amd_cpuinfo(21, 2)) == "AMD EPYC"                     # older than Zen: no word for it
    intel = "vendor_id\t: GenuineIntel\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: Intel Xeon\n"
    assert machine.cpu_name(intel) == "Intel Xeon"
