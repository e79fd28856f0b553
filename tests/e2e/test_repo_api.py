"""The repository API of hosted repositories with the pinned clients: branches, tags, refs,
history, listing and search, settings and gated access, move, delete, super-squash, pull requests
and discussions, and the audit records of every write. huggingface_hub (HfApi) and, where it has
the call, @huggingface/hub (createBranch, deleteBranch, listCommits, countCommits, listModels,
listDatasets, deleteRepo), including the error cases."""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.utils import (
    BadRequestError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

import hubgate_e2e as hg


@pytest.fixture(scope="module")
def team_token(hub):
    """A write token limited to the `team` namespace."""
    return hg.create_token(hub.root / "data", "e2e-team", write=True, repos="team/*")


def api(hub, token=None) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.write_token if token is None else token)


def new_repo(hub, repo_id, *, repo_type=None, private=False, files=None):
    a = api(hub)
    a.create_repo(repo_id, repo_type=repo_type, private=private)
    for path, content in (files or {}).items():
        a.upload_file(path_or_fileobj=content.encode(), path_in_repo=path, repo_id=repo_id, repo_type=repo_type,
                      commit_message=f"add {path}")
    return a


def node(hub, op, token=None, **params):
    return hg.run_node(op, {"hubUrl": hub.url, "accessToken": token or hub.write_token, **params})


def status_of(exc) -> int:
    return exc.value.response.status_code


def audit(hub, action):
    r = hub.server.get("/api/admin/audit?kind=repo&limit=100000", token=hub.write_token)
    assert r.status == 200, r.body
    return [e for e in r.json() if e["decision"] == action]


# ---------------------------------------------------------------- refs


def test_branches_create_list_delete(hub):
    a = new_repo(hub, "e2e/refs", files={"a.txt": "one\n"})
    head = a.model_info("e2e/refs").sha
    first = a.list_repo_commits("e2e/refs")[-1].commit_id  # "initial commit"
    a.create_branch("e2e/refs", branch="dev")
    a.create_branch("e2e/refs", branch="old", revision=first)
    a.create_branch("e2e/refs", branch="feature/x", revision=head[:7])
    refs = a.list_repo_refs("e2e/refs")
    branches = {b.name: b.target_commit for b in refs.branches}
    assert branches == {"main": head, "dev": head, "old": first, "feature/x": head}
    assert refs.tags == [] and refs.converts == []
    # The branch serves its own revision.
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("e2e/refs", "a.txt", revision="old", endpoint=hub.url, token=hub.write_token)
    assert open(hf_hub_download("e2e/refs", "a.txt", revision="feature/x", endpoint=hub.url,
                                token=hub.write_token)).read() == "one\n"

    with pytest.raises(HfHubHTTPError) as e:
        a.create_branch("e2e/refs", branch="dev")
    assert status_of(e) == 409 and "refs/heads/dev already exists" in str(e.value)
    a.create_branch("e2e/refs", branch="dev", exist_ok=True)
    with pytest.raises(RevisionNotFoundError):
        a.create_branch("e2e/refs", branch="nowhere", revision="no-such-rev")
    with pytest.raises(BadRequestError):
        a.create_branch("e2e/refs", branch="refs/pr/5")
    with pytest.raises(HfHubHTTPError) as e:
        a.delete_branch("e2e/refs", branch="main")
    assert status_of(e) == 403 and "Cannot delete refs/heads/main" in str(e.value)
    with pytest.raises(RevisionNotFoundError):
        a.delete_branch("e2e/refs", branch="no-such-branch")

    a.delete_branch("e2e/refs", branch="dev")
    a.delete_branch("e2e/refs", branch="feature/x")
    assert {b.name for b in a.list_repo_refs("e2e/refs").branches} == {"main", "old"}
    with pytest.raises(RevisionNotFoundError):
        a.model_info("e2e/refs", revision="dev")


def test_branch_errors_for_other_tokens(hub, team_token):
    new_repo(hub, "e2e/refs-perm")
    with pytest.raises(HfHubHTTPError) as e:
        api(hub, hub.read_token).create_branch("e2e/refs-perm", branch="x")
    assert status_of(e) == 403
    with pytest.raises(HfHubHTTPError) as e:  # another namespace's repo
        api(hub, team_token).create_branch("e2e/refs-perm", branch="x")
    assert status_of(e) == 403
    with pytest.raises(RepositoryNotFoundError):
        api(hub).create_branch("e2e/does-not-exist", branch="x")
    assert "x" not in {b.name for b in api(hub).list_repo_refs("e2e/refs-perm").branches}


