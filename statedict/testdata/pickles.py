#!/usr/bin/python3
"""Pickles of plain objects written by Python's own pickle module, for
package statedict's unpickler tests (stdlib only).

    /usr/bin/python3 pickles.py OUTFILE

OUTFILE gets a JSON list of {"name", "protocol", "pickle" (hex), "want"}:
want is the object in a canonical JSON form (see canon), or null when the
pickle uses an opcode or global the restricted unpickler refuses.
"""
import collections
import json
import pickle
import sys


def canon(v):
    if v is None or isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"float": v.hex()}
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, tuple):
        return {"tuple": [canon(x) for x in v]}
    if isinstance(v, list):
        return {"list": [canon(x) for x in v]}
    if isinstance(v, dict):
        kind = "odict" if isinstance(v, collections.OrderedDict) else "dict"
        return {kind: [[canon(k), canon(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def objects():
    shared = (1, "two")
    return {
        "scalars": [None, True, False, 0, 1, -1, 255, 256, 65535, 65536, -65537, 2**31 - 1, -2**31,
                    2**31, 2**63 - 1, -2**63, 2**64 + 5, -(2**70), 0.0, -0.0, 1.5, 1e-300, 1e300, 0.1],
        "strings": ["", "a", "state_dict", "x" * 300, "snowman \u2603"],
        "bytes": [b"", b"\x00\xff" * 200],
        "containers": {"list": [1, [2, [3]]], "tuple": (1, (2,), (), (3, 4, 5), (6, 7, 8, 9)),
                       "empty": {}, 7: "int key", None: "none key", True: "bool key"},
        "shared": [shared, shared, {"k": shared}],
        "odict": collections.OrderedDict([("b", 1), ("a", [2.5])]),
        "long_list": list(range(2000)),
        "big_dict": {"k%d" % i: i for i in range(1500)},
    }


def main(out):
    cases = []
    for name, obj in objects().items():
        for proto in range(6):
            data = pickle.dumps(obj, protocol=proto)
            want = canon(obj)
            # Protocol 0 writes non-ASCII text with raw-unicode-escape
            # sequences, which the unpickler refuses (state dicts never
            # have them).
            if proto == 0 and name == "strings":
                want = None
            # Before protocol 3, bytes are pickled as a call of
            # _codecs.encode, a global the unpickler refuses.
            if proto < 3 and name == "bytes":
                want = None
            cases.append({"name": name, "protocol": proto, "pickle": data.hex(), "want": want})
    with open(out, "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main(sys.argv[1])
