"""Build the small PyTorch models of tests/models/ with seeded random weights and export them to ONNX.

    .venv/bin/pip install torch==2.13.0        # only to rerun this script; CI and the tests never need torch
    .venv/bin/python scripts/export_test_models.py [--out tests/models]

Writes, for every model NAME below, `NAME.onnx` (FP32, batch 1) and `NAME.input.npz` (one array named
as the ONNX input, [N, *input_shape], seeded standard normal samples), and refreshes
tests/models/README.md's table of what was written. The output is deterministic for a given torch
version: every weight and every BatchNorm statistic comes from a seeded generator.

BatchNorm layers are in eval mode with non-trivial running statistics (mean, variance, gamma, beta
all drawn at random), and the exporters are told not to fold them, so the ONNX files really contain
BatchNormalization nodes and mcuforge's own folding is what the tests exercise.

Two exporters are used on purpose, because users bring both:
- `torch.onnx.export(..., dynamo=True, optimize=False)`: the default (torch.export based) exporter;
  without its optimizer it keeps BatchNormalization and writes Flatten as Constant/Concat/Reshape,
  so constant folding is exercised too.
- `torch.onnx.export(..., dynamo=False, do_constant_folding=False)`: the TorchScript exporter, which
  writes Identity nodes, Flatten, and a literal GlobalAveragePool for AdaptiveAvgPool2d(1) (the default
  exporter writes ReduceMean over H, W there).
"""
from __future__ import annotations

import argparse
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
SEED = 20261125


def conv_bn_relu(cin: int, cout: int, k: int | tuple[int, int] = 3, stride: int = 1,
                 padding: int | tuple[int, int] = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    """Conv (with bias, as PyTorch users often leave it) + BatchNorm (+ ReLU)."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups),
                               nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MnistCnn(nn.Module):
    """(a) The onnx2c peer model of issue 4: conv 8 + pool, conv 16 + pool, linear 10 on 1x28x28
    (3x3 'same' convs: 56,448 + 225,792 + 7,840 = 290,080 MACs)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(conv_bn_relu(1, 8), nn.MaxPool2d(2), conv_bn_relu(8, 16), nn.MaxPool2d(2))
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    """Conv-BN-ReLU-Conv-BN + skip Add, ReLU; a strided block takes a 1x1 conv shortcut (ResNet-8 style)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn_relu(cin, cout, stride=stride), conv_bn_relu(cout, cout, relu=False))
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout
                         else nn.Conv2d(cin, cout, 1, stride=stride))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResBlockNet(nn.Module):
    """(b) A stem conv, one residual block, GlobalAveragePool head (1x3x16x16 -> 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 8)
        self.block = BasicBlock(8, 8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.block(self.stem(x))), 1))


class DsBlock(nn.Module):
    """Depthwise 3x3 conv (groups = C) + BN + ReLU, then pointwise 1x1 conv + BN + ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.dw = conv_bn_relu(cin, cin, 3, stride=stride, padding=1, groups=cin)
        self.pw = conv_bn_relu(cin, cout, 1, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class DsNet(nn.Module):
    """(c) A stem conv, two depthwise-separable blocks (the second strided), average-pool head
    (1x3x16x16 -> 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 16)
        self.blocks = nn.Sequential(DsBlock(16, 32), DsBlock(32, 32, stride=2))
        self.pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


