"""Generic zip archives: pickles inside (stored and deflated, nested zips), members listed only
by local headers, and benign zips of plain data."""
import io
import os
import pickle
import zipfile

from _common import out_dirs, write
from _zippatch import add_hidden_member, set_central

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

# Central directory vs local header: readers that follow the central directory (PyTorch's miniz,
# Python's zipfile) and readers that walk local headers (streaming unzip) read different bytes.
# Each view alone looks harmless or unreadable; the other holds the payload.
benign_pkl = pickle.dumps({"a": [1, 2, 3]}, protocol=2)
# the central directory says deflate (the stored pickle does not inflate); the local header says stored
z = make_zip({"model/weights.bin": payload}, zipfile.ZIP_STORED)
write(mal, "zip_central_says_deflate.zip", set_central(z, "model/weights.bin", method=8))
# the central directory says stored (deflate bytes are no pickle); the local header says deflate
z = make_zip({"model/weights.bin": payload}, zipfile.ZIP_DEFLATED)
write(mal, "zip_central_says_stored.zip", set_central(z, "model/weights.bin", method=0))
# the central directory's size covers a benign pickle; the local header's also the payload after it
z = make_zip({"data.bin": benign_pkl + payload}, zipfile.ZIP_STORED)
write(mal, "zip_central_size_shorter.zip", set_central(z, "data.bin", csize=len(benign_pkl), usize=len(benign_pkl)))
