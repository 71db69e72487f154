"""The CPU facts written next to timed figures: SIMD level, oneDNN cap, cores."""

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
