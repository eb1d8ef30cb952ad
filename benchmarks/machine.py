"""What a benchmark ran on, in words, for its printed numbers."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from maskscan.pipeline.loading import cpu_bfloat16_units, cpu_int8_units


def describe_device(device: torch.device) -> str:
    """The GPU's name, or the CPU's model name (from /proc/cpuinfo where there is one) and its
    vector extensions as torch sees them (e.g. AVX2, AVX512, with bfloat16 and int8 units noted)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    units = "".join(f", {unit}" for unit in dict.fromkeys((cpu_bfloat16_units(), cpu_int8_units())) if unit)
    return f"{model} ({torch.backends.cpu.get_cpu_capability()}{units}), {torch.get_num_threads()} torch threads"


def dtype_name(dtype: torch.dtype) -> str:
    """`float32`, `bfloat16`, ... as printed in the benchmarks' tables."""
    return str(dtype).removeprefix("torch.")