def test_tags(hub):
    a = new_repo(hub, "e2e/tags", files={"w.txt": "v1\n"})
    v1 = a.model_info("e2e/tags").sha
    a.create_tag("e2e/tags", tag="v1.0", tag_message="first release")
    a.upload_file(path_or_fileobj=b"v2\n", path_in_repo="w.txt", repo_id="e2e/tags")
    with pytest.raises(HfHubHTTPError) as e:
        a.create_tag("e2e/tags", tag="v1.0")
    assert status_of(e) == 409
    a.create_tag("e2e/tags", tag="v1.0", exist_ok=True)
    with pytest.raises(RevisionNotFoundError):
        a.create_tag("e2e/tags", tag="v9", revision="no-such-rev")
    with pytest.raises(HfHubHTTPError) as e:
        a.create_tag("e2e/tags", tag="bad name")
    assert status_of(e) == 400
    a.create_branch("e2e/tags", branch="v1.0")  # a branch may share a tag's name
    tags = a.list_repo_refs("e2e/tags").tags
    assert [(t.name, t.ref, t.target_commit) for t in tags] == [("v1.0", "refs/tags/v1.0", v1)]
    path = hf_hub_download("e2e/tags", "w.txt", revision="refs/tags/v1.0", endpoint=hub.url, token=hub.write_token)
    assert open(path).read() == "v1\n"

    with pytest.raises(HfHubHTTPError):
        a.delete_tag("e2e/tags", tag="main")
    a.delete_tag("e2e/tags", tag="v1.0")
    with pytest.raises(RevisionNotFoundError):
        a.delete_tag("e2e/tags", tag="v1.0")
    with pytest.raises(RevisionNotFoundError):
        a.model_info("e2e/tags", revision="refs/tags/v1.0")
    assert a.list_repo_refs("e2e/tags").tags == []


def test_npm_create_and_delete_branch(hub):
    a = new_repo(hub, "e2e/npm-refs", files={"f.txt": "x\n"})
    head = a.model_info("e2e/npm-refs").sha
    node(hub, "createBranch", repo="e2e/npm-refs", branch="npm-dev")
    node(hub, "createBranch", repo="e2e/npm-refs", branch="npm-empty", empty=True)
    refs = {b.name: b.target_commit for b in a.list_repo_refs("e2e/npm-refs").branches}
    assert refs["npm-dev"] == head and refs["npm-empty"] != head
    assert [f for f in a.list_repo_files("e2e/npm-refs", revision="npm-empty")] == []
    with pytest.raises(hg.NodeError) as e:
        node(hub, "createBranch", repo="e2e/npm-refs", branch="npm-dev")
    assert "already exists" in e.value.stdout
    node(hub, "createBranch", repo="e2e/npm-refs", branch="npm-dev", overwrite=True, revision="npm-empty")
    assert {b.name: b.target_commit for b in a.list_repo_refs("e2e/npm-refs").branches}["npm-dev"] == refs["npm-empty"]
    with pytest.raises(hg.NodeError):
        node(hub, "createBranch", token=hub.read_token, repo="e2e/npm-refs", branch="nope")
    node(hub, "deleteBranch", repo="e2e/npm-refs", branch="npm-dev")
    with pytest.raises(hg.NodeError) as e:
        node(hub, "deleteBranch", repo="e2e/npm-refs", branch="main")
    assert "Cannot delete refs/heads/main" in e.value.stdout
    with pytest.raises(hg.NodeError):
        node(hub, "deleteBranch", repo="e2e/npm-refs", branch="npm-dev")
    assert {b.name for b in a.list_repo_refs("e2e/npm-refs").branches} == {"main", "npm-empty"}


def test_npm_refuses_other_namespaces_and_taken_names(hub, team_token):
    new_repo(hub, "e2e/npm-guarded", files={"g.txt": "g\n"})
    for op, params in [("createBranch", {"branch": "intruder"}), ("deleteBranch", {"branch": "main"}),
                       ("deleteRepo", {})]:
        with pytest.raises(hg.NodeError) as e:
            node(hub, op, token=team_token, repo="e2e/npm-guarded", **params)
        assert json.loads(e.value.stdout.strip().splitlines()[-1])["statusCode"] == 403, (op, e.value.stdout)
    with pytest.raises(hg.NodeError) as e:  # the name exists
        node(hub, "createRepo", repo="e2e/npm-guarded")
    assert json.loads(e.value.stdout.strip().splitlines()[-1])["statusCode"] == 409
    with pytest.raises(hg.NodeError) as e:  # unknown branch
        node(hub, "deleteBranch", repo="e2e/npm-guarded", branch="never-was")
    assert json.loads(e.value.stdout.strip().splitlines()[-1])["statusCode"] == 404
    assert {b.name for b in api(hub).list_repo_refs("e2e/npm-guarded").branches} == {"main"}
    assert api(hub).list_repo_files("e2e/npm-guarded") == [".gitattributes", "g.txt"]


