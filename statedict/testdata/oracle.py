#!/usr/bin/python3
"""Oracle files for package statedict's tests, written by torch, torchvision
and numpy (never by the Go code under test).

    /usr/bin/python3 oracle.py small OUTDIR   # dtype/view/nesting cases
    /usr/bin/python3 oracle.py real OUTDIR    # torchvision googlenet + inception_v3
    /usr/bin/python3 oracle.py tiny FILE      # the Example's checkpoint (testdata/tiny.pt)

small and real write the checkpoints plus expected.json and expected.f32:
expected.f32 is every expected tensor converted to float32 by torch
(safetensors: by numpy), little-endian, concatenated; expected.json lists
per file the format, where the state dict is, the stripped prefix, the
tensors (name, shape, source dtype, offset and count into expected.f32),
the skipped keys and the safetensors metadata -- or the error the reader
must return.

Needs Debian python3-torch (1.13) and python3-torchvision (0.14).
"""
import collections
import json
import os
import struct
import sys

import numpy as np
import torch


class Expect:
    def __init__(self, out):
        self.out = out
        self.values = open(os.path.join(out, "expected.f32"), "wb")
        self.offset = 0
        self.cases = []

    def tensors(self, sd, dtypes=None):
        out = []
        for name, t in sd.items():
            if isinstance(t, np.ndarray):
                arr = t
                dtype = dtypes[name]
            else:
                t = t.detach()
                if not t.is_floating_point():
                    continue
                dtype = str(t.dtype).replace("torch.", "")
                arr = t.to(torch.float32).contiguous().numpy()
            arr = np.asarray(arr, dtype="<f4", order="C")  # keeps 0-d shapes
            self.values.write(arr.tobytes())
            out.append({"name": name, "shape": list(arr.shape), "dtype": dtype,
                        "offset": self.offset, "count": int(arr.size)})
            self.offset += int(arr.size)
        return out

    def case(self, file, fmt, sd, root="", prefix="", skipped=(), metadata=None, dtypes=None, strip=""):
        tensors = self.tensors(sd, dtypes)
        for t in tensors:
            t["name"] = t["name"][len(strip):]
        self.cases.append({"file": file, "format": fmt, "root": root, "prefix": prefix,
                           "tensors": tensors, "skipped": [s[len(strip):] for s in skipped],
                           "metadata": metadata})

    def error(self, file, sentinel, substr):
        self.cases.append({"file": file, "error": sentinel, "substr": substr})

    def close(self):
        self.values.close()
        with open(os.path.join(self.out, "expected.json"), "w") as f:
            json.dump({"cases": self.cases}, f, indent=1)


def save(obj, path, legacy, protocol=2):
    torch.save(obj, path, pickle_protocol=protocol, _use_new_zipfile_serialization=not legacy)


def all_finite(dtype):
    """Every finite value of a 16-bit float type, in bit-pattern order."""
    bits = torch.arange(0, 1 << 16, dtype=torch.int32).to(torch.int16)
    t = bits.view(dtype)
    return t[torch.isfinite(t.to(torch.float32))].clone()


