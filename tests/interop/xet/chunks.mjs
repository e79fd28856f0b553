// Chunk boundaries, chunk hashes, merkle root and Xet file hash of each file, computed by the npm
// peer (@huggingface/xetchunk-wasm), in the same line format as `hubgate xet chunk`.
// Usage: node chunks.mjs FILE...   (each file's block starts with "== FILE")
import { readFileSync } from "node:fs";
import { getChunks, hashToHex, xorbHash, fileHash } from "@huggingface/xetchunk-wasm";

for (const path of process.argv.slice(2)) {
  const chunks = getChunks(readFileSync(path));
  const out = [`== ${path}`];
  let end = 0;
  for (const c of chunks) out.push(`${(end += c.length)} ${c.length} ${hashToHex(c.hash)}`);
  const zero = "0".repeat(64);
  out.push(`root ${chunks.length ? hashToHex(xorbHash(chunks)) : zero} file ${chunks.length ? hashToHex(fileHash(chunks)) : zero}`);
  console.log(out.join("\n"));
}