# ---------------------------------------------------------------- history


def test_list_commits_and_pagination(hub):
    a = new_repo(hub, "e2e/history", files={f"f{i}.txt": f"{i}\n" for i in range(5)})
    commits = a.list_repo_commits("e2e/history")
    assert [c.title for c in commits] == [f"add f{i}.txt" for i in reversed(range(5))] + ["initial commit"]
    assert commits[0].commit_id == a.model_info("e2e/history").sha
    assert all(c.authors == ["e2e-writer"] for c in commits[:5])
    assert all(c.created_at.tzinfo is not None for c in commits)
    formatted = a.list_repo_commits("e2e/history", formatted=True)
    assert formatted[0].formatted_title == "add f4.txt"
    # Link pagination with a small page: absolute URL, every parameter repeated, exact total.
    r = hub.server.get("/api/models/e2e/history/commits/main?limit=2&expand%5B%5D=formatted", token=hub.read_token)
    assert r.status == 200 and r.header("X-Total-Count") == "6"
    m = re.fullmatch(r'<(http://[^>]+)>; rel="next"', r.header("Link"))
    assert m, r.header("Link")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(m.group(1)).query)
    assert q["limit"] == ["2"] and q["expand[]"] == ["formatted"]
    ids = []
    url = "/api/models/e2e/history/commits/main?limit=2"
    while url:
        r = hub.server.get(url, token=hub.read_token)
        ids += [c["id"] for c in r.json()]
        link = r.header("Link")
        url = urllib.parse.urlsplit(link[1:link.index(">")])._replace(scheme="", netloc="").geturl() if link else None
    assert ids == [c.commit_id for c in commits]
    # npm: listCommits pages through Link (batchSize 2), countCommits reads X-Total-Count.
    js = node(hub, "listCommits", token=hub.read_token, repo="e2e/history", batchSize=2)
    assert [c["oid"] for c in js] == ids
    assert js[0]["title"] == "add f4.txt" and js[0]["authors"][0]["username"] == "e2e-writer"
    assert node(hub, "countCommits", token=hub.read_token, repo="e2e/history")["count"] == 6
    # A tag's and an older sha's own history.
    a.create_tag("e2e/history", tag="t2", revision=commits[3].commit_id)
    assert [c.commit_id for c in a.list_repo_commits("e2e/history", revision="t2")] == ids[3:]
    assert [c.commit_id for c in a.list_repo_commits("e2e/history", revision=ids[4][:8])] == ids[4:]
    with pytest.raises(RevisionNotFoundError):
        a.list_repo_commits("e2e/history", revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        a.list_repo_commits("e2e/no-such-repo")
    with pytest.raises(hg.NodeError):
        node(hub, "listCommits", repo="e2e/history", revision="no-such-branch")


def test_super_squash(hub):
    a = new_repo(hub, "e2e/squash", files={"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"})
    before = a.list_repo_commits("e2e/squash")
    a.create_branch("e2e/squash", branch="keep")
    a.super_squash_history("e2e/squash", commit_message="squashed")
    after = a.list_repo_commits("e2e/squash")
    assert len(after) == 1 and after[0].title == "squashed"
    assert [c.commit_id for c in a.list_repo_commits("e2e/squash", revision="keep")] == [c.commit_id for c in before]
    assert a.list_repo_commits("e2e/squash", revision="keep")[-1].title == "initial commit"
    for name, content in {"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"}.items():
        assert open(hf_hub_download("e2e/squash", name, endpoint=hub.url, token=hub.write_token)).read() == content
    with pytest.raises(RevisionNotFoundError):
        a.super_squash_history("e2e/squash", branch="no-such-branch")
    with pytest.raises(HfHubHTTPError) as e:
        api(hub, hub.read_token).super_squash_history("e2e/squash")
    assert status_of(e) == 403


# ---------------------------------------------------------------- listing


@pytest.fixture(scope="module")
def listed(hub):
    card = "---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- lora\n- e2e\n---\n# m\n"
    new_repo(hub, "lister/alpha", files={"README.md": card})
    new_repo(hub, "lister/beta", files={"README.md": "---\ntags: [e2e]\n---\n"})
    new_repo(hub, "lister/gamma-secret", private=True)
    new_repo(hub, "lister/delta")
    new_repo(hub, "lister/data-one", repo_type="dataset", files={"README.md": "---\nlanguage:\n- en\n---\n"})
    return ["lister/alpha", "lister/beta", "lister/delta", "lister/gamma-secret"]


def test_list_models_filters(hub, listed, team_token):
    a = api(hub)
    assert sorted(m.id for m in a.list_models(author="lister")) == listed
    anon = HfApi(endpoint=hub.url, token=False)
    assert sorted(m.id for m in anon.list_models(author="lister")) == [x for x in listed if "secret" not in x]
    assert "lister/gamma-secret" not in [m.id for m in api(hub, team_token).list_models(author="lister")]
    assert [m.id for m in a.list_models(author="lister", search="alph")] == ["lister/alpha"]
    assert sorted(m.id for m in a.list_models(filter="e2e")) == ["lister/alpha", "lister/beta"]
    assert [m.id for m in a.list_models(filter=["e2e", "license:mit"])] == ["lister/alpha"]
    alpha = next(iter(a.list_models(search="lister/alpha", full=True)))
    assert alpha.pipeline_tag == "text-generation" and alpha.library_name == "transformers"
    assert "lora" in alpha.tags and {s.rfilename for s in alpha.siblings} == {".gitattributes", "README.md"}
    assert alpha.sha == a.model_info("lister/alpha").sha and alpha.last_modified is not None
    info = a.model_info("lister/alpha")  # repo info carries the same card fields
    assert info.tags == alpha.tags and info.pipeline_tag == "text-generation" and info.card_data.license == "mit"
    newest = list(a.list_models(author="lister", sort="lastModified", direction=-1))
    assert sorted(m.id for m in newest) == listed
    assert [m.last_modified for m in newest] == sorted((m.last_modified for m in newest), reverse=True)
    assert len(list(a.list_models(author="lister", limit=2))) == 2
    expanded = next(iter(a.list_models(search="lister/beta", expand=["private", "sha"])))
    assert expanded.private is False and expanded.sha and expanded.tags is None
    ds = list(a.list_datasets(author="lister"))
    assert [d.id for d in ds] == ["lister/data-one"] and "language:en" in ds[0].tags
    assert [d.id for d in a.list_datasets(filter="language:en", author="lister")] == ["lister/data-one"]


def test_list_models_cursor_pagination(hub, listed):
    r = hub.server.get("/api/models?author=lister&limit=2&sort=id", token=hub.write_token)
    seen = [m["id"] for m in r.json()]
    assert all(set(m) >= {"_id", "id"} and len(m["_id"]) == 24 for m in r.json())
    while r.header("Link"):
        link = r.header("Link")
        m = re.fullmatch(r'<(http://[^>]+)>; rel="next"', link)
        assert m, link
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(m.group(1)).query)
        assert q["author"] == ["lister"] and q["limit"] == ["2"] and q["sort"] == ["id"] and "cursor" in q
        r = hub.server.get(urllib.parse.urlsplit(m.group(1))._replace(scheme="", netloc="").geturl(),
                           token=hub.write_token)
        seen += [x["id"] for x in r.json()]
    assert seen == sorted(listed, reverse=True)  # sort=id, descending like every sort


