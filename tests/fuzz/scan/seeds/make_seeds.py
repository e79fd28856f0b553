"""Write the fuzz seeds (tiny inputs) next to this script: pickle/, zip/, npy/."""
import io
import os
import pickle
import zipfile

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))


class Evil:
    def __reduce__(self):
        return (os.system, ("ls",))


def put(kind, name, data):
    os.makedirs(os.path.join(here, kind), exist_ok=True)
    with open(os.path.join(here, kind, name), "wb") as f:
        f.write(data)


values = [{"a": [1, 2.5, None, True], "b": (b"x", "y"), "c": {1, 2}, "d": frozenset([3])}, Evil()]
for i, v in enumerate(values):
    for proto in range(6):
        put("pickle", f"v{i}_p{proto}.pkl", pickle.dumps(v, protocol=proto))
put("pickle", "stack_global.pkl", b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x8c\x02ls\x85R0h\x00.")
put("pickle", "ext.pkl", b"\x80\x02ccopyreg\nadd_extension\nU\x02osU\x06systemK*\x87R0\x82*U\x02ls\x85R.")
for name, members, comp in [("stored.zip", {"archive/data.pkl": pickle.dumps({"w": 1}, 2), "archive/data/0": b"\0" * 16}, zipfile.ZIP_STORED),
                            ("deflated.zip", {"x.pkl": pickle.dumps(Evil(), 2), "a.txt": b"hello"}, zipfile.ZIP_DEFLATED)]:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=comp) as z:
        for n, d in members.items():
            z.writestr(n, d)
    put("zip", name, b.getvalue())
for name, arr, kw in [("f4.npy", np.arange(6, dtype=np.float32).reshape(2, 3), {}),
                      ("struct.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "S2", (2,))]), {}),
                      ("object.npy", np.array([1, "a"], dtype=object), {"allow_pickle": True})]:
    b = io.BytesIO()
    np.save(b, arr, **kw)
    put("npy", name, b.getvalue())
