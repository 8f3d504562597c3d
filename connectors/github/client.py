"""GitHub REST client for App installations: App JWT -> installation token (cached) -> branches, trees, blobs.

One pooled urllib3 manager per process, explicit timeouts, no redirects, capped response bodies. Failures are
GitHubTransientError (429, 5xx, rate limit, timeouts, connection errors: retry later) or GitHubPermanentError
(other 4xx, bad configuration, malformed answers: retrying will not help).
"""

import base64
import binascii
import email.utils
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import jwt
import urllib3
from django.conf import settings
from django.core.cache import cache

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # a recursive tree of a large repository is tens of MiB at most
JWT_BACKDATE_SECONDS = 60  # GitHub rejects an iat in its future; clocks drift
JWT_LIFETIME_SECONDS = 9 * 60  # GitHub's maximum is 10 minutes
TOKEN_REFRESH_MARGIN_SECONDS = 5 * 60  # never hand out a token that could expire during a sync
API_VERSION = "2022-11-28"
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubError(Exception):
    """A failed GitHub call. `status` is the HTTP status (None for network failures)."""

    transient = False

    def __init__(self, message, status=None, retry_after=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class GitHubTransientError(GitHubError):
    """Worth retrying later; `retry_after` (seconds) is GitHub's own hint when it gave one."""

    transient = True


class GitHubPermanentError(GitHubError):
    """Retrying the same call will fail the same way."""


REGULAR_FILE_MODES = frozenset({"100644", "100755"})
_MODE_KINDS = {"120000": "a symbolic link", "160000": "a submodule"}


@dataclass(frozen=True)
class TreeEntry:
    path: str
    sha: str
    size: int
    mode: str = "100644"

    @property
    def regular(self):
        """A plain or executable file. A symlink is a blob too, but its content is the link's target."""
        return self.mode in REGULAR_FILE_MODES

    @property
    def kind(self):
        return "a file" if self.regular else _MODE_KINDS.get(self.mode, f"an entry of mode {self.mode}")


_lock = threading.Lock()
_pool = None


def http_pool():
    """The process-wide keep-alive pool, built once (building one per request costs a TLS context)."""
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = urllib3.PoolManager(num_pools=4, maxsize=16, block=False, retries=False)
    return _pool


def _retry_after(response):
    """Seconds GitHub asks us to wait: Retry-After (seconds or a date), or the rate-limit reset time."""
    value = response.headers.get("Retry-After")
    if value:
        if value.strip().isdigit():
            return int(value.strip())
        parsed = email.utils.parsedate_tz(value)
        if parsed is not None:
            return max(0, int(email.utils.mktime_tz(parsed) - time.time()))
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and reset.isdigit() and response.headers.get("X-RateLimit-Remaining") == "0":
        return max(0, int(reset) - int(time.time()))
    return None


def _message(status, body):
    try:
        detail = json.loads(body).get("message")
    except (ValueError, AttributeError):
        detail = None
    return f"GitHub answered {status}" + (f": {str(detail)[:300]}" if detail else "")


def _request(method, path, *, auth, body=None):
    """One call to the GitHub API; the decoded JSON answer, or a GitHubError."""
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
               "User-Agent": "plexica-connector", "Authorization": auth}
    encoded = None
    if body is not None:
        encoded = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    label = f"{method} {path.split('?')[0]}"
    try:
        response = http_pool().request(method, settings.GITHUB_API_URL + path, body=encoded, headers=headers,
                                       redirect=False, preload_content=False,
                                       timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT))
        try:
            content = response.read(MAX_RESPONSE_BYTES + 1)
            if len(content) > MAX_RESPONSE_BYTES:
                response.close()  # the unread rest: closing beats draining it
        except BaseException:
            response.close()  # half read: the connection cannot serve another request
            raise
        finally:
            response.release_conn()
    except urllib3.exceptions.NewConnectionError as exc:  # a subclass of the timeout error in urllib3 2
        raise GitHubTransientError(f"{label}: could not reach GitHub ({exc}).") from None
    except urllib3.exceptions.TimeoutError as exc:
        raise GitHubTransientError(f"{label}: GitHub did not answer in time ({type(exc).__name__}).") \
            from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise GitHubTransientError(f"{label}: could not reach GitHub ({type(exc).__name__}: {exc}).") \
            from None
    status = response.status
    if len(content) > MAX_RESPONSE_BYTES:
        raise GitHubPermanentError(f"{label}: the answer is larger than {MAX_RESPONSE_BYTES} bytes.", status)
    # GitHub's primary rate limit is a 403 with none remaining, its secondary one a 403 with Retry-After.
    rate_limited = status == 403 and (response.headers.get("X-RateLimit-Remaining") == "0"
                                      or "Retry-After" in response.headers)
    if status == 429 or status >= 500 or rate_limited:
        raise GitHubTransientError(f"{label}: {_message(status, content)}", status, _retry_after(response))
    if status >= 300:
        # Redirects are not followed: a moved repository is a configuration change, not something to chase.
        raise GitHubPermanentError(f"{label}: {_message(status, content)}", status)
    try:
        return json.loads(content)
    except ValueError:
        raise GitHubPermanentError(f"{label}: GitHub answered {status} with a body that is not JSON.",
                                   status) from None