def test_npm_list_models_and_datasets(hub, listed):
    models = node(hub, "listModels", search={"owner": "lister"})
    assert sorted(m["name"] for m in models) == listed
    alpha = next(m for m in models if m["name"] == "lister/alpha")
    assert alpha["task"] == "text-generation" and alpha["private"] is False and alpha["gated"] is False
    assert len(alpha["id"]) == 24 and alpha["updatedAt"].endswith("Z")
    anon = hg.run_node("listModels", {"hubUrl": hub.url, "search": {"owner": "lister"}})
    assert "lister/gamma-secret" not in [m["name"] for m in anon]
    tagged = node(hub, "listModels", search={"owner": "lister", "tags": ["lora"]}, additionalFields=["filePaths"])
    assert [m["name"] for m in tagged] == ["lister/alpha"] and "README.md" in tagged[0]["filePaths"]
    ds = node(hub, "listDatasets", search={"owner": "lister"})
    assert [d["name"] for d in ds] == ["lister/data-one"]


# ---------------------------------------------------------------- settings, gated access


def test_private_setting_applies_at_once(hub):
    a = new_repo(hub, "e2e/vis", files={"v.txt": "v\n"})
    anon = HfApi(endpoint=hub.url, token=False)
    assert anon.model_info("e2e/vis").private is False
    a.update_repo_settings("e2e/vis", private=True)
    with pytest.raises(RepositoryNotFoundError):
        anon.model_info("e2e/vis")
    assert a.model_info("e2e/vis").private is True
    # Newer clients send `visibility`.
    r = hub.server.request("PUT", "/api/models/e2e/vis/settings", body=b'{"visibility":"public"}',
                           headers={"Authorization": f"Bearer {hub.write_token}", "Content-Type": "application/json"})
    assert r.status == 200
    assert anon.model_info("e2e/vis").private is False
    with pytest.raises(HfHubHTTPError) as e:
        api(hub, hub.read_token).update_repo_settings("e2e/vis", private=True)
    assert status_of(e) == 403
    r = hub.server.request("PUT", "/api/models/e2e/vis/settings", body=b'{"gated":"sometimes"}',
                           headers={"Authorization": f"Bearer {hub.write_token}"})
    assert r.status == 400 and r.json()["error"]


