"""Canonical (single-segment) and renamed repository ids through an edge, against
tests/upstream/fake_upstream.py, which redirects as the Hub does (a 307 with a relative Location
under the current id): `model-canonical` and `old-org/model` both live at `org/model`.
Run: test_moved.py <TestClass.test_name> (ctest registers each)."""
import os
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hubgate, get, sha256, start_fake_edge  # noqa: E402

CONFIG0 = b'{"model_type": "bert", "hidden_size": 8}\n'


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def raw(url, method="GET", data=None, headers=None):
    """(status, headers) of one request, redirects not followed."""
    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


class MovedThroughEdge(unittest.TestCase):
    def setUp(self):
        start_fake_edge(self, "hg-e2e-moved-")

    def hf(self, code, *args):
        env = dict(os.environ, HF_ENDPOINT=self.edge.url, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1")
        r = subprocess.run([sys.executable, "-c", code, os.path.join(self.tmp, "hh"), *args], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        return r.stdout.strip().splitlines()

    def test_single_segment_id_answers_307_like_the_hub(self):
        e = self.edge.url
        self.assertEqual(raw(e + "/api/models/model-canonical")[1].get("Location"), "/api/models/org/model")
        status, h = raw(e + "/api/models/model-canonical/revision/main")
        self.assertEqual((status, h.get("Location")), (307, "/api/models/org/model/revision/main"))
        status, h = raw(e + "/api/models/model-canonical/tree/main/sub?recursive=true")
        self.assertEqual((status, h.get("Location")), (307, "/api/models/org/model/tree/main/sub?recursive=true"))
        status, h = raw(e + "/model-canonical/resolve/main/config.json", method="HEAD")
        self.assertEqual((status, h.get("Location")), (307, "/org/model/resolve/main/config.json"))
        status, h = raw(e + "/api/models/model-canonical/paths-info/main", method="POST", data=b"paths=config.json",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, h.get("Location")), (307, "/api/models/org/model/paths-info/main"))
        # The mapping is cached like a branch mapping: one upstream question for all of the above.
        self.assertEqual(self.up.stats()["redirects"], 1)
        # An id upstream does not know is upstream's 404, in the Hub's shape.
        status, h = raw(e + "/api/models/no-such-model")
        self.assertEqual((status, h.get("X-Error-Code")), (404, "RepoNotFound"))

    def test_huggingface_hub_downloads_by_canonical_name(self):
        out = self.hf("import sys\nfrom huggingface_hub import hf_hub_download, snapshot_download, model_info\n"
                      "p = hf_hub_download('model-canonical', 'config.json', cache_dir=sys.argv[1])\n"
                      "print(open(p, 'rb').read().hex())\n"
                      "print(model_info('model-canonical').id)\n"
                      "d = snapshot_download('model-canonical', cache_dir=sys.argv[1], allow_patterns=['*.json', '*.md'])\n"
                      "import os\nprint(sorted(os.listdir(d)))\n")
        self.assertEqual(bytes.fromhex(out[0]), CONFIG0)
        self.assertEqual(out[1], "org/model")
        self.assertEqual(out[2], "['README.md', 'config.json']")

    def test_renamed_repo_is_sent_to_its_new_name_and_shares_its_cache(self):
        e = self.edge.url
        # Learned from upstream's answer to the first request that names the old id.
        status, h = raw(e + "/old-org/model/resolve/main/config.json", method="HEAD")
        self.assertEqual((status, h.get("Location")), (307, "/org/model/resolve/main/config.json"))
        status, h = raw(e + "/api/models/old-org/model/revision/main")
        self.assertEqual((status, h.get("Location")), (307, "/api/models/org/model/revision/main"))
        direct = get(self.up.url + "/org/model/resolve/main/model.bin")[2]
        self.up.control({"reset_stats": True})
        out = self.hf("import sys\nfrom huggingface_hub import hf_hub_download\n"
                      "for name in ('old-org/model', 'org/model'):\n"
                      "    print(hf_hub_download(name, 'model.bin', cache_dir=sys.argv[1], force_download=True))\n")
        self.assertEqual(len(out), 2)
        for p in out:
            self.assertEqual(sha256(open(p, "rb").read()), sha256(direct))
        # One upstream transfer: both names reach the same cached body.
        self.assertEqual(self.up.stats()["body_requests"].get("model.bin"), 1)

    def test_mapping_survives_upstream_loss_and_offline_restart(self):
        e = self.edge.url
        self.assertEqual(get(e + "/model-canonical/resolve/main/config.json")[2], CONFIG0)
        self.up.stop()
        status, h = raw(e + "/api/models/model-canonical")
        self.assertEqual((status, h.get("Location")), (307, "/api/models/org/model"))
        self.edge.stop()
        self.edge = Hubgate(self.data, upstream="http://127.0.0.1:9", extra=("--offline",))
        status, h = raw(self.edge.url + "/model-canonical/resolve/main/config.json", method="HEAD")
        self.assertEqual((status, h.get("Location")), (307, "/org/model/resolve/main/config.json"))
        self.assertEqual(get(self.edge.url + "/model-canonical/resolve/main/config.json")[2], CONFIG0)
        # Never learned: the edge says it cannot know, rather than guessing.
        self.assertEqual(raw(self.edge.url + "/api/models/other-canonical")[0], 503)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], *sys.argv[1:]], verbosity=2)
