#!/usr/bin/python3
"""Reference for inception-v3-fid and `inception fid|kid|is|embed`.

pytorch-fid's network and statistics (mseitzer/pytorch-fid v0.3.0,
Apache-2.0), restated over Debian's torch 1.13, torchvision 0.14, numpy and
scipy from its published description, so that the Go implementation is
checked against code nobody here wrote the numerics of (torch's convolutions
and pooling, numpy.cov, scipy.linalg.sqrtm):

  network   torchvision inception_v3(num_classes=1008, aux_logits=False) with
            the pool branches of Mixed_5b-5d (InceptionA), Mixed_6b-6e
            (InceptionC) and Mixed_7b (InceptionE) replaced by
            avg_pool2d(3, 1, 1, count_include_pad=False), and that of
            Mixed_7c by max_pool2d(3, 1, 1);
  input     PIL Image.open().convert("RGB"), ToTensor (floats in [0, 1]),
            F.interpolate(size=(299, 299), mode="bilinear",
            align_corners=False), then 2x - 1;
  features  64: after the first max pool, 192: after the second, 768: after
            Mixed_6e, each spatially averaged (adaptive_avg_pool2d(1));
            2048: after the final adaptive average pool; the fc output is
            the 1008 logits;
  stats     activations in a float64 array, mu = np.mean(axis=0),
            sigma = np.cov(rowvar=False); .npz with "mu" and "sigma";
  fid       ||mu1 - mu2||^2 + tr(s1) + tr(s2) - 2 tr(sqrtm(s1 s2)) with
            scipy.linalg.sqrtm(disp=False); if the root is not finite,
            eps = 1e-6 is added to both diagonals and the root recomputed;
            a complex root must have a diagonal imaginary part within 1e-3
            and its real part is used.

The weights are seeded random (pytorch-fid's key layout, saved with
torch.save), or pytorch-fid's published file when given with --weights.

Commands (run with /usr/bin/python3):

  weights --seed S --out F.pth [--dead N [--dead-offset K]] [--fc-scale F]
                                            seeded state dict; --dead N makes
                                            channels K..K+N-1 of Conv2d_2b_3x3
                                            always zero (so the 64-d features
                                            are rank-deficient); --fc-scale
                                            multiplies the fc weights
  counts                                    parameters, MACs at 299, state-dict keys
  forward --weights F --input X.f32 --n N --out P
                                            network on a [N,3,299,299] float32
                                            tensor: P-64.f32 P-192.f32
                                            P-768.f32 P-2048.f32 P-logits.f32
  images --weights F --out P FILES...       the same from image files through
                                            the pytorch-fid input pipeline
  stats --weights F --dims D --out S.npz DIR
  fid --weights F --dims D A B              A, B: folders of images or .npz;
                                            prints JSON {fid, dims, n_a, n_b, eps_added}
  bench --weights F --batch 50 --threads 2 --images N
                                            FID feature extraction throughput
                                            (images/s) on random 299x299 inputs
"""
import argparse
import json
import math
import os
import sys
import time
import types

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from scipy import linalg
from torchvision import transforms as T

EXTS = {"bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp"}
DIMS = (64, 192, 768, 2048)


def tf_avg(x):
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def max3(x):
    return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


def forward_a(self, x):
    return torch.cat([
        self.branch1x1(x),
        self.branch5x5_2(self.branch5x5_1(x)),
        self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
        self.branch_pool(self.pool(x)),
    ], 1)


def forward_c(self, x):
    b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
    d = x
    for name in ("branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"):
        d = getattr(self, name)(d)
    return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(self.pool(x))], 1)


def forward_e(self, x):
    s = self.branch3x3_1(x)
    s = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1)
    d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
    d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
    return torch.cat([self.branch1x1(x), s, d, self.branch_pool(self.pool(x))], 1)


