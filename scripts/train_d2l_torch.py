#!/usr/bin/env python3
"""PyTorch reference for `inception bench --train`: the D2L book's GoogLeNet
(Dive into Deep Learning, "Multi-Branch Networks (GoogLeNet)"), trained the
way the book does (Xavier-uniform weights, SGD, cross-entropy, batch 128) on
Fashion-MNIST resized to --size, on the CPU with --threads intra-op threads.

It times --steps training steps after --warmup untimed ones and prints one
JSON line: {"imgs_per_sec": ..., "steps": ..., "seconds": ..., ...}.
With --grads DIR it reads DIR/params.bin (every Conv2d and Linear weight and
bias, in module order, float32 little-endian), DIR/input.bin (batch x 1 x size
x size) and DIR/labels.bin (int32), runs one forward and backward pass, and
writes DIR/loss.bin and DIR/grads.bin (the gradients in the same order): the
oracle of train/gorgon's TestD2LStepMatchesPyTorch.
With --serve it prints {"ready": true, ...} after the warm-up, then for every
line N read from standard input runs N timed steps and prints one JSON line
with their time, until end of input (`inception bench --train` drives it so,
interleaved with its own steps).
Run with Debian's python3-torch: /usr/bin/python3 scripts/train_d2l_torch.py
"""
import argparse
import gzip
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class Inception(nn.Module):
    # The book's Inception block: four branches, ReLU after every conv.
    def __init__(self, in_c, c1, c2, c3, c4):
        super().__init__()
        self.b1_1 = nn.Conv2d(in_c, c1, kernel_size=1)
        self.b2_1 = nn.Conv2d(in_c, c2[0], kernel_size=1)
        self.b2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.b3_1 = nn.Conv2d(in_c, c3[0], kernel_size=1)
        self.b3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.Conv2d(in_c, c4, kernel_size=1)

    def forward(self, x):
        b1 = F.relu(self.b1_1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


def googlenet(classes=10):
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b2 = nn.Sequential(nn.Conv2d(64, 64, kernel_size=1), nn.ReLU(),
                       nn.Conv2d(64, 192, kernel_size=3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b3 = nn.Sequential(Inception(192, 64, (96, 128), (16, 32), 32),
                       Inception(256, 128, (128, 192), (32, 96), 64),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b4 = nn.Sequential(Inception(480, 192, (96, 208), (16, 48), 64),
                       Inception(512, 160, (112, 224), (24, 64), 64),
                       Inception(512, 128, (128, 256), (24, 64), 64),
                       Inception(512, 112, (144, 288), (32, 64), 64),
                       Inception(528, 256, (160, 320), (32, 128), 128),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b5 = nn.Sequential(Inception(832, 256, (160, 320), (32, 128), 128),
                       Inception(832, 384, (192, 384), (48, 128), 128),
                       nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, classes))


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def init_weights(m):
    # d2l.train_ch6: Xavier-uniform weights of every Conv2d and Linear.
    if type(m) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)


def load_images(path, limit):
    with gzip.open(path, "rb") as f:
        magic, n, h, w = struct.unpack(">IIII", f.read(16))
        if magic != 0x803:
            raise SystemExit(f"{path}: bad magic {magic:#x}")
        n = min(n, limit)
        data = np.frombuffer(f.read(n * h * w), dtype=np.uint8)
    return torch.from_numpy(data.reshape(n, 1, h, w).astype(np.float32) / 255)


def grads(args):
    torch.set_num_threads(args.threads)
    net = googlenet()
    params = [p for m in net.modules() if type(m) in (nn.Conv2d, nn.Linear) for p in (m.weight, m.bias)]
    flat = np.fromfile(os.path.join(args.grads, "params.bin"), dtype="<f4")
    if flat.size != sum(p.numel() for p in params):
        raise SystemExit(f"params.bin has {flat.size} values, the model {sum(p.numel() for p in params)}")
    off = 0
    with torch.no_grad():
        for p in params:
            p.copy_(torch.from_numpy(flat[off:off + p.numel()].reshape(p.shape)))
            off += p.numel()
    x = np.fromfile(os.path.join(args.grads, "input.bin"), dtype="<f4").reshape(-1, 1, args.size, args.size)
    y = np.fromfile(os.path.join(args.grads, "labels.bin"), dtype="<i4").astype(np.int64)
    loss = nn.CrossEntropyLoss()(net(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    np.array([loss.item()], dtype="<f4").tofile(os.path.join(args.grads, "loss.bin"))
    np.concatenate([p.grad.numpy().ravel() for p in params]).astype("<f4").tofile(os.path.join(args.grads, "grads.bin"))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--serve", action="store_true", help="time blocks of steps read from standard input")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                    help="Fashion-MNIST training images (random inputs if the file is missing)")
    ap.add_argument("--grads", help="compute one step's loss and gradients on the parameters and batch in this directory")
    args = ap.parse_args()
    if args.grads:
        return grads(args)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = googlenet()
    net.apply(init_weights)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    n = args.batch * max(args.steps + args.warmup, 8)
    if os.path.exists(args.data):
        x = load_images(args.data, n)
        source = args.data
    else:
        x = torch.rand(n, 1, 28, 28)
        source = "random"
    if args.size != x.shape[-1]:
        x = F.interpolate(x, size=(args.size, args.size), mode="bilinear", align_corners=False)
    y = torch.randint(0, 10, (x.shape[0],))

    batches = x.shape[0] // args.batch

    def step(i):
        i %= batches
        xb, yb = x[i * args.batch:(i + 1) * args.batch], y[i * args.batch:(i + 1) * args.batch]
        opt.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(args.warmup):
        step(i)
    info = {"engine": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "size": args.size, "batch": args.batch, "data": source}
    if args.serve:
        print(json.dumps(dict(info, ready=True)), flush=True)
        i = args.warmup
        for line in sys.stdin:
            k = int(line)
            c0 = cpu_seconds()
            t0 = time.perf_counter()
            for _ in range(k):
                loss = step(i)
                i += 1
            dt = time.perf_counter() - t0
            print(json.dumps({"steps": k, "seconds": dt, "cpu_seconds": cpu_seconds() - c0, "loss": loss}), flush=True)
        return 0
    t0 = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        step(i)
    dt = time.perf_counter() - t0
    print(json.dumps(dict(info, steps=args.steps, seconds=dt, imgs_per_sec=args.batch * args.steps / dt)))


if __name__ == "__main__":
    sys.exit(main())
