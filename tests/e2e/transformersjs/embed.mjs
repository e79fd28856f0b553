// transformers.js in Node, loading a model by repo id from a hubgate (env.remoteHost) and nothing
// else: local models off, a fresh file cache. Prints one JSON line on stdout:
//   {"embeddings": [[...384 floats], ...], "files": ["config.json", "onnx/model.onnx", ...]}
// where files are those transformers.js fetched and cached (paths inside the repo).
// Usage: node embed.mjs '{"host": "http://127.0.0.1:PORT", "repo": "org/name",
//                         "cacheDir": "/tmp/...", "sentences": ["...", ...]}'
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { env, pipeline } from '@huggingface/transformers';

const args = JSON.parse(process.argv[2]);
env.remoteHost = args.host.endsWith('/') ? args.host : `${args.host}/`;
env.allowLocalModels = false;
env.allowRemoteModels = true;
env.useFSCache = true;
env.cacheDir = args.cacheDir;

const extractor = await pipeline('feature-extraction', args.repo, { dtype: 'fp32', device: 'cpu' });
const out = await extractor(args.sentences, { pooling: 'mean', normalize: true });

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const repoCache = join(args.cacheDir, args.repo);
const files = walk(repoCache).map((p) => relative(repoCache, p)).sort();
process.stdout.write(`${JSON.stringify({ embeddings: out.tolist(), files })}\n`);
await extractor.dispose();
