#!/usr/bin/python3
"""Independent references for package metrics (Debian's numpy and scipy).

  oracle.py CMD DIR

reads the inputs the Go test wrote into DIR (as .npy/.npz) and writes the
reference outputs next to them:

  sqrtm  a_<name>.npy -> root_<name>.npz: scipy.linalg.sqrtm(A, disp=False)
         as re (and im when complex), flags complex/finite, errest
  fid    case_<name>.npz (mu1, sigma1, mu2, sigma2) -> fid_<name>.npz:
         pytorch-fid's calculate_frechet_distance (re-stated below; the
         pytorch-fid package is not installable here) with flags for its
         eps fallback and a complex root
  cov    x.npy -> cov.npz: x.mean(axis=0), numpy.cov(x, rowvar=False)
  rng    rng.json -> rng.npz: numpy.random.RandomState streams (raw MT19937
         outputs, permutation, choice without replacement)
  kid    kid_f1.npy, kid_f2.npy, kid.json -> kid.npz: torch-fidelity's KID
         (kid_features_to_metric with the poly kernel, re-stated below in
         float64)
  is     is_logits.npy, is.json -> is.npz: torch-fidelity's Inception Score
         (isc_features_to_metric, re-stated below with numpy in float64)
"""
import contextlib
import glob
import io
import json
import os
import sys

import numpy as np
from scipy import linalg


def flag(b):
    """A boolean as a float64 0-d array (package npy reads no bool dtype)."""
    return np.array(1.0 if b else 0.0)


def cmd_sqrtm(d):
    for path in sorted(glob.glob(os.path.join(d, "a_*.npy"))):
        name = os.path.basename(path)[2:-4]
        a = np.load(path)
        with contextlib.redirect_stdout(io.StringIO()):
            x, errest = linalg.sqrtm(a, disp=False)
        out = {"re": np.real(x), "complex": flag(np.iscomplexobj(x)),
               "finite": flag(np.isfinite(x).all()), "errest": np.array(errest)}
        if np.iscomplexobj(x):
            out["im"] = np.imag(x)
        np.savez(os.path.join(d, "root_%s.npz" % name), **out)
    print("ok")


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid 0.3's calculate_frechet_distance, same steps and rules.

    Returns (distance, eps_added, complex_root, trace_of_root)."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    assert mu1.shape == mu2.shape and sigma1.shape == sigma2.shape
    diff = mu1 - mu2
    with contextlib.redirect_stdout(io.StringIO()):
        covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    eps_added = False
    if not np.isfinite(covmean).all():
        eps_added = True
        offset = np.eye(sigma1.shape[0]) * eps
        with contextlib.redirect_stdout(io.StringIO()):
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    is_complex = bool(np.iscomplexobj(covmean))
    if is_complex:
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component {}".format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    tr_covmean = np.trace(covmean)
    dist = diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean
    return dist, eps_added, is_complex, tr_covmean


def cmd_fid(d):
    for path in sorted(glob.glob(os.path.join(d, "case_*.npz"))):
        name = os.path.basename(path)[5:-4]
        with np.load(path) as z:
            args = z["mu1"], z["sigma1"], z["mu2"], z["sigma2"]
        try:
            dist, eps_added, is_complex, tr = frechet_distance(*args)
            out = {"fid": np.array(dist), "eps_added": flag(eps_added),
                   "complex": flag(is_complex), "trace": np.array(tr), "error": flag(False)}
        except ValueError:
            out = {"error": flag(True)}
        np.savez(os.path.join(d, "fid_%s.npz" % name), **out)
    print("ok")


def cmd_cov(d):
    x = np.load(os.path.join(d, "x.npy"))
    np.savez(os.path.join(d, "cov.npz"), mean=x.mean(axis=0), cov=np.cov(x, rowvar=False))
    print("ok")


def cmd_rng(d):
    with open(os.path.join(d, "rng.json")) as f:
        spec = json.load(f)
    out = {}
    for i, c in enumerate(spec):
        rs = np.random.RandomState(c["seed"])
        if c["kind"] == "raw":
            v = rs._bit_generator.random_raw(c["n"])
        elif c["kind"] == "permutation":
            v = rs.permutation(c["n"])
        else:  # a sequence of choices from one RandomState, as KID draws
            v = np.concatenate([rs.choice(c["n"], c["m"], replace=False) for _ in range(c["repeat"])])
        out["case%d" % i] = np.asarray(v, dtype=np.int64)
    np.savez(os.path.join(d, "rng.npz"), **out)
    print("ok")


def mmd2_unbiased(k_xx, k_xy, k_yy):
    # torch-fidelity's mmd2(..., mmd_est="unbiased"): off-diagonal means
    # of K_XX and K_YY minus twice the mean of K_XY.
    m = k_xx.shape[0]
    kt_xx = (k_xx.sum(axis=1) - np.diagonal(k_xx)).sum()
    kt_yy = (k_yy.sum(axis=1) - np.diagonal(k_yy)).sum()
    k_xy_sum = k_xy.sum(axis=0).sum()
    return (kt_xx + kt_yy) / (m * (m - 1)) - 2 * k_xy_sum / (m * m)


def cmd_kid(d):
    f1 = np.load(os.path.join(d, "kid_f1.npy")).astype(np.float64)
    f2 = np.load(os.path.join(d, "kid_f2.npy")).astype(np.float64)
    with open(os.path.join(d, "kid.json")) as f:
        o = json.load(f)
    gamma = o["gamma"] if o["gamma"] else 1.0 / f1.shape[1]

    def kernel(x, y):  # torch-fidelity's kernel_poly
        return (np.matmul(x, y.T) * gamma + o["coef0"]) ** o["degree"]

    rng = np.random.RandomState(o["seed"])
    mmds = np.zeros(o["subsets"])
    for i in range(o["subsets"]):
        x = f1[rng.choice(len(f1), o["subset_size"], replace=False)]
        y = f2[rng.choice(len(f2), o["subset_size"], replace=False)]
        mmds[i] = mmd2_unbiased(kernel(x, x), kernel(x, y), kernel(y, y))
    np.savez(os.path.join(d, "kid.npz"), mean=np.mean(mmds), std=np.std(mmds), mmds=mmds)
    print("ok")


def cmd_is(d):
    logits = np.load(os.path.join(d, "is_logits.npy")).astype(np.float64)
    with open(os.path.join(d, "is.json")) as f:
        o = json.load(f)
    n = logits.shape[0]
    if o["shuffle"]:
        logits = logits[np.random.RandomState(o["seed"]).permutation(n), :]
    # torch's softmax and log_softmax along dim 1.
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    p = e / e.sum(axis=1, keepdims=True)
    log_p = shifted - np.log(e.sum(axis=1, keepdims=True))
    scores = []
    for i in range(o["splits"]):
        lo, hi = i * n // o["splits"], (i + 1) * n // o["splits"]
        pc, lpc = p[lo:hi], log_p[lo:hi]
        q = pc.mean(axis=0, keepdims=True)
        kl = (pc * (lpc - np.log(q))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    np.savez(os.path.join(d, "is.npz"), mean=np.mean(scores), std=np.std(scores), scores=np.array(scores))
    print("ok")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cmds = {"sqrtm": cmd_sqrtm, "fid": cmd_fid, "cov": cmd_cov, "rng": cmd_rng, "kid": cmd_kid, "is": cmd_is}
    cmds[sys.argv[1]](sys.argv[2])