def app_jwt(now=None):
    """A JSON Web Token that authenticates as the GitHub App itself (RS256 with the App's private key)."""
    if not settings.GITHUB_APP_ID or not settings.GITHUB_APP_PRIVATE_KEY:
        raise GitHubPermanentError("The GitHub App is not configured: set GITHUB_APP_ID and "
                                   "GITHUB_APP_PRIVATE_KEY.")
    now = int(now if now is not None else time.time())
    claims = {"iat": now - JWT_BACKDATE_SECONDS, "exp": now + JWT_LIFETIME_SECONDS,
              "iss": str(settings.GITHUB_APP_ID)}
    try:
        return jwt.encode(claims, settings.GITHUB_APP_PRIVATE_KEY, algorithm="RS256")
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
        raise GitHubPermanentError(f"GITHUB_APP_PRIVATE_KEY is not a usable RSA private key ({exc}).") \
            from None


def _token_cache_key(installation_id):
    return f"github:installation-token:{settings.GITHUB_APP_ID}:{int(installation_id)}"


def installation_token(installation_id):
    """An access token for the installation, from the cache until shortly before it expires."""
    key = _token_cache_key(installation_id)
    cached = cache.get(key)
    now = time.time()
    if cached and cached["expires_at"] - now > TOKEN_REFRESH_MARGIN_SECONDS:
        return cached["token"]
    answer = _request("POST", f"/app/installations/{int(installation_id)}/access_tokens",
                      auth=f"Bearer {app_jwt(now)}")
    token, expires = answer.get("token"), answer.get("expires_at")
    expires_at = _parse_timestamp(expires)
    if not isinstance(token, str) or not token or expires_at is None:
        raise GitHubPermanentError("GitHub's installation token answer lacks token or expires_at.")
    lifetime = int(expires_at - now - TOKEN_REFRESH_MARGIN_SECONDS)
    if lifetime > 0:
        cache.set(key, {"token": token, "expires_at": expires_at}, timeout=lifetime)
    return token


def forget_installation_token(installation_id):
    cache.delete(_token_cache_key(installation_id))


