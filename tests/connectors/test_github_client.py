import socket
import time
from datetime import timedelta

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.github import client
from connectors.github.client import GitHubPermanentError, GitHubTransientError
from tests.connectors.github_stub import executable, submodule, symlink

INSTALLATION = 101


@pytest.fixture
def repo(github):
    repo = github.repository("acme/config", installation_id=INSTALLATION)
    repo.commit({"skills/a.md": "# A\n", "skills/deep/b.md": "# B\n", "README.md": "hello"})
    return repo


def test_app_jwt_is_rs256_backdated_short_lived_and_issued_by_the_app(github_app):
    now = 1_800_000_000
    claims = jwt.decode(client.app_jwt(now), github_app.public_pem, algorithms=["RS256"],
                        options={"verify_exp": False, "verify_iat": False})
    assert claims == {"iat": now - 60, "exp": now + 540, "iss": github_app.app_id}
    assert claims["exp"] - now <= 600


def test_branch_tree_and_blobs_come_back_as_committed(repo):
    head = client.branch_head(INSTALLATION, "acme/config", "main")
    assert head == repo.head()
    files = client.tree_files(INSTALLATION, "acme/config", head)
    assert sorted(files) == ["README.md", "skills/a.md", "skills/deep/b.md"]
    assert client.blob_bytes(INSTALLATION, "acme/config", files["skills/deep/b.md"].sha) == b"# B\n"
    assert files["README.md"].size == 5


def test_a_truncated_recursive_tree_is_completed_by_walking_subtrees(github, repo):
    github.truncate_recursive_trees = True
    files = client.tree_files(INSTALLATION, "acme/config", repo.head())
    assert sorted(files) == ["README.md", "skills/a.md", "skills/deep/b.md"]
    assert github.requests["tree"] == 4  # the truncated answer, then root, skills and skills/deep one by one


@pytest.mark.parametrize("truncated", [False, True])
def test_tree_entries_carry_their_mode_and_only_plain_and_executable_files_are_regular(github, repo,
                                                                                         truncated):
    github.truncate_recursive_trees = truncated
    sha = repo.update({"skills/link.md": symlink("../../secrets.md"), "vendor/lib": submodule("c" * 40),
                       "skills/run.sh": executable("#!/bin/sh\n")})
    files = client.tree_files(INSTALLATION, "acme/config", sha)
    kinds = {path: (entry.mode, entry.regular, entry.kind) for path, entry in files.items()}
    assert kinds == {
        "README.md": ("100644", True, "a file"), "skills/a.md": ("100644", True, "a file"),
        "skills/deep/b.md": ("100644", True, "a file"), "skills/run.sh": ("100755", True, "a file"),
        "skills/link.md": ("120000", False, "a symbolic link"),
        "vendor/lib": ("160000", False, "a submodule"),
    }


def test_large_blobs_survive_base64_line_wrapping(repo):
    content = bytes(range(256)) * 40
    sha = repo.update({"skills/big.bin": content})
    files = client.tree_files(INSTALLATION, "acme/config", sha)
    assert client.blob_bytes(INSTALLATION, "acme/config", files["skills/big.bin"].sha) == content


def test_one_installation_token_serves_many_calls(github, repo):
    for _ in range(3):
        client.branch_head(INSTALLATION, "acme/config", "main")
    assert github.requests["token"] == 1
    assert github.requests["ref"] == 3


def test_the_token_is_refreshed_shortly_before_it_expires(github, repo):
    github.token_lifetime = 3600
    with time_machine.travel(time.time(), tick=False) as clock:
        client.branch_head(INSTALLATION, "acme/config", "main")
        clock.shift(timedelta(minutes=50))  # 10 minutes left: still more than the refresh margin
        client.branch_head(INSTALLATION, "acme/config", "main")
        assert github.requests["token"] == 1
        clock.shift(timedelta(minutes=6))  # 4 minutes left: too close, a sync might outlive it
        client.branch_head(INSTALLATION, "acme/config", "main")
        assert github.requests["token"] == 2


def test_a_revoked_token_is_replaced_once(github, repo):
    client.branch_head(INSTALLATION, "acme/config", "main")
    github.revoke_tokens()
    assert client.branch_head(INSTALLATION, "acme/config", "main") == repo.head()
    assert github.requests["token"] == 2