def mixed_state_dict():
    g = torch.Generator().manual_seed(12)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(4, 5, generator=g) * 3
    sd["f16_all"] = all_finite(torch.float16)
    sd["bf16_all"] = all_finite(torch.bfloat16)
    sd["f16"] = (torch.randn(3, 4, generator=g) * 10).half()
    sd["bf16"] = (torch.randn(2, 3, 2, generator=g) * 100).bfloat16()
    sd["f64"] = torch.randn(3, 7, generator=g, dtype=torch.float64) * 1e3
    # float64 -> float32 rounding: a third, a float32 subnormal, large,
    # and two ties at 1 + 2^-24 and 1 + 3*2^-24 (round half to even).
    sd["f64_round"] = torch.tensor([1 / 3, 1e-40, -2.5e38, 1 + 2**-24, 1 + 3 * 2**-24, 5e-324],
                                   dtype=torch.float64)
    base = torch.randn(10, 12, generator=g)
    sd["view_base"] = base                      # owns the storage
    sd["view_strided"] = base[2:9:3, 1:11:4]    # offset 25, strides (36, 4)
    sd["view_t"] = base.t()                     # strides (1, 12)
    other = torch.randn(6, 8, generator=g, dtype=torch.float64)
    sd["other_cols"] = other[:, 3:]             # no view owns this storage
    sd["other_row"] = other[4]
    sd["expanded"] = torch.randn(3, 1, generator=g).expand(3, 4)   # stride 0
    shared = torch.randn(6, generator=g)
    sd["shared_a"] = shared
    sd["shared_b"] = shared                     # the same storage twice
    h = (torch.randn(8, generator=g) * 4).half()
    sd["half_lo"] = h[:4]
    sd["half_hi"] = h[4:]
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    sd["bn.num_batches_tracked"] = torch.tensor(7)
    sd["mask"] = torch.tensor([1, 0, 1], dtype=torch.uint8)
    sd["flag"] = torch.tensor([True, False])
    return sd


SKIPPED = ["bn.num_batches_tracked", "mask", "flag"]


def small_module():
    torch.manual_seed(3)
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                            torch.nn.Flatten(), torch.nn.Linear(4, 2))
    bn = m[1]
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2)
    bn.num_batches_tracked.fill_(11)
    return m