def build():
    """pytorch-fid's fid_inception_v3() structure, without its weights."""
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
    for name, fwd, pool in [("Mixed_5b", forward_a, tf_avg), ("Mixed_5c", forward_a, tf_avg), ("Mixed_5d", forward_a, tf_avg),
                            ("Mixed_6b", forward_c, tf_avg), ("Mixed_6c", forward_c, tf_avg),
                            ("Mixed_6d", forward_c, tf_avg), ("Mixed_6e", forward_c, tf_avg),
                            ("Mixed_7b", forward_e, tf_avg), ("Mixed_7c", forward_e, max3)]:
        block = getattr(net, name)
        block.pool = pool
        block.forward = types.MethodType(fwd, block)
    return net.eval()


def seeded(net, seed, dead=0, dead_offset=0, fc_scale=1.0):
    """Seeded weights that keep every layer's output in play: conv and fc
    weights U(+-sqrt(6/fan_in)), fc bias U(-0.1, 0.1), BatchNorm gamma
    U(0.8, 1.2), beta U(-0.1, 0.1), running_mean U(-0.1, 0.1), running_var
    U(0.8, 1.25). dead > 0 sets the BN beta of channels [dead_offset,
    dead_offset + dead) of Conv2d_2b_3x3 to -1e4, so they are zero after
    the ReLU for any input. fc_scale multiplies the fc weights (larger
    logits, so that an Inception Score is well above 1)."""
    g = torch.Generator().manual_seed(seed)

    def uniform(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float64).to(t.dtype) * (hi - lo) + lo)

    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                b = math.sqrt(6.0 / m.weight[0].numel())
                uniform(m.weight, -b, b)
                if m.bias is not None:
                    uniform(m.bias, -0.1, 0.1)
            elif isinstance(m, torch.nn.BatchNorm2d):
                uniform(m.weight, 0.8, 1.2)
                uniform(m.bias, -0.1, 0.1)
                uniform(m.running_mean, -0.1, 0.1)
                uniform(m.running_var, 0.8, 1.25)
        if dead:
            net.Conv2d_2b_3x3.bn.bias[dead_offset:dead_offset + dead] = -1e4
        net.fc.weight *= fc_scale
    return net


def load(path):
    net = build()
    sd = torch.load(path, map_location="cpu")
    net.load_state_dict(sd, strict=True)
    return net


