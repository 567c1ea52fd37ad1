"""Accuracy of the digits CNN with quantized weights and float activations, per weight quantizer.

    .venv/bin/python benchmarks/bench_quantizers.py [--calib 256] [--bits 8 4 2] [--no-sequential]

examples/digits/digits_cnn.onnx (the demo's model) with every weight layer's weights replaced by their
quantized-dequantized values (mcuforge.quantize.layerwise.fake_quantize), evaluated with onnxruntime
on the float model: the weight quantizer alone, activations in float32 (the int8-activation accuracy
comes with the sub-byte integration). Calibration: `--calib` images of the training split (seed 0, as
the demo), test: the held-out split of mcuforge.demo.digits_split. Methods: rtn, mse (clipping
search), gptq and quantease (max|w| scales), and gptq / quantease with MSE-searched scales ("+mse");
granularities: per output channel, per input channel, group-wise (16 columns), AdaDim (per layer, oc
or ic by the lower layer objective; its choice is printed per layer). With the default sequential
statistics each layer's Gram matrix comes from the model whose earlier layers are already quantized.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort

from mcuforge.core.paths import EXAMPLES
from mcuforge.demo import CALIB_SEED, digits_split
from mcuforge.frontend.pipeline import load_model
from mcuforge.frontend.to_onnx import to_onnx
from mcuforge.quantize.layerwise import fake_quantize, quantize_weights

METHODS = [("rtn", "absmax"), ("mse", "absmax"), ("gptq", "absmax"), ("quantease", "absmax"),
           ("gptq", "mse"), ("quantease", "mse")]
GRANULARITIES = [("oc", None), ("ic", None), ("group", 16), ("adadim", None)]
SHORT = {"oc": "oc", "ic": "ic", "group": "g16", "adadim": "adadim"}


def accuracy(graph, x: np.ndarray, y: np.ndarray) -> float:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(), opts, providers=["CPUExecutionProvider"])
    name = graph.inputs[0].name
    pred = np.array([int(np.argmax(sess.run(None, {name: xi[None]})[0])) for xi in x])
    return float(np.mean(pred == y))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calib", type=int, default=256, help="calibration images from the training split")
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 4, 2])
    ap.add_argument("--no-sequential", action="store_true",
                    help="all layer statistics from the float model instead of the partly quantized one")
    args = ap.parse_args()

    graph = load_model(EXAMPLES / "digits" / "digits_cnn.onnx")
    x_train, _, x_test, y_test = digits_split()
    rng = np.random.default_rng(CALIB_SEED)
    idx = np.sort(rng.choice(len(x_train), size=min(args.calib, len(x_train)), replace=False))
    samples = [{graph.inputs[0].name: xi[None]} for xi in x_train[idx]]
    sequential = not args.no_sequential

    print(f"digits CNN, weights fake-quantized, float activations; {len(samples)} calibration images, "
          f"{len(x_test)} test images; statistics {'sequential' if sequential else 'from the float model'}")
    print(f"FP32 accuracy: {100 * accuracy(graph, x_test, y_test):.1f}%\n")
    header = f"{'bits':>4}  {'method':<14}" + "".join(f"{SHORT[g]:>9}" for g, _ in GRANULARITIES)
    print(header)
    print("-" * len(header))
    choices: dict[tuple[int, str], str] = {}
    t_total = time.monotonic()
    for bits in args.bits:
        for method, search in METHODS:
            label = method if search == "absmax" else f"{method}+mse"
            cells = []
            for gran, gs in GRANULARITIES:
                res = quantize_weights(graph, bits, method=method, granularity=gran, group_size=gs, samples=samples,
                                       sequential=sequential, scale_search=search)
                cells.append(f"{100 * accuracy(fake_quantize(graph, res), x_test, y_test):8.1f}%")
                if gran == "adadim":
                    choices[(bits, label)] = "/".join(r.granularity for r in res.values())
            print(f"{bits:>4}  {label:<14}" + " ".join(cells))
        print()
    layers = [n.name for n in graph.nodes if n.op in ("Conv", "Gemm")]
    print(f"AdaDim's choice per layer ({', '.join(layers)}):")
    for (bits, label), c in choices.items():
        print(f"  W{bits} {label:<14} {c}")
    print(f"\n{time.monotonic() - t_total:.0f} s")


if __name__ == "__main__":
    main()