def test_gated_access_requests(hub, tmp_path):
    caches = iter(range(100))

    def download(token):  # a fresh cache each time: the answer comes from the server
        return open(hf_hub_download("e2e/gated", "g.txt", endpoint=hub.url, token=token,
                                    cache_dir=tmp_path / f"c{next(caches)}")).read()

    a = new_repo(hub, "e2e/gated", files={"g.txt": "gated\n"})
    a.update_repo_settings("e2e/gated", gated="manual")
    assert a.model_info("e2e/gated").gated == "manual"
    with pytest.raises(GatedRepoError):
        download(hub.read_token)
    # The writer reads; a user asks for access and waits for the owner.
    assert download(hub.write_token) == "gated\n"
    r = hub.server.request("POST", "/api/models/e2e/gated/ask-access", body=b'{"reason":"research"}',
                           headers={"Authorization": f"Bearer {hub.read_token}"})
    assert r.status == 200 and r.json()["status"] == "pending"
    pending = a.list_pending_access_requests("e2e/gated")
    assert [(p.username, p.status, p.fields) for p in pending] == [("e2e-reader", "pending", {"reason": "research"})]
    with pytest.raises(GatedRepoError):
        download(hub.read_token)
    a.accept_access_request("e2e/gated", "e2e-reader")
    assert [p.username for p in a.list_accepted_access_requests("e2e/gated")] == ["e2e-reader"]
    assert download(hub.read_token) == "gated\n"
    a.reject_access_request("e2e/gated", "e2e-reader", rejection_reason="no longer")
    assert [p.username for p in a.list_rejected_access_requests("e2e/gated")] == ["e2e-reader"]
    with pytest.raises(GatedRepoError):
        download(hub.read_token)
    a.grant_access("e2e/gated", "e2e-scoped")
    with pytest.raises(HfHubHTTPError) as e:
        a.grant_access("e2e/gated", "e2e-scoped")
    assert status_of(e) == 400
    with pytest.raises(HfHubHTTPError) as e:
        a.accept_access_request("e2e/gated", "nobody")
    assert status_of(e) == 404
    # auto: a request is accepted as it is made.
    a.update_repo_settings("e2e/gated", gated="auto")
    newcomer = hg.create_token(hub.root / "data", "e2e-newcomer")
    with pytest.raises(GatedRepoError):
        download(newcomer)
    r = hub.server.request("POST", "/api/models/e2e/gated/ask-access", body=b"{}",
                           headers={"Authorization": f"Bearer {newcomer}"})
    assert r.json()["status"] == "accepted"
    assert download(newcomer) == "gated\n"
    assert "e2e-newcomer" in [p.username for p in a.list_accepted_access_requests("e2e/gated")]
    a.update_repo_settings("e2e/gated", gated=False)
    with pytest.raises(BadRequestError):
        a.list_pending_access_requests("e2e/gated")
    assert download(hub.read_token) == "gated\n"


# ---------------------------------------------------------------- move and delete