def _parse_timestamp(value):
    """Seconds since the epoch of GitHub's `2026-01-01T00:00:00Z`, or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _api(installation_id, method, path):
    """A call authenticated as the installation; a 401 (token revoked early) gets one fresh token."""
    try:
        return _request(method, path, auth=f"Bearer {installation_token(installation_id)}")
    except GitHubPermanentError as exc:
        if exc.status != 401:
            raise
    forget_installation_token(installation_id)
    return _request(method, path, auth=f"Bearer {installation_token(installation_id)}")


def _repo_path(full_name):
    if not isinstance(full_name, str) or not _REPOSITORY.match(full_name):
        raise GitHubPermanentError(f"'{full_name}' is not a repository name of the form owner/name.")
    return f"/repos/{full_name}"


def _sha(value, what):
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", value):
        raise GitHubPermanentError(f"GitHub's answer has no valid {what} SHA.")
    return value


def _branch_path(branch):
    # Git forbids empty, "." and ".." components in ref names; refusing them keeps dot segments out of URLs.
    parts = branch.split("/") if isinstance(branch, str) else [""]
    if any(part in ("", ".", "..") for part in parts):
        raise GitHubPermanentError(f"'{branch}' is not a valid branch name.")
    return quote(branch, safe="/")


def branch_head(installation_id, full_name, branch):
    """The commit SHA the branch points at now."""
    answer = _api(installation_id, "GET", f"{_repo_path(full_name)}/git/ref/heads/{_branch_path(branch)}")
    obj = answer.get("object") if isinstance(answer, dict) else None
    return _sha(obj.get("sha") if isinstance(obj, dict) else None, "branch head")


def _tree(installation_id, full_name, sha, recursive):
    suffix = "?recursive=1" if recursive else ""
    answer = _api(installation_id, "GET", f"{_repo_path(full_name)}/git/trees/{quote(sha, safe='')}{suffix}")
    if not isinstance(answer, dict) or not isinstance(answer.get("tree"), list):
        raise GitHubPermanentError(f"GitHub's tree {sha} answer has no entries.")
    return answer


_FILE_TYPES = ("blob", "commit")  # a submodule is a "commit" entry


def _file(path, item):
    mode = str(item.get("mode") or "")  # none at all: not known to be a regular file, so skipped
    return TreeEntry(path, _sha(item.get("sha"), "blob"), int(item.get("size") or 0), mode)


def tree_files(installation_id, full_name, commit_sha):
    """Every file of the commit's tree as {path: TreeEntry}: blobs (symlinks among them) and submodules, which
    are not regular files (TreeEntry.regular); the sync skips those.

    A recursive listing GitHub truncated (very large trees) is completed by walking the subtrees one by one.
    """
    answer = _tree(installation_id, full_name, commit_sha, recursive=True)
    files = {}
    if not answer.get("truncated"):
        for item in answer["tree"]:
            if item.get("type") in _FILE_TYPES:
                files[item["path"]] = _file(item["path"], item)
        return files
    pending = [("", commit_sha)]
    while pending:
        prefix, sha = pending.pop()
        for item in _tree(installation_id, full_name, sha, recursive=False)["tree"]:
            path = prefix + item["path"]
            if item.get("type") == "tree":
                pending.append((path + "/", _sha(item.get("sha"), "tree")))
            elif item.get("type") in _FILE_TYPES:
                files[path] = _file(path, item)
    return files


def blob_bytes(installation_id, full_name, blob_sha):
    """The content of a blob."""
    answer = _api(installation_id, "GET", f"{_repo_path(full_name)}/git/blobs/{quote(blob_sha, safe='')}")
    if not isinstance(answer, dict) or not isinstance(answer.get("content"), str):
        raise GitHubPermanentError(f"GitHub's blob {blob_sha} answer has no content.")
    if answer.get("encoding", "base64") == "utf-8":
        return answer["content"].encode()
    try:
        return base64.b64decode(answer["content"])  # GitHub wraps lines at 60 columns; newlines are skipped
    except (binascii.Error, ValueError):
        raise GitHubPermanentError(f"GitHub's blob {blob_sha} is not valid base64.") from None


def repository(installation_id, repository_id):
    """The repository by its stable numeric id (it survives renames): GitHub's JSON object."""
    return _api(installation_id, "GET", f"/repositories/{int(repository_id)}")