def write_safetensors(path, tensors, metadata):
    """safetensors by hand: u64 LE header length, JSON, data in the given
    order (deliberately not name order)."""
    header = {}
    blobs = []
    offset = 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def small(out):
    ex = Expect(out)
    sd = mixed_state_dict()
    for legacy in (False, True):
        for proto in (1, 2, 4, 5):
            name = "mixed_%s_p%d.pt" % ("legacy" if legacy else "zip", proto)
            save(sd, os.path.join(out, name), legacy, proto)
            ex.case(name, "torch-legacy" if legacy else "torch-zip", sd, skipped=SKIPPED)

    m = small_module()
    msd = m.state_dict()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m(torch.randn(2, 3, 3, 3)).sum().backward()
    opt.step()
    msd = m.state_dict()
    for legacy in (False, True):
        kind = "legacy" if legacy else "zip"
        fmt = "torch-" + kind
        name = "nested_state_dict_%s.pt" % kind
        save({"epoch": 3, "best_acc": 0.75, "state_dict": msd, "optimizer": opt.state_dict()},
             os.path.join(out, name), legacy)
        ex.case(name, fmt, msd, root="state_dict", skipped=["1.num_batches_tracked"])
        name = "nested_model_%s.pt" % kind
        save({"model": msd, "args": {"arch": "tiny", "lr": 0.1, "layers": [1, 2]}},
             os.path.join(out, name), legacy)
        ex.case(name, fmt, msd, root="model", skipped=["1.num_batches_tracked"])
        name = "dataparallel_%s.pt" % kind
        dp = torch.nn.DataParallel(m).state_dict()
        save(dp, os.path.join(out, name), legacy)
        ex.case(name, fmt, dp, prefix="module.", strip="module.",
                skipped=["module.1.num_batches_tracked"])
        name = "keep_vars_%s.pt" % kind    # Parameters: torch._utils._rebuild_parameter
        save(m.state_dict(keep_vars=True), os.path.join(out, name), legacy)
        ex.case(name, fmt, msd, skipped=["1.num_batches_tracked"])
        name = "nan_%s.pt" % kind
        save({"ok": torch.ones(2), "w": torch.tensor([1.0, 2.0, float("nan")])}, os.path.join(out, name), legacy)
        ex.error(name, "ErrFormat", 'tensor "w": malformed file: element 2 is NaN')
        name = "inf_half_%s.pt" % kind
        save({"h": torch.tensor([1.0, float("-inf")]).half()}, os.path.join(out, name), legacy)
        ex.error(name, "ErrFormat", 'tensor "h": malformed file: element 1 is -Inf')
        name = "whole_module_%s.pt" % kind
        save(torch.nn.Linear(2, 2), os.path.join(out, name), legacy)
        ex.error(name, "ErrForbidden", 'global "torch.nn.modules.linear.Linear" is not allowed in a state dict')
        name = "not_a_state_dict_%s.pt" % kind
        save({"epoch": 3, "weights": [torch.ones(2)]}, os.path.join(out, name), legacy)
        ex.error(name, "ErrUnsupported", 'no "state_dict" or "model" entry')
        name = "list_%s.pt" % kind
        save([torch.ones(2)], os.path.join(out, name), legacy)
        ex.error(name, "ErrUnsupported", "the file holds a list, not a state dict")

    g = torch.Generator().manual_seed(5)
    f32 = torch.randn(3, 4, generator=g).numpy()
    f16 = (torch.randn(5, generator=g) * 8).numpy().astype(np.float16)
    bf16 = (torch.randn(2, 2, generator=g) * 50).bfloat16()
    bf16_bits = bf16.view(torch.int16).numpy().astype("<u2")
    f64 = torch.randn(2, 3, generator=g, dtype=torch.float64).numpy() * 1e5
    i64 = np.array([1, 2, 3], dtype="<i8")
    scalar = np.array(7.25, dtype="<f4")
    empty = np.zeros((0, 3), dtype="<f4")
    tensors = collections.OrderedDict()
    tensors["z.last_name_first"] = ("F32", [3, 4], f32.astype("<f4").tobytes())
    tensors["a.half"] = ("F16", [5], f16.astype("<f2").tobytes())
    tensors["counts"] = ("I64", [3], i64.tobytes())
    tensors["m.bf16"] = ("BF16", [2, 2], bf16_bits.tobytes())
    tensors["b.double"] = ("F64", [2, 3], f64.astype("<f8").tobytes())
    tensors["scalar"] = ("F32", [], scalar.tobytes())
    tensors["empty"] = ("F32", [0, 3], empty.tobytes())
    meta = {"format": "pt", "note": "written by oracle.py with numpy + json"}
    write_safetensors(os.path.join(out, "mixed.safetensors"), tensors, meta)
    bf16_f32 = (bf16_bits.astype(np.uint32) << 16).view(np.float32)
    expect = collections.OrderedDict([
        ("z.last_name_first", f32), ("a.half", f16.astype(np.float32)), ("m.bf16", bf16_f32),
        ("b.double", f64.astype(np.float32)), ("scalar", scalar), ("empty", empty)])
    ex.case("mixed.safetensors", "safetensors", expect, skipped=["counts"], metadata=meta,
            dtypes={"z.last_name_first": "float32", "a.half": "float16", "m.bf16": "bfloat16",
                    "b.double": "float64", "scalar": "float32", "empty": "float32"})
    ex.close()


def real(out):
    import torchvision
    ex = Expect(out)
    torch.manual_seed(0)
    models = [
        ("googlenet", torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)),
        ("inception_v3", torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True)),
    ]
    for name, m in models:
        for mod in m.modules():    # trained-looking BN statistics, not 0/1
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_()
                mod.running_var.uniform_(0.5, 2)
                mod.num_batches_tracked.fill_(1234)
        sd = m.state_dict()
        skipped = [k for k, v in sd.items() if not v.is_floating_point()]
        for legacy in (False, True):
            kind = "legacy" if legacy else "zip"
            file = "%s_%s.pt" % (name, kind)
            save(sd, os.path.join(out, file), legacy)
            ex.case(file, "torch-" + kind, sd, skipped=skipped)
    ex.close()


def tiny(path):
    torch.manual_seed(1)
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
    m[1].running_mean.copy_(torch.tensor([0.5, -0.25]))
    torch.save(m.state_dict(), path)


if __name__ == "__main__":
    cmd, target = sys.argv[1], sys.argv[2]
    {"small": small, "real": real, "tiny": tiny}[cmd](target)