def test_the_stub_rejects_a_jwt_signed_with_another_key(github, repo, settings):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.GITHUB_APP_PRIVATE_KEY = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(GitHubPermanentError) as failure:
        client.branch_head(INSTALLATION, "acme/config", "main")
    assert failure.value.status == 401
    assert github.rejected_jwts and "could not be decoded" in github.rejected_jwts[0]
    assert github.requests["ref"] == 0


def test_the_stub_rejects_an_expired_jwt(github, github_app):
    stale = client.app_jwt(now=time.time() - 3600)
    reason = github.verify_app_jwt(stale)
    assert reason and "ExpiredSignature" in reason
    assert github.verify_app_jwt(client.app_jwt()) is None


def test_an_unconfigured_app_fails_permanently_without_calling_github(github, repo, settings):
    settings.GITHUB_APP_PRIVATE_KEY = ""
    with pytest.raises(GitHubPermanentError, match="not configured"):
        client.branch_head(INSTALLATION, "acme/config", "main")
    assert sum(github.requests.values()) == 0


def test_429_is_transient_and_carries_retry_after(github, repo):
    github.fail("ref", 429, retry_after=7)
    with pytest.raises(GitHubTransientError) as failure:
        client.branch_head(INSTALLATION, "acme/config", "main")
    assert (failure.value.status, failure.value.retry_after) == (429, 7)
    assert client.branch_head(INSTALLATION, "acme/config", "main") == repo.head()


def test_5xx_is_transient_and_other_4xx_permanent(github, repo):
    github.fail("tree", 502)
    with pytest.raises(GitHubTransientError) as failure:
        client.tree_files(INSTALLATION, "acme/config", repo.head())
    assert failure.value.status == 502
    with pytest.raises(GitHubPermanentError) as failure:
        client.branch_head(INSTALLATION, "acme/config", "no-such-branch")
    assert failure.value.status == 404 and "404" in failure.value.message


def test_redirects_are_not_followed(github, repo):
    github.fail("ref", 301, message="Moved Permanently")
    with pytest.raises(GitHubPermanentError) as failure:
        client.branch_head(INSTALLATION, "acme/config", "main")
    assert failure.value.status == 301


def test_a_slow_answer_times_out_as_a_transient_error(github, repo, monkeypatch):
    client.branch_head(INSTALLATION, "acme/config", "main")  # token cached, connection pooled
    monkeypatch.setattr(client, "READ_TIMEOUT", 0.2)
    github.slow("ref", 1.0)
    started = time.monotonic()
    with pytest.raises(GitHubTransientError, match="in time"):
        client.branch_head(INSTALLATION, "acme/config", "main")
    assert time.monotonic() - started < 0.9
    time.sleep(0.9)  # let the stub finish the slow answer before the next test resets it
    assert client.branch_head(INSTALLATION, "acme/config", "main") == repo.head()


def test_a_refused_connection_is_transient(github_app, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.GITHUB_API_URL = f"http://127.0.0.1:{port}"
    with pytest.raises(GitHubTransientError, match="could not reach GitHub"):
        client.installation_token(INSTALLATION)


def test_repository_names_cannot_smuggle_paths(github, repo):
    with pytest.raises(GitHubPermanentError, match="owner/name"):
        client.branch_head(INSTALLATION, "acme/../../app", "main")
    assert github.requests["ref"] == 0


def test_the_pool_is_built_once_per_process():
    assert client.http_pool() is client.http_pool()


def test_repository_by_id_follows_renames(github, repo):
    github.rename("acme/config", "acme/settings")
    assert client.repository(INSTALLATION, repo.id)["full_name"] == "acme/settings"


@pytest.mark.parametrize("branch", ["", "../../app", "a/../../b", "/main", "a//b", "a/./b"])
def test_branch_names_with_dot_or_empty_segments_are_refused_before_any_call(github, repo, branch):
    with pytest.raises(GitHubPermanentError, match="not a valid branch name"):
        client.branch_head(INSTALLATION, "acme/config", branch)
    assert github.requests["ref"] == 0


def test_a_branch_name_with_slashes_is_a_valid_ref(github, repo):
    sha = repo.commit({"x.md": "x"}, branch="release/2026.1")
    assert client.branch_head(INSTALLATION, "acme/config", "release/2026.1") == sha


def test_secondary_rate_limit_403_with_retry_after_is_transient(github, repo):
    github.fail("ref", 403, retry_after=60, message="You have exceeded a secondary rate limit")
    with pytest.raises(GitHubTransientError) as failure:
        client.branch_head(INSTALLATION, "acme/config", "main")
    assert (failure.value.status, failure.value.retry_after) == (403, 60)