@torch.no_grad()
def features(net, x, upto="logits"):
    """x: [N, 3, 299, 299], already 2x - 1. pytorch-fid's four blocks and
    the logits, spatially averaged as get_activations does; like
    pytorch-fid, the network runs only as far as upto needs."""
    out = {}
    x = net.maxpool1(net.Conv2d_2b_3x3(net.Conv2d_2a_3x3(net.Conv2d_1a_3x3(x))))
    out[64] = x
    if upto != 64:
        x = net.maxpool2(net.Conv2d_4a_3x3(net.Conv2d_3b_1x1(x)))
        out[192] = x
    if upto not in (64, 192):
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
            x = getattr(net, name)(x)
        out[768] = x
    if upto not in (64, 192, 768):
        for name in ("Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(net, name)(x)
        x = F.adaptive_avg_pool2d(x, output_size=(1, 1))
        out[2048] = x
        out["logits"] = net.fc(torch.flatten(x, 1))
    for d in DIMS:
        if d in out:
            if out[d].shape[2] != 1 or out[d].shape[3] != 1:
                out[d] = F.adaptive_avg_pool2d(out[d], output_size=(1, 1))
            out[d] = out[d].squeeze(3).squeeze(2)
    return out


def image_tensor(path):
    """pytorch-fid's input: RGB floats in [0, 1], resized to 299x299 by
    F.interpolate (bilinear, align_corners=False), then 2x - 1."""
    x = T.ToTensor()(Image.open(path).convert("RGB"))[None]
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    return 2 * x - 1


def list_images(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.rsplit(".", 1)[-1].lower() in EXTS)


@torch.no_grad()
def activations(net, files, key, batch=50):
    """get_activations: batches of 50, a float64 array of N x dims."""
    act = None
    for s in range(0, len(files), batch):
        x = torch.cat([image_tensor(f) for f in files[s:s + batch]])
        f = features(net, x, upto=key)[key].numpy()
        if act is None:
            act = np.empty((len(files), f.shape[1]))
        act[s:s + len(f)] = f
    return act


def stats_of(net, path, dims):
    if path.endswith(".npz"):
        with np.load(path) as f:
            return f["mu"][:], f["sigma"][:], None
    act = activations(net, list_images(path), dims)
    return np.mean(act, axis=0), np.cov(act, rowvar=False), len(act)


def frechet(mu1, s1, mu2, s2, eps=1e-6):
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    s1, s2 = np.atleast_2d(s1), np.atleast_2d(s2)
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    eps_added = False
    if not np.isfinite(covmean).all():
        eps_added = True
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component {}".format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)), eps_added


def write_f32(path, t):
    t.detach().numpy().astype("<f4").tofile(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("weights")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dead", type=int, default=0)
    p.add_argument("--dead-offset", type=int, default=0)
    p.add_argument("--fc-scale", type=float, default=1.0)
    p.add_argument("--out", required=True)
    sub.add_parser("counts")
    p = sub.add_parser("forward")
    p.add_argument("--weights", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("images")
    p.add_argument("--weights", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("files", nargs="+")
    p = sub.add_parser("stats")
    p.add_argument("--weights", required=True)
    p.add_argument("--dims", type=int, default=2048)
    p.add_argument("--out", required=True)
    p.add_argument("dir")
    p = sub.add_parser("fid")
    p.add_argument("--weights", required=True)
    p.add_argument("--dims", type=int, default=2048)
    p.add_argument("a")
    p.add_argument("b")
    p = sub.add_parser("bench")
    p.add_argument("--weights", required=True)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--dims", type=int, default=2048)
    a = ap.parse_args()

    if a.cmd == "weights":
        torch.save(seeded(build(), a.seed, a.dead, a.dead_offset, a.fc_scale).state_dict(), a.out)
    elif a.cmd == "counts":
        net = build()
        macs = [0]

        def hook(m, inp, out):
            if isinstance(m, torch.nn.Conv2d):
                macs[0] += out[0].numel() * m.weight[0].numel()
            else:
                macs[0] += m.weight.numel()
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.register_forward_hook(hook)
        with torch.no_grad():
            net(torch.zeros(1, 3, 299, 299))
        keys = [k + " " + "x".join(str(d) for d in v.shape) for k, v in net.state_dict().items()
                if not k.endswith("num_batches_tracked")]
        print(json.dumps({"params": sum(p.numel() for p in net.parameters()), "macs": macs[0], "keys": keys}))
    elif a.cmd == "forward":
        net = load(a.weights)
        x = torch.from_numpy(np.fromfile(a.input, dtype="<f4").reshape(a.n, 3, 299, 299))
        f = features(net, x)
        for k, v in f.items():
            write_f32("%s-%s.f32" % (a.out, k), v)
    elif a.cmd == "images":
        net = load(a.weights)
        f = features(net, torch.cat([image_tensor(p) for p in a.files]))
        for k, v in f.items():
            write_f32("%s-%s.f32" % (a.out, k), v)
    elif a.cmd == "stats":
        mu, sigma, n = stats_of(load(a.weights), a.dir, a.dims)
        np.savez_compressed(a.out, mu=mu, sigma=sigma)
        print(json.dumps({"n": n, "dims": a.dims}))
    elif a.cmd == "fid":
        net = load(a.weights)
        mu1, s1, n1 = stats_of(net, a.a, a.dims)
        mu2, s2, n2 = stats_of(net, a.b, a.dims)
        fid, eps_added = frechet(mu1, s1, mu2, s2)
        print(json.dumps({"fid": fid, "dims": a.dims, "n_a": n1, "n_b": n2, "eps_added": eps_added}))
    elif a.cmd == "bench":
        torch.set_num_threads(a.threads)
        net = load(a.weights)
        g = torch.Generator().manual_seed(0)
        x = torch.rand((a.batch, 3, 299, 299), generator=g) * 2 - 1
        features(net, x, upto=a.dims)  # warm-up
        n, t0 = 0, time.perf_counter()
        while n < a.images:
            features(net, x, upto=a.dims)[a.dims].numpy()
            n += a.batch
        dt = time.perf_counter() - t0
        print(json.dumps({"images": n, "seconds": dt, "images_per_s": n / dt, "threads": torch.get_num_threads(),
                          "torch": torch.__version__}))


if __name__ == "__main__":
    main()
