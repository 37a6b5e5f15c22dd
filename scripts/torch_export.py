#!/usr/bin/python3
"""Export a seeded torchvision GoogLeNet or Inception v3 to ONNX with test data.

Writes DIR/model.onnx, DIR/input_0.pb and DIR/output_0.pb (torch's output on
the input), the ONNX backend-test layout. The weights are seeded and chosen
so the output is sensitive to every layer: conv and linear weights
kaiming-uniform-like U(+-sqrt(6/fan_in)), biases U(-0.1, 0.1), BatchNorm
running_mean U(-0.1, 0.1), running_var U(0.8, 1.25), gamma U(0.8, 1.2),
beta U(-0.1, 0.1). The input is U(-1, 1).

--fold-bn (the default) exports in eval mode with constant folding, which
folds every BatchNorm into its conv (tensors named like onnx::Conv_123);
--no-fold-bn keeps BatchNormalization nodes and the state-dict names
(training=TrainingMode.PRESERVE on a model in eval mode).

Run with the Debian interpreter (torch 1.13, torchvision 0.14, onnx 1.12):

  /usr/bin/python3 scripts/torch_export.py --model googlenet --seed 1 --opset 17 --out /tmp/g
"""
import argparse
import math
import os

import onnx
import torch
import torchvision
from onnx import numpy_helper


def seeded_weights(model, seed):
    g = torch.Generator().manual_seed(seed)

    def uniform(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float64).to(t.dtype) * (hi - lo) + lo)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                fan_in = m.weight[0].numel()
                b = math.sqrt(6.0 / fan_in)
                uniform(m.weight, -b, b)
                if m.bias is not None:
                    uniform(m.bias, -0.1, 0.1)
            elif isinstance(m, torch.nn.BatchNorm2d):
                uniform(m.weight, 0.8, 1.2)
                uniform(m.bias, -0.1, 0.1)
                uniform(m.running_mean, -0.1, 0.1)
                uniform(m.running_var, 0.8, 1.25)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=["googlenet", "inception_v3"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--opset", type=int, default=17, choices=[11, 13, 17])
    ap.add_argument("--out", required=True)
    ap.add_argument("--fold-bn", dest="fold_bn", action="store_true", default=True)
    ap.add_argument("--no-fold-bn", dest="fold_bn", action="store_false")
    ap.add_argument("--transform-input", action="store_true")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    kw = dict(weights=None, aux_logits=False, init_weights=False, transform_input=args.transform_input)
    if args.model == "googlenet":
        model, size = torchvision.models.googlenet(**kw), 224
    else:
        model, size = torchvision.models.inception_v3(**kw), 299
    seeded_weights(model, args.seed)
    model.eval()

    g = torch.Generator().manual_seed(args.seed + 1)
    x = torch.rand((1, 3, size, size), generator=g) * 2 - 1
    with torch.no_grad():
        y = model(x)

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.onnx")
    training = torch.onnx.TrainingMode.EVAL if args.fold_bn else torch.onnx.TrainingMode.PRESERVE
    torch.onnx.export(model, x, path, opset_version=args.opset, do_constant_folding=True,
                      training=training, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    onnx.checker.check_model(onnx.load(path))
    for name, t in (("input_0.pb", x), ("output_0.pb", y)):
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(numpy_helper.from_array(t.detach().numpy(), name=name[:-5]).SerializeToString())


if __name__ == "__main__":
    main()