def test_move_repo_redirects(hub, team_token, tmp_path):
    a = new_repo(hub, "e2e/before-move", private=True, files={"m.txt": "moved\n"})
    new_repo(hub, "e2e/taken")
    a.move_repo("e2e/before-move", "e2e/after-move")
    info = a.model_info("e2e/before-move")  # followed 307 (same origin: token kept)
    assert info.id == "e2e/after-move"
    r = hub.server.get("/api/models/e2e/before-move/revision/main?x=1", token=hub.write_token)
    assert r.status == 307 and r.header("Location") == "/api/models/e2e/after-move/revision/main?x=1"
    r = hub.server.get("/e2e/before-move/resolve/main/m.txt", token=hub.write_token)
    assert r.status == 307 and r.header("Location") == "/e2e/after-move/resolve/main/m.txt"
    path = hf_hub_download("e2e/before-move", "m.txt", endpoint=hub.url, token=hub.write_token,
                           cache_dir=tmp_path)  # private repo, downloaded by its old id
    assert open(path).read() == "moved\n"
    with pytest.raises(HfHubHTTPError) as e:
        a.move_repo("e2e/after-move", "e2e/taken")
    assert status_of(e) == 409 and "already exists" in str(e.value)
    with pytest.raises(HfHubHTTPError) as e:  # the target namespace is not the token's
        api(hub, team_token).move_repo("team/none", "team/none2")
    assert status_of(e) == 404
    api(hub).create_repo("team/mine")
    with pytest.raises(HfHubHTTPError) as e:
        api(hub, team_token).move_repo("team/mine", "e2e/stolen")
    assert status_of(e) == 403
    with pytest.raises(HfHubHTTPError) as e:
        api(hub, hub.read_token).move_repo("e2e/after-move", "e2e/elsewhere")
    assert status_of(e) == 403
    with pytest.raises(RepositoryNotFoundError):
        a.move_repo("e2e/never-was", "e2e/whatever")
    # A new repository may take the old name; it wins over the redirect.
    a.create_repo("e2e/before-move")
    assert a.model_info("e2e/before-move").id == "e2e/before-move"


def test_delete_repo(hub):
    a = new_repo(hub, "e2e/doomed", files={"d.txt": "d\n"})
    a.move_repo("e2e/doomed", "e2e/doomed2")
    with pytest.raises(HfHubHTTPError) as e:
        api(hub, hub.read_token).delete_repo("e2e/doomed2")
    assert status_of(e) == 403
    a.delete_repo("e2e/doomed2")
    with pytest.raises(RepositoryNotFoundError):
        a.model_info("e2e/doomed2")
    with pytest.raises(RepositoryNotFoundError):
        a.model_info("e2e/doomed")  # the old name no longer redirects
    with pytest.raises(RepositoryNotFoundError):
        a.delete_repo("e2e/doomed2")
    a.delete_repo("e2e/doomed2", missing_ok=True)
    assert "e2e/doomed2" not in [m.id for m in a.list_models(author="e2e")]
    a.create_repo("e2e/doomed2")  # the name is free again, with a fresh history
    assert [c.title for c in a.list_repo_commits("e2e/doomed2")] == ["initial commit"]


