"""`mcuforge demo`: the whole pipeline on a small CNN trained on scikit-learn's digits (8x8 images).

    examples/digits/digits_cnn.onnx  (trained by examples/digits/train_digits.py, shipped)
      -> compile int8 for rv32-zfh, calibrated on (a subset of) the training split
      -> run the test split under QEMU through the generated C library
      -> accuracy of the C library next to onnxruntime's: FP32 on the original model, int8 on quantized.onnx

The data split lives here (`digits_split`) and the training script imports it, so the demo tests on
exactly the images the model never saw in training.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mcuforge.core.paths import DATA_ROOT, EXAMPLES

DIGITS_DIR = EXAMPLES / "digits"
DIGITS_MODEL = DIGITS_DIR / "digits_cnn.onnx"
DEMO_TARGET = "rv32-zfh"
TEST_FRACTION = 0.2
CALIB_SAMPLES = 256  # enough for stable min/max ranges, and keeps calibration quick
CALIB_SEED = 0


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) of sklearn's digits: images [N, 1, 8, 8] float32 scaled to
    [0, 1] (pixel / 16), labels int64. The test split is the last 20% in the data set's own order
    (no shuffle: no seed to keep in sync, and the writers of the test digits differ from the training ones)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    n_test = int(round(len(x) * TEST_FRACTION))
    return x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:]


def measure_flash(build_dir: Path) -> int | None:
    """Flash bytes the compiled library adds to a bare-metal program on its target: code and constants,
    as linked (`--gc-sections` keeps what `<name>_init` / `<name>_run` reach), measured as the
    difference of text + data between a program that runs the model and an empty one. None on the
    host (no bare-metal image to measure)."""
    import subprocess
    import tempfile

    from mcuforge.run import harness
    from mcuforge.run.runner import c_sources, read_meta
    from mcuforge.core.targets import get_target

    meta = read_meta(build_dir)
    target = get_target(meta["target"])
    if not target.emulated:
        return None
    name, up = meta["name"], meta["name"].upper()
    ins = [f"in{i}" for i in range(len(meta["inputs"]))]
    outs = [f"out{i}" for i in range(len(meta["outputs"]))]
    decls = [f"static float {v}[{up}_INPUT{i}_SIZE];" for i, v in enumerate(ins)]
    decls += [f"static float {v}[{up}_OUTPUT{i}_SIZE];" for i, v in enumerate(outs)]
    use = "\n".join([
        f'#include "{name}.h"',
        f"static uint8_t arena[{up}_ARENA_BYTES] __attribute__((aligned(16)));",
        *decls,
        "int main(void)",
        "{",
        f"    {name}_ctx_t ctx;",
        f"    if ({name}_init(&ctx, arena, sizeof arena) != 0) return 1;",
        f"    return {name}_run(&ctx, {', '.join(ins + outs)});",
        "}",
        ""])
    srcs, incs = c_sources(Path(build_dir) / "c", name)
    with tempfile.TemporaryDirectory(prefix="mcuf-flash-") as td:
        (Path(td) / "use.c").write_text(use)
        (Path(td) / "empty.c").write_text("int main(void) { return 0; }\n")
        with_model = harness.build(target, [Path(td) / "use.c", *srcs], incs, with_io=False)
        empty = harness.build(target, [Path(td) / "empty.c"], with_io=False)

    def text_data(elf: Path) -> int:
        # Berkeley format: text (code + read-only data) data bss dec hex filename
        out = subprocess.run(["riscv64-unknown-elf-size", str(elf)], capture_output=True, text=True, check=True)
        text, data = out.stdout.splitlines()[1].split()[:2]
        return int(text) + int(data)

    return text_data(with_model.path) - text_data(empty.path)


def _ort_predict(model: Path, x: np.ndarray) -> np.ndarray:
    """Class predictions from onnxruntime, one sample at a time (the models have batch 1)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.array([int(np.argmax(sess.run(None, {name: xi[None]})[0])) for xi in x])


