"""Train the small CNN of `mcuforge demo` on scikit-learn's digits and export it to ONNX.

    .venv/bin/pip install torch==2.13.0        # only to retrain; the demo ships the ONNX file
    .venv/bin/python examples/digits/train_digits.py   # rewrites examples/digits/digits_cnn.onnx

Seeded (torch and numpy), single-threaded, CPU: a rerun with the same torch version gives the same
weights. The data split is `mcuforge.demo.digits_split()` (the last 20% of the data set are the test
images), the very function the demo uses, so the demo's test images were never trained on.
Input `input` [1, 1, 8, 8] (pixels / 16, in [0, 1]), output `logits` [1, 10].
Takes about ten seconds.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from mcuforge.demo import digits_split  # noqa: E402

SEED = 0
EPOCHS = 40
BATCH = 64
LR = 3e-3


class DigitsCnn(nn.Module):
    """conv 16 - conv 32 - pool - conv 32 - pool - linear 10 on 1x8x8; BatchNorm after each conv."""

    def __init__(self) -> None:
        super().__init__()
        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        self.features = nn.Sequential(*block(1, 16), *block(16, 32), nn.MaxPool2d(2),
                                      *block(32, 32), nn.MaxPool2d(2))
        self.classifier = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def main() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    x_train, y_train, x_test, y_test = digits_split()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    model = DigitsCnn()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), BATCH):
            idx = perm[i:i + BATCH]
            # Small random shifts (+-1 pixel) make the CNN generalise to the unseen writers of the test split.
            xb = torch.roll(xt[idx], shifts=tuple(int(s) for s in torch.randint(-1, 2, (2,), generator=gen)),
                            dims=(2, 3))
            loss = nn.functional.cross_entropy(model(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        train_acc = (model(xt).argmax(1) == yt).float().mean().item()
        test_acc = (model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    print(f"trained {EPOCHS} epochs: train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} "
          f"({len(x_test)} test images)")

    path = HERE / "digits_cnn.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The default exporter, as a user would call it (its optimizer folds BatchNorm itself).
        torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), input_names=["input"],
                          output_names=["logits"], dynamo=True, verbose=False)
    m = onnx.load(str(path))
    for extra in HERE.glob("digits_cnn.onnx.data"):  # weights inline: one self-contained file
        extra.unlink()
    # Per-node exporter metadata holds stack traces with local paths: not worth shipping.
    for n in m.graph.node:
        del n.metadata_props[:]
    for v in (*m.graph.value_info, *m.graph.input, *m.graph.output, *m.graph.initializer):
        del v.metadata_props[:]
    m.doc_string = ("Trained by examples/digits/train_digits.py (torch 2.13.0, seed 0) on sklearn digits, "
                    f"last 20% held out; test accuracy {test_acc:.4f}")
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    pred = np.array([sess.run(None, {"input": xi[None]})[0].argmax() for xi in x_test])
    print(f"wrote {path} ({path.stat().st_size:,} bytes); onnxruntime test accuracy {np.mean(pred == y_test):.4f}")


if __name__ == "__main__":
    main()
