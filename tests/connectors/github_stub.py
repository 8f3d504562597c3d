"""A stub of GitHub's REST API on 127.0.0.1 for the connector tests: a real threaded HTTP server.

It knows App installations (the token endpoint verifies the App JWT's RS256 signature with the public key and
rejects bad, expired or too long-lived ones), repositories held in memory as real git-like objects (blob, tree
and commit SHAs; tests `commit` file sets to move a branch), and answers:

    POST /app/installations/{id}/access_tokens       GET /repositories/{id}
    GET  /repos/{o}/{r}/git/ref/heads/{branch}         GET /repos/{o}/{r}/branches/{branch}
    GET  /repos/{o}/{r}/git/trees/{sha}[?recursive=1]  GET /repos/{o}/{r}/git/blobs/{sha}

A file's content may be a StubEntry to give it another mode: `symlink(target)`, `submodule(commit_sha)`,
`executable(content)`.

Faults are injected per endpoint name ("token", "ref", "branch", "tree", "blob", "repository"):
`fail(endpoint, status, times, retry_after)` and `slow(endpoint, seconds, times)`. `requests[endpoint]` counts
the calls that reached each endpoint.
"""

import base64
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _git_sha(kind, content):
    return hashlib.sha1(f"{kind} {len(content)}\0".encode() + content).hexdigest()


@dataclass(frozen=True)
class StubEntry:
    """A tree entry that is not a plain file: its git mode, and its content (a submodule: its commit SHA)."""

    mode: str
    content: bytes


def symlink(target):
    return StubEntry("120000", target.encode())


def submodule(commit_sha):
    return StubEntry("160000", commit_sha.encode())


def executable(content):
    return StubEntry("100755", content.encode() if isinstance(content, str) else content)


class StubRepository:
    """An in-memory repository: objects by SHA and branches pointing at commits."""

    def __init__(self, stub, repository_id, full_name, installation_id, default_branch="main"):
        self.stub = stub
        self.id = repository_id
        self.full_name = full_name
        self.installation_id = installation_id
        self.default_branch = default_branch
        self.blobs = {}  # sha -> bytes
        self.trees = {}  # sha -> [{"path", "mode", "type", "sha", "size"?}] (one directory level)
        self.commits = {}  # sha -> root tree sha
        self.branches = {}  # name -> commit sha
        self.files = {}  # branch -> {path: bytes}, what the branch head contains
        self._counter = itertools.count(1)

    def _write_tree(self, files):
        """Store the nested trees of {path: bytes}; the root tree's SHA."""
        children = {}
        for path, content in files.items():
            head, _, rest = path.partition("/")
            children.setdefault(head, {} if rest else None)
            if rest:
                children[head][rest] = content
            else:
                children[head] = content
        entries = []
        for name in sorted(children):
            value = children[name]
            if isinstance(value, dict):
                subtree = self._write_tree(value)
                entries.append({"path": name, "mode": "040000", "type": "tree", "sha": subtree})
            elif isinstance(value, StubEntry) and value.mode == "160000":
                entries.append({"path": name, "mode": value.mode, "type": "commit",
                                "sha": value.content.decode()})
            else:
                mode = value.mode if isinstance(value, StubEntry) else "100644"
                content = value.content if isinstance(value, StubEntry) else value
                sha = _git_sha("blob", content)
                self.blobs[sha] = content
                entries.append({"path": name, "mode": mode, "type": "blob", "sha": sha, "size": len(content)})
        sha = _git_sha("tree", json.dumps(entries, sort_keys=True).encode())
        self.trees[sha] = entries
        return sha

    def commit(self, files, branch=None):
        """Make the branch hold exactly `files` ({path: text, bytes, StubEntry}) in a new commit; its SHA."""
        branch = branch or self.default_branch
        encoded = {path: content.encode() if isinstance(content, str) else content
                   for path, content in files.items()}
        tree = self._write_tree(encoded)
        parent = self.branches.get(branch, "")
        sha = _git_sha("commit", f"tree {tree}\nparent {parent}\n{next(self._counter)}".encode())
        with self.stub.lock:
            self.commits[sha] = tree
            self.branches[branch] = sha
            self.files[branch] = encoded
        return sha

    def update(self, changes, branch=None):
        """Commit the branch's files with `changes` applied ({path: content, or None to delete}); its SHA."""
        branch = branch or self.default_branch
        files = dict(self.files.get(branch, {}))
        for path, content in changes.items():
            if content is None:
                files.pop(path, None)
            else:
                files[path] = content
        return self.commit(files, branch)

    def head(self, branch=None):
        return self.branches[branch or self.default_branch]

    def flat_tree(self, tree_sha, prefix=""):
        for entry in self.trees[tree_sha]:
            path = prefix + entry["path"]
            yield {**entry, "path": path}
            if entry["type"] == "tree":
                yield from self.flat_tree(entry["sha"], path + "/")