def test_npm_delete_repo(hub):
    new_repo(hub, "e2e/npm-doomed")
    new_repo(hub, "e2e/npm-doomed-ds", repo_type="dataset")
    with pytest.raises(hg.NodeError):
        node(hub, "deleteRepo", token=hub.read_token, repo="e2e/npm-doomed")
    node(hub, "deleteRepo", repo="e2e/npm-doomed")
    node(hub, "deleteRepo", repo="e2e/npm-doomed-ds", type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        api(hub).model_info("e2e/npm-doomed")
    with pytest.raises(RepositoryNotFoundError):
        api(hub).dataset_info("e2e/npm-doomed-ds")
    with pytest.raises(hg.NodeError):
        node(hub, "deleteRepo", repo="e2e/npm-doomed")


# ---------------------------------------------------------------- pull requests


def test_pull_request_review_and_merge(hub):
    a = new_repo(hub, "e2e/prs", files={"base.txt": "base\n"})
    info = a.upload_file(path_or_fileobj=b"tuned weights\n", path_in_repo="adapter.txt", repo_id="e2e/prs",
                         commit_message="fine-tune run 7", create_pr=True)
    assert info.pr_url.endswith("/discussions/1") and info.pr_num == 1 and info.pr_revision == "refs/pr/1"
    a.upload_file(path_or_fileobj=b"more\n", path_in_repo="notes.txt", repo_id="e2e/prs",
                  revision="refs/pr/1", commit_message="second push")
    refs = a.list_repo_refs("e2e/prs", include_pull_requests=True)
    assert [p.ref for p in refs.pull_requests] == ["refs/pr/1"]
    assert "adapter.txt" not in a.list_repo_files("e2e/prs")
    pr_commits = [c.title for c in a.list_repo_commits("e2e/prs", revision="refs/pr/1")]
    assert pr_commits[:2] == ["second push", "fine-tune run 7"]
    with pytest.raises(RevisionNotFoundError):
        a.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="e2e/prs", revision="no-branch",
                      create_pr=True)

    discussions = list(a.get_repo_discussions("e2e/prs"))
    assert [(d.num, d.is_pull_request, d.status, d.author) for d in discussions] == [(1, True, "open", "e2e-writer")]
    details = a.get_discussion_details("e2e/prs", 1)
    assert details.target_branch == "refs/heads/main" and details.conflicting_files == []
    assert [e.type for e in details.events] == ["comment", "commit", "commit"]
    assert [e.summary for e in details.events if e.type == "commit"] == ["fine-tune run 7", "second push"]
    raw = hub.server.get("/api/models/e2e/prs/discussions/1", token=hub.read_token).json()
    verdicts = {v["path"]: v["decision"] for v in raw["hubgate"]["security"]}
    assert verdicts == {"adapter.txt": "allowed", "notes.txt": "allowed"} and raw["hubgate"]["mergeable"] is True

    comment = a.comment_discussion("e2e/prs", 1, "looks good")
    assert comment.content == "looks good"
    edited = a.edit_discussion_comment("e2e/prs", 1, comment.id, "looks very good")
    assert edited.content == "looks very good" and edited.edited
    closed = a.change_discussion_status("e2e/prs", 1, "closed")
    assert closed.new_status == "closed"
    with pytest.raises(HfHubHTTPError):
        a.merge_pull_request("e2e/prs", 1)  # closed
    a.change_discussion_status("e2e/prs", 1, "open")
    with pytest.raises(HfHubHTTPError) as e:
        api(hub, hub.read_token).merge_pull_request("e2e/prs", 1)
    assert status_of(e) == 403
    main_before = a.model_info("e2e/prs").sha
    a.merge_pull_request("e2e/prs", 1, comment="merging")
    merged = a.get_discussion_details("e2e/prs", 1)
    assert merged.status == "merged" and merged.merge_commit_oid == a.model_info("e2e/prs").sha != main_before
    assert set(a.list_repo_files("e2e/prs")) == {".gitattributes", "base.txt", "adapter.txt", "notes.txt"}
    assert [c.title for c in a.list_repo_commits("e2e/prs")][0] == "fine-tune run 7 (#1)"
    with pytest.raises(HfHubHTTPError):
        a.merge_pull_request("e2e/prs", 1)  # already merged


def test_npm_commit_as_pull_request(hub, tmp_path):
    a = new_repo(hub, "e2e/npm-pr", files={"base.txt": "b\n"})
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "lora.txt").write_text("adapter\n")
    r = node(hub, "uploadFolder", repo="e2e/npm-pr", folder=str(tmp_path / "up"), message="npm fine-tune",
             isPullRequest=True)
    assert r["pullRequestUrl"].endswith("/e2e/npm-pr/discussions/1")
    assert "lora.txt" not in a.list_repo_files("e2e/npm-pr")
    assert "lora.txt" in a.list_repo_files("e2e/npm-pr", revision="refs/pr/1")
    pr = a.get_discussion_details("e2e/npm-pr", 1)
    assert pr.is_pull_request and pr.status == "open" and pr.title == "npm fine-tune"
    assert [e.summary for e in pr.events if e.type == "commit"] == ["npm fine-tune"]


def test_discussions_and_draft_pull_requests(hub):
    a = new_repo(hub, "e2e/talk", files={"t.txt": "t\n"})
    d = a.create_discussion("e2e/talk", title="A question", description="How was this trained?")
    assert d.num == 1 and not d.is_pull_request and d.status == "open"
    pr = a.create_pull_request("e2e/talk", title="Draft change", description="wip")
    assert pr.num == 2 and pr.is_pull_request and pr.status == "draft"
    assert a.model_info("e2e/talk", revision="refs/pr/2").sha == a.model_info("e2e/talk").sha
    with pytest.raises(HfHubHTTPError):
        a.merge_pull_request("e2e/talk", 2)  # drafts cannot be merged
    with pytest.raises(HfHubHTTPError):
        a.merge_pull_request("e2e/talk", 1)  # not a pull request
    assert [x.num for x in a.get_repo_discussions("e2e/talk")] == [2, 1]
    assert [x.num for x in a.get_repo_discussions("e2e/talk", discussion_type="pull_request")] == [2]
    assert [x.num for x in a.get_repo_discussions("e2e/talk", discussion_status="open")] == [2, 1]
    renamed = a.rename_discussion("e2e/talk", 1, "A better question")
    assert (renamed.old_title, renamed.new_title) == ("A question", "A better question")
    first = a.get_discussion_details("e2e/talk", 1).events[0]
    assert first.content == "How was this trained?"
    hidden = a.hide_discussion_comment("e2e/talk", 1, first.id)
    assert hidden.hidden
    a.change_discussion_status("e2e/talk", 1, "closed", comment="answered")
    assert [x.num for x in a.get_repo_discussions("e2e/talk", discussion_status="closed")] == [1]
    with pytest.raises(HfHubHTTPError) as e:
        api(hub, hub.read_token).comment_discussion("e2e/talk", 1, "read-only")
    assert status_of(e) == 403
    with pytest.raises(HfHubHTTPError) as e:
        a.get_discussion_details("e2e/talk", 99)
    assert status_of(e) == 404


