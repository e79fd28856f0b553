"""Generic zip archives: pickles inside (stored and deflated, nested zips), members listed only
by local headers, and benign zips of plain data."""
import io
import os
import pickle
import zipfile

from _common import out_dirs, write
from _zippatch import add_hidden_member

mal, ben = out_dirs()


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def make_zip(members, compression=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=compression) as z:
        for n, d in members.items():
            z.writestr(n, d)
    return b.getvalue()


payload = pickle.dumps(Evil(), protocol=4)
write(mal, "zip_pickle_deflated.zip", make_zip({"readme.txt": b"hello", "model/weights.bin": payload}))
write(mal, "zip_pickle_stored.zip", make_zip({"x.dat": payload}, zipfile.ZIP_STORED))
inner = make_zip({"inner/model.ckpt": payload})
write(mal, "zip_nested_zip.zip", make_zip({"outer/archive.zip": inner}))
write(mal, "zip_hidden_member.zip", add_hidden_member(make_zip({"a.txt": b"a"}, zipfile.ZIP_STORED), "evil.pkl", payload))
write(mal, "zip_prefixed_by_pickle.zip", payload + make_zip({"a.txt": b"a"}))
write(ben, "zip_text_and_json.zip", make_zip({"README.md": b"# model\n", "config.json": b'{"a": 1}',
                                              "vocab.txt": b"\n".join(b"tok%d" % i for i in range(500))}))
write(ben, "zip_benign_pickle.zip", make_zip({"data.bin": pickle.dumps({"a": [1, 2, 3]}, protocol=2)}))
