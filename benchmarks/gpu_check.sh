#!/usr/bin/env bash
# The CUDA check, prepared to fit a 15-minute loan of a GPU machine (the `device` tool).
# It installs nothing: run it where maskscan is installed (PYTHON, default .venv/bin/python,
# else python3) with ../shared/data beside the repository. It runs the CUDA-marked tests, the
# throughput benchmark on the 1080p clip at --sample-fps 0 and 5, and the many-files benchmark
# with --decoders 1, 4 and 8 at both rates, then prints one table; raw results go to $OUT
# (default ./gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
OUT=${OUT:-gpu-check}
CLIP=${CLIP:-../shared/data/videos/facenet-pytorch_examples_video.mp4}
mkdir -p "$OUT"
export MASKSCAN_SETTLE=0

"$PYTHON" - <<'PY' || { echo "gpu_check: no usable CUDA device for $PYTHON" >&2; exit 2; }
import torch
assert torch.cuda.is_available()
print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
PY

timeout 300 "$PYTHON" -m pytest -m cuda -q -rs -s -p no:cacheprovider tests/pipeline/test_cuda.py \
    tests/pipeline/test_small_faces.py \
    2>&1 | tee "$OUT/cuda-tests.txt"
for fps in 0 5; do
    timeout 180 "$PYTHON" benchmarks/throughput.py "$CLIP" --device cuda --sample-fps "$fps" --modes decode,full \
        --repeats 1 --json > "$OUT/throughput-$fps.json" || echo "throughput at --sample-fps $fps failed" >&2
    timeout 240 "$PYTHON" benchmarks/many_files.py --source "$CLIP" --seconds 2 --files 16 --decoders 1 4 8 \
        --sample-fps "$fps" --device cuda --keep "$OUT/segments" --json > "$OUT/many-files-$fps.json" \
        || echo "many files at --sample-fps $fps failed" >&2
done

"$PYTHON" - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print(f"{'benchmark':<34} {'--sample-fps':>12} {'frames/s':>9} {'files/min':>9}")
for fps in (0, 5):
    try:
        run = json.loads((out / f"throughput-{fps}.json").read_text())
        for mode, row in run["modes"].items():
            print(f"{'throughput ' + mode:<34} {fps:>12} {row['fps']:>9.1f} {'':>9}")
    except (OSError, ValueError, KeyError) as exc:
        print(f"throughput at {fps}: no result ({exc})")
    try:
        for row in json.loads((out / f"many-files-{fps}.json").read_text()):
            print(f"{'16 files, --decoders ' + str(row['decoders']):<34} {fps:>12} {row['frames_per_s']:>9.1f} "
                  f"{row['files_per_min']:>9.1f}")
    except (OSError, ValueError, KeyError) as exc:
        print(f"many files at {fps}: no result ({exc})")
PY
grep -E "peak GPU memory|passed|failed|skipped" "$OUT/cuda-tests.txt" | tail -3