class GitHubStub:
    """State and fault injection of the stub; the HTTP handler reads it under `lock`."""

    def __init__(self, app_id, public_key_pem):
        self.app_id = str(app_id)
        self.public_key = public_key_pem
        self.lock = threading.Lock()
        self.server = None
        self.reset()

    # Test-facing API

    def reset(self):
        with self.lock:
            self.repositories = {}  # full name -> StubRepository
            self.installations = set()
            self.tokens = {}  # token -> (installation id, expires at epoch seconds)
            self.token_lifetime = 3600
            self.truncate_recursive_trees = False
            self.requests = Counter()
            self.faults = {}  # endpoint -> [fault dicts], consumed in order
            self.rejected_jwts = []

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def repository(self, full_name="acme/config", repository_id=4242, installation_id=101,
                   default_branch="main"):
        """Create (or return) a repository visible to `installation_id`."""
        with self.lock:
            self.installations.add(installation_id)
            if full_name not in self.repositories:
                self.repositories[full_name] = StubRepository(self, repository_id, full_name, installation_id,
                                                              default_branch)
            return self.repositories[full_name]

    def rename(self, old_full_name, new_full_name):
        with self.lock:
            repo = self.repositories.pop(old_full_name)
            repo.full_name = new_full_name
            self.repositories[new_full_name] = repo
        return repo

    def fail(self, endpoint, status, times=1, retry_after=None, message=None):
        """The next `times` calls of `endpoint` answer `status` (with Retry-After when given)."""
        with self.lock:
            self.faults.setdefault(endpoint, []).extend(
                [{"status": status, "retry_after": retry_after, "message": message}] * times
            )

    def slow(self, endpoint, seconds, times=1):
        """The next `times` calls of `endpoint` wait `seconds` before answering."""
        with self.lock:
            self.faults.setdefault(endpoint, []).extend([{"delay": seconds}] * times)

    def revoke_tokens(self):
        with self.lock:
            self.tokens.clear()

    # Used by the handler

    def next_fault(self, endpoint):
        with self.lock:
            queue = self.faults.get(endpoint)
            return queue.pop(0) if queue else None

    def verify_app_jwt(self, token):
        """The reason the App JWT is refused, or None when GitHub would accept it."""
        try:
            claims = jwt.decode(token, self.public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]}, leeway=0)
        except jwt.PyJWTError as exc:
            return f"A JSON web token could not be decoded ({type(exc).__name__})"
        now = time.time()
        if str(claims["iss"]) != self.app_id:
            return "The App id in 'iss' is not this App"
        if claims["iat"] > now + 5:
            return "'iat' is in the future"
        if claims["exp"] - now > 600:
            return "'exp' is too far in the future"
        return None

    def issue_token(self, installation_id):
        token = "ghs_" + secrets.token_hex(16)
        expires_at = time.time() + self.token_lifetime
        with self.lock:
            self.tokens[token] = (installation_id, expires_at)
        stamp = datetime.fromtimestamp(int(expires_at), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return token, stamp

    def installation_of_token(self, token):
        with self.lock:
            found = self.tokens.get(token)
        if found is None or found[1] <= time.time():
            return None
        return found[0]


_ROUTES = [
    ("token", "POST", re.compile(r"^/app/installations/(?P<installation>\d+)/access_tokens$")),
    ("repository", "GET", re.compile(r"^/repositories/(?P<id>\d+)$")),
    ("ref", "GET", re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/git/ref/heads/(?P<branch>.+)$")),
    ("branch", "GET", re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/branches/(?P<branch>.+)$")),
    ("tree", "GET", re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/git/trees/(?P<sha>[0-9a-f]+)$")),
    ("blob", "GET", re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/git/blobs/(?P<sha>[0-9a-f]+)$")),
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as GitHub: the client's pool reuses connections
    # Headers and body go out in two writes; without TCP_NODELAY each response would wait ~40 ms for the
    # client's delayed ACK (Nagle), which real GitHub does not make us wait.
    disable_nagle_algorithm = True
    stub: GitHubStub = None

    def log_message(self, *args):
        pass

    def _send(self, status, payload, headers=None):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urlsplit(self.path)
        for endpoint, route_method, pattern in _ROUTES:
            match = pattern.match(url.path)
            if match and method == route_method:
                break
        else:
            return self._send(404, {"message": "Not Found"})
        stub = self.stub
        with stub.lock:
            stub.requests[endpoint] += 1
        while (fault := stub.next_fault(endpoint)) is not None:
            if "delay" in fault:
                time.sleep(fault["delay"])
                continue
            headers = {"Retry-After": str(fault["retry_after"])} if fault["retry_after"] is not None else {}
            return self._send(fault["status"], {"message": fault["message"] or f"injected {fault['status']}"},
                              headers)
        params = {key: unquote(value) for key, value in match.groupdict().items()}
        handler = getattr(self, f"_{endpoint}")
        if endpoint == "token":
            return handler(params)
        installation = self._installation()
        if installation is None:
            return self._send(401, {"message": "Bad credentials"})
        return handler(params, installation, parse_qs(url.query))

    def _installation(self):
        auth = self.headers.get("Authorization", "")
        return self.stub.installation_of_token(auth.removeprefix("Bearer ").removeprefix("token ").strip())

    def _repo(self, full_name, installation):
        repo = self.stub.repositories.get(full_name)
        return repo if repo is not None and repo.installation_id == installation else None

    def _token(self, params):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self._send(401, {"message": "A JSON web token could not be decoded"})
        reason = self.stub.verify_app_jwt(auth.removeprefix("Bearer "))
        if reason:
            self.stub.rejected_jwts.append(reason)
            return self._send(401, {"message": reason})
        installation = int(params["installation"])
        if installation not in self.stub.installations:
            return self._send(404, {"message": "Not Found"})
        token, expires_at = self.stub.issue_token(installation)
        return self._send(201, {"token": token, "expires_at": expires_at,
                                "permissions": {"contents": "read"}})

    def _repository(self, params, installation, query):
        found = next((r for r in self.stub.repositories.values()
                      if r.id == int(params["id"]) and r.installation_id == installation), None)
        if found is None:
            return self._send(404, {"message": "Not Found"})
        owner, name = found.full_name.split("/")
        return self._send(200, {"id": found.id, "name": name, "full_name": found.full_name,
                                "owner": {"login": owner}, "default_branch": found.default_branch})

    def _head(self, params, installation):
        repo = self._repo(params["repo"], installation)
        if repo is None or params["branch"] not in repo.branches:
            return None, None
        return repo, repo.branches[params["branch"]]

    def _ref(self, params, installation, query):
        repo, sha = self._head(params, installation)
        if sha is None:
            return self._send(404, {"message": "Not Found"})
        return self._send(200, {"ref": f"refs/heads/{params['branch']}",
                                "object": {"sha": sha, "type": "commit"}})

    def _branch(self, params, installation, query):
        repo, sha = self._head(params, installation)
        if sha is None:
            return self._send(404, {"message": "Branch not found"})
        return self._send(200, {"name": params["branch"], "commit": {"sha": sha}})

    def _tree(self, params, installation, query):
        repo = self._repo(params["repo"], installation)
        if repo is None:
            return self._send(404, {"message": "Not Found"})
        sha = repo.commits.get(params["sha"], params["sha"])  # a commit SHA names its root tree
        if sha not in repo.trees:
            return self._send(404, {"message": "Not Found"})
        if query.get("recursive") and not self.stub.truncate_recursive_trees:
            return self._send(200, {"sha": sha, "tree": list(repo.flat_tree(sha)), "truncated": False})
        truncated = bool(query.get("recursive"))  # a truncated recursive answer lists only the top level
        return self._send(200, {"sha": sha, "tree": repo.trees[sha], "truncated": truncated})

    def _blob(self, params, installation, query):
        repo = self._repo(params["repo"], installation)
        content = repo.blobs.get(params["sha"]) if repo is not None else None
        if content is None:
            return self._send(404, {"message": "Not Found"})
        encoded = base64.b64encode(content).decode()
        wrapped = "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)) + "\n"  # as GitHub does
        return self._send(200, {"sha": params["sha"], "size": len(content), "encoding": "base64",
                                "content": wrapped})


def start_stub(app_id, public_key_pem):
    """Start the stub on a free port of 127.0.0.1 in a daemon thread; the GitHubStub (call .stop())."""
    stub = GitHubStub(app_id, public_key_pem)
    handler = type("StubHandler", (_Handler,), {"stub": stub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    stub.server = server
    thread = threading.Thread(target=server.serve_forever, name="github-stub", daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()

    stub.stop = stop
    return stub


@dataclass(frozen=True)
class AppKeys:
    """A GitHub App's key pair: the private key signs the App JWT, the stub checks it with the public one."""

    private_pem: str
    public_pem: str


def generate_app_keys():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return AppKeys(private_pem, public_pem)
