// Benchmark of the npm peer, for bench/xet: prints the median MB/s of
//  (a) "chunk": boundary finding as @huggingface/xetchunk-wasm 0.2.0 does it (gearhash-jit
//      nextMatch after the same minimum-size skip), without hashing or copying;
//  (b) "chunk+hash": getChunks() (boundaries + BLAKE3 chunk hashes).
// Times are process CPU time (user+system), so a loaded machine does not skew the ratio.
// Usage: node bench_chunk.mjs FILE RUNS
import { readFileSync } from "node:fs";
import { Hasher } from "gearhash-jit";
import { getChunks } from "@huggingface/xetchunk-wasm";

const data = readFileSync(process.argv[2]);
const runs = Number(process.argv[3] || 5);
const MIN = 8192, MAX = 131072, MASK = 0xffff000000000000n;

function chunkOnly(buf) {
  const g = new Hasher(MASK);
  let pos = 0, n = 0;
  while (pos < buf.length) {
    let len = 0;
    const skip = Math.min(MIN - 64 - 1, buf.length - pos);
    len += skip;
    const end = Math.min(buf.length, pos + MAX);
    const m = g.nextMatch(buf.subarray(pos + skip, end));
    len = m !== -1 ? skip + m : end - pos;
    pos += len;
    n++;
    g.resetHash();
  }
  return n;
}

function median(xs) { xs.sort((a, b) => a - b); return xs[Math.floor(xs.length / 2)]; }
function time(fn) {
  const out = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t0);
    out.push((d.user + d.system) / 1e6);
  }
  return data.length / 1e6 / median(out);
}
console.log(`npm_chunk_MBps ${time(() => chunkOnly(data)).toFixed(1)}`);
console.log(`npm_chunk_hash_MBps ${time(() => getChunks(data)).toFixed(1)}`);