class ResNet8(nn.Module):
    """(d) MLPerf Tiny image classification's ResNet-8 shape: 3x32x32, a 16-channel stem, three
    residual stacks of 16/32/64 channels (the last two strided, 1x1 conv shortcuts), 8x8 average pool,
    dense 10. The reference ends in Softmax; we keep the logits. 'same' padding of the strided convs is
    symmetric here (the Keras model pads bottom/right only); shapes and MACs are the same."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 16)
        self.stacks = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.stacks(self.stem(x))), 1))


class DsCnn(nn.Module):
    """(d) MLPerf Tiny keyword spotting's DS-CNN shape: 1x49x10 MFCCs, a 10x4 stride-2 conv to 64
    channels, four depthwise-separable blocks of 64, dropout, 25x5 average pool, dense 12.
    The conv pads 5/1 symmetrically where Keras pads 4+5 / 1+1; the output is 25x5 either way."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(1, 64, (10, 4), stride=2, padding=(5, 1))
        self.drop1 = nn.Dropout(0.2)
        self.blocks = nn.Sequential(*[DsBlock(64, 64) for _ in range(4)])
        self.drop2 = nn.Dropout(0.4)
        self.pool = nn.AvgPool2d((25, 5))
        self.fc = nn.Linear(64, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop2(self.blocks(self.drop1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


@dataclass(frozen=True)
class Spec:
    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    exporter: str  # "dynamo" or "torchscript"
    what: str
    n_samples: int = 4


MODELS: tuple[Spec, ...] = (
    Spec("mnist_cnn", MnistCnn, (1, 1, 28, 28), "dynamo",
         "(a) Conv+BN+ReLU+MaxPool x2 (8, 16 ch), Linear 10; the onnx2c peer model (290k MACs)"),
    Spec("resblock", ResBlockNet, (1, 3, 16, 16), "torchscript",
         "(b) stem Conv-BN-ReLU, residual block Conv-BN-ReLU-Conv-BN + skip Add, ReLU; GlobalAveragePool, Linear"),
    Spec("dsblock", DsNet, (1, 3, 16, 16), "dynamo",
         "(c) stem conv, 2 depthwise-separable blocks (dw group=C + BN + ReLU, pw + BN + ReLU), AveragePool, Linear"),
    Spec("resnet8", ResNet8, (1, 3, 32, 32), "dynamo",
         "(d) MLPerf Tiny IC ResNet-8 shape, 3x32x32, 16/32/64 ch, logits (no Softmax)", 2),
    Spec("dscnn", DsCnn, (1, 1, 49, 10), "dynamo",
         "(d) MLPerf Tiny KWS DS-CNN shape, 1x49x10, 64 ch, 4 DS blocks, 12 logits (no Softmax)", 2),
)


def randomize_batchnorm(model: nn.Module, gen: torch.Generator) -> None:
    """Give every BatchNorm non-trivial statistics and affine parameters, so folding them matters."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)


def strip_metadata(m: onnx.ModelProto) -> onnx.ModelProto:
    """Drop the exporter's per-node metadata (stack traces with local paths, FX node dumps): it
    doubles the file size and would make the files depend on where the script ran."""
    for n in m.graph.node:
        del n.metadata_props[:]
        n.doc_string = ""
    for v in (*m.graph.value_info, *m.graph.input, *m.graph.output, *m.graph.initializer):
        del v.metadata_props[:]
    del m.graph.metadata_props[:]
    del m.metadata_props[:]
    return m


def export(spec: Spec, out_dir: Path) -> tuple[Path, Path]:
    """Build `spec` with seeded weights, export NAME.onnx and NAME.input.npz; returns both paths."""
    # One seed per model derived from its name: adding a model does not change the others.
    seed = SEED + int(hashlib.sha256(spec.name.encode()).hexdigest()[:6], 16)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = spec.build()
    randomize_batchnorm(model, gen)
    model.eval()
    x = torch.randn(*spec.input_shape, generator=gen)
    path = out_dir / f"{spec.name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec.exporter == "dynamo":
            torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["y"],
                              dynamo=True, optimize=False, verbose=False)
        else:
            torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["y"],
                              dynamo=False, do_constant_folding=False, opset_version=17)
    m = strip_metadata(onnx.load(str(path)))
    for extra in path.parent.glob(path.name + ".data"):  # the dynamo exporter's external weights
        extra.unlink()
    onnx.checker.check_model(m)
    if not any(n.op_type == "BatchNormalization" for n in m.graph.node):
        raise RuntimeError(f"{path}: the exporter folded BatchNormalization; the model would not test folding")
    # The file must be self-contained (weights inside, not external data) and opset-stable.
    onnx.save(m, str(path))
    xs = torch.randn(spec.n_samples, *spec.input_shape, generator=gen).numpy().astype(np.float32)
    npz = out_dir / f"{spec.name}.input.npz"
    np.savez(npz, x=xs)
    # Sanity: onnxruntime on the exported file agrees with PyTorch (else the export itself is wrong).
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        for xi in xs[:2]:
            ref = model(torch.from_numpy(xi)).numpy()
            got = sess.run(None, {"x": xi})[0]
            np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max()))
    return path, npz


def macs_of(path: Path) -> int:
    """MACs of Conv and Gemm nodes (the only ones with multiply-accumulates here), via shape inference."""
    m = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in (*m.graph.value_info, *m.graph.input, *m.graph.output)}
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    total = 0
    for n in m.graph.node:
        if n.op_type == "Conv":
            w = inits[n.input[1]]
            total += int(np.prod(shapes[n.output[0]])) * int(np.prod(w[1:]))
        elif n.op_type == "Gemm":
            w = inits[n.input[1]]
            total += int(np.prod(w))
    return total


def write_readme(out_dir: Path, rows: list[tuple[Spec, Path, Path]]) -> None:
    lines = [
        "# Test models exported by PyTorch",
        "",
        "Produced by `scripts/export_test_models.py` (torch 2.13.0, seeded random weights, BatchNorm in",
        "eval mode with random running statistics so that folding is exercised); rerun it with",
        "",
        "    .venv/bin/pip install torch==2.13.0 && .venv/bin/python scripts/export_test_models.py",
        "",
        "Each `NAME.onnx` (FP32, batch 1, input `x`, output `y`) comes with `NAME.input.npz`: a few seeded",
        "standard-normal samples in an array `x` of shape [N, *input_shape]. Nothing in CI needs torch.",
        "",
        "| file | exporter | input | MACs | bytes | what |",
        "|---|---|---|---|---|---|",
    ]
    for spec, path, _ in rows:
        lines.append(f"| {path.name} | {spec.exporter} | {'x'.join(map(str, spec.input_shape))} | "
                     f"{macs_of(path):,} | {path.stat().st_size:,} | {spec.what} |")
    lines += ["",
              "Exporters: `dynamo` is `torch.onnx.export(..., dynamo=True, optimize=False)` (the default",
              "exporter without its optimizer, which would fold BatchNormalization itself);",
              "`torchscript` is `torch.onnx.export(..., dynamo=False, do_constant_folding=False)`.",
              "The (a)-(c) models are compiled by tests/host_and_target/test_pytorch_models.py (host and",
              "rv32 under QEMU); the (d) models by benchmarks/bench_models.py.", ""]
    (out_dir / "README.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "tests" / "models")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for spec in MODELS:
        path, npz = export(spec, args.out)
        rows.append((spec, path, npz))
        print(f"wrote {path} ({path.stat().st_size:,} bytes, {macs_of(path):,} MACs) and {npz.name}")
    write_readme(args.out, rows)


if __name__ == "__main__":
    main()