def test_merge_conflict_is_listed(hub):
    a = new_repo(hub, "e2e/conflict", files={"c.txt": "base\n"})
    a.upload_file(path_or_fileobj=b"pr side\n", path_in_repo="c.txt", repo_id="e2e/conflict", create_pr=True)
    a.upload_file(path_or_fileobj=b"main side\n", path_in_repo="c.txt", repo_id="e2e/conflict")
    assert a.get_discussion_details("e2e/conflict", 1).conflicting_files == ["c.txt"]
    with pytest.raises(HfHubHTTPError) as e:
        a.merge_pull_request("e2e/conflict", 1)
    assert status_of(e) == 409


# ---------------------------------------------------------------- audit


def test_every_write_is_audited(hub):
    a = new_repo(hub, "e2e/audited")
    a.create_branch("e2e/audited", branch="b1")
    a.create_tag("e2e/audited", tag="t1")
    a.update_repo_settings("e2e/audited", private=True)
    a.delete_branch("e2e/audited", branch="b1")
    a.move_repo("e2e/audited", "e2e/audited2")
    a.delete_repo("e2e/audited2")
    for action, repo in [("create_repo", "e2e/audited"), ("create_branch", "e2e/audited"),
                         ("create_tag", "e2e/audited"), ("update_settings", "e2e/audited"),
                         ("delete_branch", "e2e/audited"), ("move_repo", "e2e/audited2"),
                         ("delete_repo", "e2e/audited2")]:
        recs = [r for r in audit(hub, action) if r["repo"] == repo]
        assert len(recs) == 1, (action, recs)
        assert recs[0]["client"] == "e2e-writer" and recs[0]["kind"] == "repo"
    assert [r["revision"] for r in audit(hub, "create_branch") if r["repo"] == "e2e/audited"] == ["b1"]
    assert json.loads(json.dumps(audit(hub, "commit")))  # commits are recorded too


def test_pull_request_merge_needs_the_signature_policy(tmp_path):
    """A PR whose head fails the repository's signature policy shows the verdict and is not merged."""
    import subprocess

    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(keys / "k.pem")], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(keys / "k.pem"), "-pubout", "-out", str(keys / "k.pub")],
                   check=True, capture_output=True)
    policy = keys / "policy.json"
    policy.write_text(json.dumps({"policies": [{"repos": "signedrepo/*", "signers": [{"public_key": "k.pub"}]}]}))
    data = tmp_path / "data"
    data.mkdir()
    token = hg.create_token(data, "e2e-signer", write=True)
    srv = hg.start_server(data, ["--upstream", "none", "--signing-policy", str(policy)])
    try:
        a = HfApi(endpoint=srv.url, token=token)
        a.create_repo("signedrepo/m")
        a.create_repo("free/m")
        for repo in ("signedrepo/m", "free/m"):
            a.upload_file(path_or_fileobj=b"unsigned weights\n", path_in_repo="w.txt", repo_id=repo, create_pr=True)
        raw = srv.get("/api/models/signedrepo/m/discussions/1", token=token).json()
        assert raw["hubgate"]["mergeable"] is False
        assert raw["hubgate"]["signature"]["status"] != "verified" and raw["hubgate"]["signature"]["policy"] == "signedrepo/*"
        r = srv.request("POST", "/api/models/signedrepo/m/discussions/1/merge", body=b"{}",
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status == 403 and r.header("X-Error-Code") == "BlockedBySecurityPolicy", r.body
        assert r.json()["hubgate"]["mergeable"] is False
        assert srv.get("/api/models/signedrepo/m/discussions/1", token=token).json()["status"] == "open"
        # Outside the policy the same PR merges.
        raw = srv.get("/api/models/free/m/discussions/1", token=token).json()
        assert raw["hubgate"]["mergeable"] is True and raw["hubgate"]["signature"]["status"] == "not-required"
        r = srv.request("POST", "/api/models/free/m/discussions/1/merge", body=b"{}",
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status == 200, r.body
    finally:
        assert srv.stop() == 0
