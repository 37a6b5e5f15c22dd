#!/usr/bin/python3
"""NumPy as the oracle for package npy (run with Debian's /usr/bin/python3).

  numpy_oracle.py write DIR     numpy writes .npy/.npz files into DIR, each
                                with a sidecar of the expected values
  numpy_oracle.py check DIR     numpy loads the files Go wrote into DIR and
                                compares them with Go's sidecars and with
                                what numpy.save writes for the same array
  numpy_oracle.py fixtures DIR  the small committed files in testdata/
                                (fuzz seeds and a python-free read test)

A sidecar NAME.want is JSON {"shape": [...], "dtype": "<f8", "data": HEX}
where HEX is the array's elements as little-endian float64 in C order
(written by numpy here, by Go for "check").
"""
import io
import json
import os
import sys
import zipfile

import numpy as np


def want(path, a):
    a = np.asarray(a)
    rec = {
        "shape": list(a.shape),
        "dtype": a.dtype.newbyteorder("<").str if a.dtype.byteorder != "|" else a.dtype.str,
        "data": np.ascontiguousarray(a, dtype="<f8").tobytes().hex(),
    }
    with open(path, "w") as f:
        json.dump(rec, f)


def arrays():
    rng = np.random.RandomState(7)
    out = {}
    out["f8_2d"] = rng.standard_normal((5, 7))
    out["f4_2d"] = rng.standard_normal((6, 3)).astype(np.float32)
    out["f8_fortran"] = np.asfortranarray(rng.standard_normal((4, 5, 3)))
    out["f4_fortran"] = np.asfortranarray(rng.standard_normal((3, 8)).astype(np.float32))
    out["f8_big"] = rng.standard_normal((2, 9)).astype(">f8")
    out["f4_big_fortran"] = np.asfortranarray(rng.standard_normal((3, 2)).astype(">f4"))
    out["i8"] = rng.randint(-(2**40), 2**40, size=(3, 4)).astype("<i8")
    out["i4_big"] = rng.randint(-(2**30), 2**30, size=(7,)).astype(">i4")
    out["scalar"] = np.array(3.25)
    out["empty"] = np.zeros((0, 2048))
    out["vec"] = rng.standard_normal(2048)
    out["specials"] = np.array([np.inf, -np.inf, np.nan, -0.0, 5e-324, 1.7976931348623157e308])
    out["large_rows"] = rng.standard_normal((1000, 64)).astype(np.float32)
    return out


def cmd_write(d):
    arrs = arrays()
    for name, a in arrs.items():
        np.save(os.path.join(d, name + ".npy"), a)
        want(os.path.join(d, name + ".want"), a)
    # Header versions 2.0 and 3.0 written explicitly.
    for ver in [(2, 0), (3, 0)]:
        name = "v%d" % ver[0]
        a = arrs["f8_2d"]
        with open(os.path.join(d, name + ".npy"), "wb") as f:
            np.lib.format.write_array(f, a, version=ver)
        want(os.path.join(d, name + ".want"), a)
    # Archives: stored, deflated, and stats in pytorch-fid's layout.
    sub = {k: arrs[k] for k in ["f8_2d", "f4_fortran", "i8", "scalar", "empty"]}
    np.savez(os.path.join(d, "stored.npz"), **sub)
    np.savez_compressed(os.path.join(d, "deflated.npz"), **sub)
    for k, a in sub.items():
        want(os.path.join(d, "npz_" + k + ".want"), a)
    print("ok")


def load_want(path):
    with open(path) as f:
        rec = json.load(f)
    data = np.frombuffer(bytes.fromhex(rec["data"]), dtype="<f8").reshape(rec["shape"])
    return rec, data


def same(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True) and \
        np.array_equal(np.signbit(a), np.signbit(b))


def cmd_check(d):
    bad = []
    n = 0
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".want") or fn.startswith("npz_"):
            continue
        name = fn[:-5]
        rec, data = load_want(os.path.join(d, fn))
        path = os.path.join(d, name + ".npy")
        a = np.load(path, allow_pickle=False)
        n += 1
        if a.dtype.str != rec["dtype"]:
            bad.append("%s: dtype %s, want %s" % (name, a.dtype.str, rec["dtype"]))
            continue
        if not same(a.astype("<f8"), data):
            bad.append("%s: values differ" % name)
        buf = io.BytesIO()
        np.save(buf, a)
        with open(path, "rb") as f:
            if f.read() != buf.getvalue():
                bad.append("%s: bytes differ from numpy.save" % name)
    npz = os.path.join(d, "go.npz")
    if os.path.exists(npz):
        with np.load(npz, allow_pickle=False) as z:
            keys = sorted(z.files)
            for k in keys:
                rec, data = load_want(os.path.join(d, "npz_" + k + ".want"))
                n += 1
                if z[k].dtype.str != rec["dtype"] or not same(z[k].astype("<f8"), data):
                    bad.append("go.npz[%s] differs" % k)
        with zipfile.ZipFile(npz) as zf:
            for info in zf.infolist():
                if info.compress_type != zipfile.ZIP_STORED:
                    bad.append("go.npz: %s is not stored" % info.filename)
            if zf.testzip() is not None:
                bad.append("go.npz: CRC error")
    if bad:
        print("\n".join(bad))
        sys.exit(1)
    print("ok %d" % n)


def cmd_fixtures(d):
    rng = np.random.RandomState(11)
    a = rng.standard_normal((3, 4))
    np.save(os.path.join(d, "f8_c.npy"), a)
    np.save(os.path.join(d, "f4_fortran.npy"), np.asfortranarray(a.astype(np.float32)))
    np.save(os.path.join(d, "i8_big.npy"), np.arange(-3, 3).astype(">i8"))
    with open(os.path.join(d, "f8_v3.npy"), "wb") as f:
        np.lib.format.write_array(f, a[:2], version=(3, 0))
    np.savez(os.path.join(d, "stored.npz"), mu=a[0], sigma=a[:, :3] @ a[:, :3].T)
    np.savez_compressed(os.path.join(d, "deflated.npz"), mu=a[0], sigma=a[:, :3] @ a[:, :3].T)
    print("ok")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    {"write": cmd_write, "check": cmd_check, "fixtures": cmd_fixtures}[sys.argv[1]](sys.argv[2])
