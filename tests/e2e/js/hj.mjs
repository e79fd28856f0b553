// Drives one @huggingface/hub (2.17.5, pinned in package-lock.json) call for the Python e2e tests.
// Usage: node hj.mjs <op> '<json params>'. Prints one JSON line with the result on stdout;
// exits 1 with the error on stderr (and a JSON line {"error", "name", "statusCode"} on stdout).
// Every call passes `hubUrl` (the hubgate under test) and, when given, `accessToken`.
import {
  createRepo,
  uploadFiles,
  snapshotDownload,
  downloadFileToCacheDir,
  downloadFile,
  listFiles,
  modelInfo,
  fileDownloadInfo,
  createBranch,
  deleteBranch,
  listCommits,
  countCommits,
  listModels,
  listDatasets,
  deleteRepo,
} from "@huggingface/hub";
import { pathToFileURL } from "node:url";
import { createHash } from "node:crypto";

const [op, raw] = process.argv.slice(2);
const p = JSON.parse(raw ?? "{}");
const common = { hubUrl: p.hubUrl, ...(p.accessToken ? { accessToken: p.accessToken } : {}) };

async function run() {
  switch (op) {
    case "createRepo": {
      const r = await createRepo({ ...common, repo: { type: p.type ?? "model", name: p.repo },
        ...(p.private !== undefined ? { visibility: p.private ? "private" : "public" } : {}) });
      return r;
    }
    case "uploadFolder": {
      // The folder's files land at the repo root, in one commit.
      const r = await uploadFiles({ ...common, repo: { type: p.type ?? "model", name: p.repo },
        files: [{ path: ".", content: pathToFileURL(p.folder) }],
        commitTitle: p.message ?? "upload from @huggingface/hub",
        ...(p.branch ? { branch: p.branch } : {}), ...(p.isPullRequest ? { isPullRequest: true } : {}) });
      return r ?? null;
    }
    case "snapshotDownload": {
      const dir = await snapshotDownload({ ...common, repo: p.repo, cacheDir: p.cacheDir,
        ...(p.revision ? { revision: p.revision } : {}) });
      return { dir };
    }
    case "downloadFileToCacheDir": {
      const file = await downloadFileToCacheDir({ ...common, repo: p.repo, path: p.path,
        cacheDir: p.cacheDir, ...(p.revision ? { revision: p.revision } : {}) });
      return { file };
    }
    case "listFiles": {
      const out = [];
      for await (const e of listFiles({ ...common, repo: p.repo, recursive: p.recursive ?? true,
        ...(p.path ? { path: p.path } : {}), ...(p.revision ? { revision: p.revision } : {}),
        ...(p.expand ? { expand: true } : {}) })) {
        out.push(e);
      }
      return out;
    }
    case "modelInfo": {
      return await modelInfo({ ...common, name: p.repo,
        additionalFields: p.additionalFields ?? ["sha", "siblings"],
        ...(p.revision ? { revision: p.revision } : {}) });
    }
    case "downloadFile": {
      // The whole body through downloadFile's Blob (plain HTTP: no Xet).
      const blob = await downloadFile({ ...common, repo: p.repo, path: p.path, xet: false,
        ...(p.revision ? { revision: p.revision } : {}) });
      if (blob === null) return null;
      const buf = Buffer.from(await blob.arrayBuffer());
      return { size: buf.length, sha256: createHash("sha256").update(buf).digest("hex") };
    }
    case "fileDownloadInfo": {
      const r = await fileDownloadInfo({ ...common, repo: p.repo, path: p.path,
        ...(p.revision ? { revision: p.revision } : {}) });
      return r === null ? null : { size: r.size, etag: r.etag, url: r.url, xet: r.xet ?? null };
    }
    case "createBranch": {
      await createBranch({ ...common, repo: p.repo, branch: p.branch,
        ...(p.revision ? { revision: p.revision } : {}), ...(p.empty ? { empty: true } : {}),
        ...(p.overwrite ? { overwrite: true } : {}) });
      return { ok: true };
    }
    case "deleteBranch": {
      await deleteBranch({ ...common, repo: p.repo, branch: p.branch });
      return { ok: true };
    }
    case "listCommits": {
      const out = [];
      for await (const c of listCommits({ ...common, repo: p.repo,
        ...(p.revision ? { revision: p.revision } : {}), ...(p.batchSize ? { batchSize: p.batchSize } : {}) })) {
        out.push({ ...c, date: c.date.toISOString() });
      }
      return out;
    }
    case "countCommits": {
      return { count: await countCommits({ ...common, repo: p.repo, ...(p.revision ? { revision: p.revision } : {}) }) };
    }
    case "listModels":
    case "listDatasets": {
      const fn = op === "listModels" ? listModels : listDatasets;
      const out = [];
      for await (const m of fn({ ...common, ...(p.search ? { search: p.search } : {}),
        ...(p.sort ? { sort: p.sort } : {}), ...(p.limit ? { limit: p.limit } : {}),
        ...(p.additionalFields ? { additionalFields: p.additionalFields } : {}) })) {
        out.push({ ...m, updatedAt: m.updatedAt.toISOString() });
      }
      return out;
    }
    case "deleteRepo": {
      await deleteRepo({ ...common, repo: p.type && p.type !== "model" ? { type: p.type, name: p.repo } : p.repo });
      return { ok: true };
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

try {
  const r = await run();
  process.stdout.write(JSON.stringify(r) + "\n");
} catch (e) {
  process.stderr.write(`${e?.stack ?? e}\n`);
  // The causes under the error (fetch's "terminated" wraps the socket's or parser's error, whose
  // `data` holds the bytes it refused).
  const causes = [];
  for (let c = e?.cause, i = 0; c && i < 5; c = c.cause, i++)
    causes.push(`${c?.name ?? ""}: ${c?.message ?? c}${c?.data ? ` (data: ${String(c.data)})` : ""}`);
  process.stdout.write(JSON.stringify({ error: String(e?.message ?? e), name: e?.name ?? null,
    statusCode: e?.statusCode ?? null, causes }) + "\n");
  process.exit(1);
}
