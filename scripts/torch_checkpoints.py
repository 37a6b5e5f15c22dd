#!/usr/bin/python3
"""Write weight files in the upstream publishers' own layouts, with seeded
random weights, for the loaders' tests (no network: the real files cannot be
downloaded here, so these stand in for them, key for key).

  torchvision MODEL  a torchvision googlenet or inception_v3 state dict with
                     the auxiliary heads (as torchvision's files have them),
                     written with torch.save, plus torch's own output on a
                     seeded input (DIR/input_0.pb, DIR/output_0.pb, the ONNX
                     backend-test layout) with transform_input as given.
  keys KEYS.json     a state dict with the names and shapes listed in
                     KEYS.json ({"name": [shape...]}, the key layout of timm,
                     facenet-pytorch or Cadene), seeded random values, plus
                     num_batches_tracked int64 entries for every BatchNorm.

--format zip (torch >= 1.6 default), legacy (_use_new_zipfile_serialization
=False), or safetensors (written by hand with numpy + json, not with a
safetensors library). --wrap state_dict|model nests the dict under that key
(PyTorch checkpoints only). --dtype float16|bfloat16|float64 stores the
floating tensors in that type (torch files) instead of float32.

Weights are chosen so the output depends on every layer: conv and linear
weights U(+-sqrt(6/fan_in)), biases U(-0.1, 0.1), BatchNorm gamma
U(0.8, 1.2), beta U(-0.1, 0.1), running_mean U(-0.1, 0.1), running_var
U(0.8, 1.25). Run with the Debian interpreter (python3-torch 1.13,
python3-torchvision 0.14, python3-onnx):

  /usr/bin/python3 scripts/torch_checkpoints.py torchvision googlenet --format zip --seed 1 --out DIR
  /usr/bin/python3 scripts/torch_checkpoints.py keys keys.json --format safetensors --seed 1 --out DIR
"""
import argparse
import collections
import json
import math
import os
import struct

import numpy as np
import torch
import torchvision
from onnx import numpy_helper


def uniform(g, t, lo, hi):
    t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float64).to(t.dtype) * (hi - lo) + lo)


def seeded_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                b = math.sqrt(6.0 / m.weight[0].numel())
                uniform(g, m.weight, -b, b)
                if m.bias is not None:
                    uniform(g, m.bias, -0.1, 0.1)
            elif isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)):
                uniform(g, m.weight, 0.8, 1.2)
                uniform(g, m.bias, -0.1, 0.1)
                uniform(g, m.running_mean, -0.1, 0.1)
                uniform(g, m.running_var, 0.8, 1.25)


def random_state(keys, seed):
    """A state dict with the given names and shapes, in the given order."""
    g = torch.Generator().manual_seed(seed)
    sd = collections.OrderedDict()
    for name, shape in keys.items():
        t = torch.empty(shape, dtype=torch.float32)
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "running_var":
            uniform(g, t, 0.8, 1.25)
        elif leaf == "running_mean":
            uniform(g, t, -0.1, 0.1)
        elif leaf == "weight" and len(shape) == 1:  # BatchNorm gamma
            uniform(g, t, 0.8, 1.2)
        elif leaf == "weight":
            b = math.sqrt(6.0 / max(1, int(np.prod(shape[1:]))))
            uniform(g, t, -b, b)
        else:
            uniform(g, t, -0.1, 0.1)
        sd[name] = t
        if leaf == "running_var":
            sd[name[: -len("running_var")] + "num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    return sd


ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.float64: "F64", torch.int64: "I64", torch.bfloat16: "BF16"}


def save_safetensors(sd, path):
    """safetensors by hand: u64 LE header length, JSON header, raw data."""
    header, chunks, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in sd.items():
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def save(sd, path, fmt, wrap, dtype):
    if dtype != "float32":
        dt = getattr(torch, dtype)
        sd = collections.OrderedDict((k, v.to(dt) if v.is_floating_point() else v) for k, v in sd.items())
    if fmt == "safetensors":
        save_safetensors(sd, path)
        return
    obj = {wrap: sd, "epoch": 3} if wrap else sd
    torch.save(obj, path, _use_new_zipfile_serialization=(fmt == "zip"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["torchvision", "keys"])
    ap.add_argument("what", help="googlenet | inception_v3, or a KEYS.json path")
    ap.add_argument("--format", required=True, choices=["zip", "legacy", "safetensors"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--wrap", choices=["state_dict", "model"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16", "float64"])
    ap.add_argument("--transform-input", action="store_true")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ext = ".safetensors" if args.format == "safetensors" else ".pth"
    path = os.path.join(args.out, "weights" + ext)

    if args.kind == "keys":
        with open(args.what) as f:
            keys = json.load(f, object_pairs_hook=collections.OrderedDict)
        save(random_state(keys, args.seed), path, args.format, args.wrap, args.dtype)
        print(path)
        return

    kw = dict(weights=None, aux_logits=True, init_weights=False, transform_input=args.transform_input)
    if args.what == "googlenet":
        model, size = torchvision.models.googlenet(**kw), 224
    else:
        model, size = torchvision.models.inception_v3(**kw), 299
    seeded_weights(model, args.seed)
    model.eval()
    sd = model.state_dict()
    save(sd, path, args.format, args.wrap, args.dtype)
    if args.dtype != "float32":  # the output of the weights as stored
        dt = getattr(torch, args.dtype)
        model.load_state_dict(collections.OrderedDict((k, v.to(dt).to(v.dtype) if v.is_floating_point() else v) for k, v in sd.items()))
    g = torch.Generator().manual_seed(args.seed + 1)
    x = torch.rand((args.batch, 3, size, size), generator=g) * 2 - 1
    with torch.no_grad():
        y = model(x)  # eval mode: the main logits only
    for name, t in (("input_0.pb", x), ("output_0.pb", y)):
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(numpy_helper.from_array(t.numpy()).SerializeToString())
    print(path)


if __name__ == "__main__":
    main()
