"""The quantized model: the float graph plus the integer data every int8 layer needs. Plain data.

Written by the quantizer (mcuforge.quantize.quantizer, whose docstring gives the arithmetic), read by the
QDQ export, the integer reference evaluator and code generation. Everything a kernel needs is computed
before it gets here (fixed-point requantization, the input zero point folded into the bias), so
readers only copy values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from mcuforge.core.ir import Graph, QuantParams, frozen_map

ACT_QMIN, ACT_QMAX = -128, 127


@dataclass(frozen=True)
class Requant:
    """Fixed-point real ratio: M = multiplier * 2**(shift - 31) (per channel or a 0-d array)."""

    multiplier: np.ndarray  # int32, in [2^30, 2^31) or 0 for a zero ratio
    shift: np.ndarray  # int32 in [-31, 30]: the kernel shifts the int64 product right by 31 - shift

    def ratio(self) -> np.ndarray:
        """The real ratio this fixed-point pair stands for (float64)."""
        return self.multiplier.astype(np.float64) * np.exp2(self.shift.astype(np.float64) - 31)


@dataclass(frozen=True)
class LayerQuant:
    """Everything an integer kernel for one node needs beyond tensor parameters (see module doc)."""

    node: str
    op: str
    inputs: tuple[str, ...]  # activation inputs (quantized per tensor; parameters in tensor_qparams)
    output: str
    weight: str | None = None  # name in QuantizedModel.qconstants (int8 storage, values of weight_bits)
    bias: str | None = None  # name in QuantizedModel.qconstants (int32)
    weight_bits: int | None = None
    requant: Mapping[str, Requant] = field(default_factory=frozen_map)
    clamp: tuple[int, int] = (ACT_QMIN, ACT_QMAX)  # on the output's int8 values (fused Relu/Clip)
    preact: str | None = None  # tensor whose parameters the requantized accumulator uses before `lut`
    lut: np.ndarray | None = None  # int8[256]: out = lut[q_in + 128] for elementwise activations
    pad_value: int | None = None  # Pad only: the padding value in the input's int8 domain
    # Weight layers: the int32 bias the kernel adds, bias[c] - zp_x * sum(w[c]) (the input zero point
    # folded in, so the kernel multiplies raw int8 inputs); checked to keep every accumulator in int32.
    acc_bias: np.ndarray | None = None


@dataclass(frozen=True)
class WeightOnlyQuant:
    """Weight-only quantization of a layer computed with float activations (the A16W4 / A16W2 path):
    its constant weight as integers and scales, with no requantization (the kernel dequantizes the
    weights, or multiplies float activations by integer weights and applies the scales after).

    Stored on the [N, K] matrix view of mcuforge.quantize.layer_inputs.weight_matrix: rows are
    output channels, columns the inputs each output sums (a conv's weight [OC, C/G, kh, kw] reshaped
    [OC, C/G*kh*kw], a Gemm's B [N, K]). `qparams` describes that matrix: per output channel is
    axis 0 (scale [N]); per input channel and group-wise are ONNX blocked quantization along axis 1
    (`block_size`, scale [N, ceil(K / block_size)]). The float graph keeps the float weight."""

    node: str
    weight: str  # the float constant's name in the graph
    values: np.ndarray  # int8 [N, K], values in [-qmax, qmax] of qparams.bits
    qparams: QuantParams
    granularity: str  # "oc" | "ic" | "group" (AdaDim's choice when it chose)
    method: str  # "rtn" | "mse" | "gptq" | "quantease"


@dataclass(frozen=True)
class QuantizedModel:
    """A quantized graph: the float graph plus integer data; plain data for export and codegen.

    tensor_qparams: every activation (incl. `preact_name` tensors of fused non-clamping
    activations), every quantized weight (per channel, `bits` = its width), bias (int32) and
    quantized constant operand, by tensor name.
    qconstants: quantized weights (int8 arrays holding `bits`-wide values), biases (int32) and
    quantized constant operands of Add/Mul/Concat (int8), by the float constant's name.
    layers: the nodes computed in int8, by name; in a mixed-precision model the other nodes are
    float and have no entry (their boundary tensors still have parameters, for the conversions).
    weight_only: float-activation layers whose weights are quantized anyway (WeightOnlyQuant), by
    node name; empty unless the quantizer was asked for them. Their weights are not in qconstants."""

    graph: Graph
    tensor_qparams: Mapping[str, QuantParams]
    qconstants: Mapping[str, np.ndarray]
    layers: Mapping[str, LayerQuant]
    weight_bits: Mapping[str, int]
    weight_only: Mapping[str, WeightOnlyQuant] = field(default_factory=frozen_map)
