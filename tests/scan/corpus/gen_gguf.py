#!/usr/bin/env python3
"""Corpus: GGUF files.

Usage: gen_gguf.py OUT   -> OUT/benign/*, OUT/malicious/*
Benign files come from the `gguf` package (llama.cpp's writer, pinned in tests/scan/requirements.txt)
and from the raw writer (v1 layout). Malicious names are `<rule>__<what>.gguf`.
"""
import json
import os
import struct
import sys

import numpy as np
import gguf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmtlib import case, case_path, GGUF_ARRAY, GGUF_F32, GGUF_I32, GGUF_STRING, Gguf, write  # noqa: E402

F32, F16, Q4_0 = 0, 1, 2

LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")


def real_gguf(path, template=LLAMA3_TEMPLATE):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny")
    w.add_context_length(128)
    w.add_token_list(["<s>", "</s>", "a", "b"])
    w.add_token_scores([0.0, 0.0, -1.0, -2.0])
    w.add_token_types([3, 3, 1, 1])
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    w.add_chat_template(template)
    w.add_tensor("tok_embd.weight", np.ones((4, 8), dtype=np.float32))
    w.add_tensor("norm.weight", np.ones((8,), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main(out):
    b = os.path.join(out, "benign")
    real_gguf(f"{b}/gguf_llama_tiny.gguf")
    write(f"{b}/gguf_v1.gguf", Gguf(1).kv_str("general.name", "v1").tensor("w", [4], F32, 0).build(bytes(16)))
    write(f"{b}/gguf_q4.gguf", Gguf().kv_u32("general.alignment", 64).tensor("q", [64], Q4_0, 0).tensor("f", [4], F32, 64)
          .build(bytes(80), alignment=64))

    # CVE-2024-34359 (llama-cpp-python): chat template reaching os via Jinja internals.
    real_gguf(case_path(out, "template.injection__cve-2024-34359.gguf"),
              "{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in x.__name__ %}"
              "{{ x()._module.__builtins__['__import__']('os').popen('touch /tmp/pwned') }}{% endif %}{% endfor %}")
    real_gguf(case_path(out, "template.injection__globals.gguf"),
              "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}")
    # The same checks on transformers' tokenizer_config.json and a saved chat_template.jinja.
    write(f"{b}/tokenizer_config.json", json.dumps({"bos_token": "<s>", "chat_template": LLAMA3_TEMPLATE}).encode())
    write(f"{b}/chat_template.jinja", LLAMA3_TEMPLATE.encode())
    case(out, "template.injection__hf.tokenizer_config.json", json.dumps({"chat_template": [
        {"name": "default", "template": LLAMA3_TEMPLATE},
        {"name": "tool_use", "template": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"}]}).encode())
    case(out, "template.injection__saved.chat_template.jinja", b"{{ ''.__class__.__mro__[1].__subclasses__() }}")
    big = struct.pack("<Q", 1 << 40) + b"abc"
    arr = struct.pack("<IQ", GGUF_F32, 1 << 61)
    mal = {
        "gguf.version__v9.gguf": b"GGUF" + struct.pack("<IQQ", 9, 0, 0),
        "gguf.count__tensors.gguf": b"GGUF" + struct.pack("<IQQ", 3, 1 << 40, 0),
        "gguf.string-length__key.gguf": Gguf().kv_raw("k", GGUF_STRING, big).build(),
        "gguf.array-length__huge.gguf": Gguf().kv_raw("k", GGUF_ARRAY, arr).build(),
        "gguf.kv-type__13.gguf": Gguf().kv_raw("k", 13, b"\0" * 8).build(),
        "gguf.duplicate-key__arch.gguf": Gguf().kv_str("general.architecture", "llama").kv_str("general.architecture", "gpt2").build(),
        "gguf.duplicate-tensor__w.gguf": Gguf().tensor("w", [4], F32, 0).tensor("w", [4], F32, 32).build(bytes(48)),
        "gguf.tensor-dims__eight.gguf": Gguf().tensor("w", [1] * 8, F32, 0).build(bytes(4)),
        "gguf.tensor-dims__negative.gguf": Gguf().tensor("w", [2**64 - 1], F32, 0).build(bytes(4)),
        "gguf.tensor-overflow__product.gguf": Gguf().tensor("w", [2**40, 2**40], F32, 0).build(bytes(4)),
        "gguf.tensor-type__negative.gguf": Gguf().tensor("w", [4], 0xFFFFFFFF, 0).build(bytes(16)),
        "gguf.tensor-type__unknown.gguf": Gguf().tensor("w", [4], 1000, 0).build(bytes(16)),
        "gguf.tensor-name__long.gguf": Gguf().tensor("n" * 100, [4], F32, 0).build(bytes(16)),
        "gguf.tensor-bounds__past-eof.gguf": Gguf().tensor("w", [1024], F32, 0).build(bytes(64)),
        "gguf.tensor-bounds__offset-wrap.gguf": Gguf().tensor("w", [4], F32, 2**64 - 32).build(bytes(64)),
        "gguf.tensor-overlap__aliased.gguf": Gguf().tensor("a", [16], F32, 0).tensor("b", [16], F32, 32).build(bytes(128)),
        "gguf.alignment__zero.gguf": Gguf().kv_u32("general.alignment", 0).build(),
        "gguf.tokenizer-type__scores-int.gguf": Gguf().kv_str_array("tokenizer.ggml.tokens", ["a", "b"])
            .kv_array("tokenizer.ggml.scores", GGUF_I32, 2).build(),
        "gguf.tokenizer-count__short-scores.gguf": Gguf().kv_str_array("tokenizer.ggml.tokens", ["a", "b", "c", "d"])
            .kv_array("tokenizer.ggml.scores", GGUF_F32, 1).build(),
        "gguf.truncated__data.gguf": Gguf().tensor("w", [4], F32, 0).build(bytes(16))[:-20],
        # Duplicate keys read differently by first-wins and last-wins loaders.
        "gguf.duplicate-key__chat-template.gguf": Gguf().kv_str("tokenizer.chat_template", "{{ messages }}")
            .kv_str("tokenizer.chat_template", "{{ messages }}{# second #}").build(),
        "gguf.duplicate-key__alignment.gguf": Gguf().kv_u32("general.alignment", 32).kv_u32("general.alignment", 64).build(),
        # Layouts ggml refuses (no writer produces them): dangerous.
        "gguf.tensor-alignment__odd-offset.gguf": Gguf().tensor("a", [4], F32, 0).tensor("b", [4], F32, 20).build(bytes(64)),
        "gguf.tensor-layout__reversed.gguf": Gguf().tensor("a", [8], F32, 32).tensor("b", [8], F32, 0).build(bytes(64)),
        "gguf.alignment__not-u32.gguf": Gguf().kv_str("general.alignment", "32").build(),
    }
    for name, data in mal.items():
        case(out, name, data)


if __name__ == "__main__":
    main(sys.argv[1])