def run_demo(out_dir: Path, quiet: bool = False) -> dict:
    """Compile the digits CNN int8 for rv32-zfh into `out_dir`, run the test split under QEMU and
    compare accuracies; prints a summary unless `quiet`, returns the figures.

    Keys: target, n_test, n_calib, accuracy_c, accuracy_ort_fp32, accuracy_ort_int8, agree_c_int8 (fraction
    of test images where the C library and onnxruntime on quantized.onnx predict the same class),
    arena_bytes, arena_lower_bound, flash_bytes (constants), flash_linked_bytes (code + constants as linked),
    macs, instructions_per_inference, seconds, out_dir."""
    from mcuforge.compile import CompileConfig, compile_model
    from mcuforge.run.runner import run_folder

    t0 = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x_train, _, x_test, y_test = digits_split()
    rng = np.random.default_rng(CALIB_SEED)
    calib_x = x_train[np.sort(rng.choice(len(x_train), size=min(CALIB_SAMPLES, len(x_train)), replace=False))]
    calib = out_dir / "calib.npz"
    np.savez(calib, input=calib_x)
    build = out_dir / "digits_int8"

    def say(msg: str) -> None:
        if not quiet:
            print(msg, flush=True)

    say(f"mcuforge demo: {DIGITS_MODEL.relative_to(DATA_ROOT)} (a CNN trained on scikit-learn's digits, "
        f"8x8 images), {len(x_train)} training / {len(x_test)} test images")
    say(f"compiling int8 for {DEMO_TARGET}, calibrated on {len(calib_x)} training images ...")
    res = compile_model(CompileConfig(model=DIGITS_MODEL, out=build, target=DEMO_TARGET, calib=calib,
                                      precision="int8", name="digits", measure=False, quiet=quiet,
                                      command_line="mcuforge demo"))
    say(f"running the {len(x_test)} test images under QEMU ({DEMO_TARGET}) ...")
    outputs, stats = run_folder(build, [{"input": xi[None]} for xi in x_test], quiet=quiet)
    logits = next(iter(outputs.values()))
    pred_c = logits.reshape(len(x_test), -1).argmax(-1)
    pred_fp32 = _ort_predict(DIGITS_MODEL, x_test)
    pred_int8 = _ort_predict(build / "quantized.onnx", x_test)
    linked = measure_flash(build)

    result = {
        "target": DEMO_TARGET,
        "n_test": int(len(x_test)),
        "n_calib": int(len(calib_x)),
        "accuracy_c": float(np.mean(pred_c == y_test)),
        "accuracy_ort_fp32": float(np.mean(pred_fp32 == y_test)),
        "accuracy_ort_int8": float(np.mean(pred_int8 == y_test)),
        "agree_c_int8": float(np.mean(pred_c == pred_int8)),
        "arena_bytes": int(stats.arena_bytes),
        "arena_lower_bound": int(res.arena_lower_bound),
        "flash_bytes": int(stats.flash_bytes),
        "flash_linked_bytes": linked,
        "macs": int(res.macs),
        "instructions_per_inference": stats.cost_per_inference,
        "seconds": time.monotonic() - t0,
        "out_dir": str(build),
    }
    n = result["n_test"]
    ipi = result["instructions_per_inference"]
    say("")
    say(f"accuracy on the {n} test images")
    say(f"  {'onnxruntime, FP32 (original model)':<42} {result['accuracy_ort_fp32']:>8.2%}")
    say(f"  {'onnxruntime, int8 (quantized.onnx)':<42} {result['accuracy_ort_int8']:>8.2%}")
    say(f"  {'C library, int8, under QEMU ' + DEMO_TARGET:<42} {result['accuracy_c']:>8.2%}")
    say(f"  C and quantized.onnx predict the same class on {round(result['agree_c_int8'] * n)}/{n} images")
    say(f"arena (RAM)      {result['arena_bytes']:>9,} bytes (lower bound {result['arena_lower_bound']:,})")
    say(f"flash            {result['flash_bytes']:>9,} bytes of constants (weights, biases, requantization)")
    if linked is not None:
        say(f"                 {linked:>9,} bytes as linked for {DEMO_TARGET}: constants + code of the library")
    if ipi is not None:
        say(f"per inference    {ipi:>9,.0f} instructions, {result['macs']:,} MACs "
            f"({result['macs'] / ipi:.3f} MAC/instruction)")
    say(f"C library in {build / 'c'}; took {result['seconds']:.0f} s")
    return result
