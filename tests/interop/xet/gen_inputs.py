"""Deterministic test inputs for the Xet differential tests: varied sizes and entropies."""
import os
import random

LOW2 = bytes(b & 3 for b in range(256))
EXPONENT = bytes(0x3C | (b & 0x81) for b in range(256))


def make_inputs(folder, count=120, seed=20240601):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    fixed = [0, 1, 2, 63, 64, 4095, 8127, 8128, 8191, 8192, 8193, 65536, 131071, 131072, 131073, 262144]
    paths = []
    for i in range(count):
        if i < len(fixed):
            n = fixed[i]
        elif i % 10 == 0:
            n = rng.randrange(4 << 20, 9 << 20)
        else:
            n = rng.randrange(0, 3 << 20)
        kind = i % 5
        if kind == 0 or kind == 1:
            data = rng.randbytes(n)
        elif kind == 2:  # low entropy: many min-size edge cases
            data = rng.randbytes(n).translate(LOW2)
        elif kind == 3:  # float32-like weights: small exponents, random mantissas
            buf = bytearray(rng.randbytes(n))
            buf[3::4] = bytes(buf[3::4]).translate(EXPONENT)
            data = bytes(buf)
        else:  # runs of zeros and random blocks (hits the 128 KiB maximum)
            parts, left = [], n
            while left > 0:
                k = min(left, rng.randrange(1, 300000))
                parts.append(bytes(k) if rng.random() < 0.5 else rng.randbytes(k))
                left -= k
            data = b"".join(parts)
        p = os.path.join(folder, f"in{i:03d}_{n}.bin")
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    return paths
