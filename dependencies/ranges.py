"""npm-style version ranges (`^1.2.3`, `~1.2`, `1.x || >=2.5.0`, `1.2.3 - 2.3`, ...), as npm's `semver` does them.

The parsing and matching come from `node-semver` (a Python port of npm's `semver`), strict mode, without
`includePrerelease`: a prerelease version matches only a comparator set that names a prerelease of the
same major.minor.patch. The port follows an older npm `semver`; where today's npm (7.x) differs on which
ranges are valid, this module decides as npm does:

- build metadata (`+build.5`) is stripped anywhere in the range before parsing;
- an x-range with a number after an `x` (`1.x.3`, `x.2`, `>=*.1`) is invalid;
- a comparator with more than one `*` (`**`) is invalid (npm removes one star, the port all of them);
- a version component above JavaScript's `Number.MAX_SAFE_INTEGER` is invalid;
- a comparator's version longer than 256 characters (npm's `MAX_LENGTH`, a limit for versions) is invalid;
- a union with an alternative that is any version (`*`, `x`, `""`, `>=0.0.0`) is just `*`, so its other
  alternatives no longer admit their prereleases (`1.0.0-beta` is not in `* || 1.0.0-beta`).

Matching answers False for an invalid range or version, like npm's `satisfies`.
"""

import re
from functools import lru_cache

import nodesemver
from nodesemver import (
    ANY,
    CARETTRIM,
    COMPARATORTRIM,
    HYPHENRANGE,
    STAR,
    TILDETRIM,
    XRANGE,
    caretTrimReplace,
    comparatorTrimReplace,
    hyphen_replace,
    regexp,
    replace_carets,
    replace_tildes,
    replace_xrange,
    tildeTrimReplace,
)

# npm has no limit for a range; ours bounds the column and the parsing work, and holds four longest versions.
MAX_RANGE_LENGTH = 1024
MAX_VERSION_LENGTH = 256  # npm's MAX_LENGTH for one version string
MAX_SAFE_INTEGER = 2**53 - 1
_BUILD = re.compile(r"\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*")
_OR = re.compile(r"\s*\|\|\s*")


def _is_x(part):
    return not part or part in ("x", "X", "*")


def _npm_rejects(text):
    """True for the ranges today's npm rejects and the port accepts (see the module docstring).

    Follows the steps of npm's parseRange: hyphen ranges, carets and tildes are rewritten first (they
    accept partials such as `1.x.3`), so only what reaches the x-range step is checked for x order.
    """
    for part in _OR.split(text):
        part = regexp[HYPHENRANGE].sub(hyphen_replace, part.strip())
        part = regexp[COMPARATORTRIM].sub(comparatorTrimReplace, part)
        part = regexp[TILDETRIM].sub(tildeTrimReplace, part)
        part = regexp[CARETTRIM].sub(caretTrimReplace, part)
        for comparator in part.split():
            for token in replace_tildes(replace_carets(comparator, False), False).split():
                match = regexp[XRANGE].search(token)
                if match:
                    major, minor, patch = match.group(2), match.group(3), match.group(4)
                    if (_is_x(major) and not _is_x(minor)) or (_is_x(minor) and patch and not _is_x(patch)):
                        return True
                if len(regexp[STAR].findall(replace_xrange(token, False))) > 1:
                    return True
    return False


_ANY_RANGE = nodesemver.make_range("*", loose=False)


@lru_cache(maxsize=4096)
def _compile(text):
    """The parsed range, or None when npm would reject `text`."""
    if len(text) > MAX_RANGE_LENGTH:
        return None
    text = _BUILD.sub("", " ".join(text.split()))
    if _npm_rejects(text):
        return None
    try:
        parsed = nodesemver.make_range(text, loose=False)
    except ValueError:
        return None
    for comparators in parsed.set:
        for comparator in comparators:
            version = comparator.semver
            if version is ANY:
                continue
            if len(version.raw) > MAX_VERSION_LENGTH:
                return None
            if max(version.major, version.minor, version.patch) > MAX_SAFE_INTEGER:
                return None
    if len(parsed.set) > 1 and any(all(_is_any(c) for c in comparators) for comparators in parsed.set):
        return _ANY_RANGE  # npm's Range: "if we have any that are *, then the range is just *"
    return parsed


def _is_any(comparator):
    """Whether npm parses the comparator as any version: `*`, or exactly `>=0.0.0` (npm keeps `>=v0.0.0`)."""
    return comparator.semver is ANY or (comparator.operator == ">=" and comparator.semver.raw == "0.0.0")


def is_valid_range(text):
    """Whether npm accepts `text` as a version range (`""` and `*` both mean any version)."""
    return isinstance(text, str) and _compile(text) is not None


def is_valid_version(text):
    """Whether `text` is a strict semantic version such as `1.4.0` or `2.0.0-rc.1`."""
    if not isinstance(text, str) or len(text) > MAX_VERSION_LENGTH:
        return False
    try:
        version = nodesemver.make_semver(text, loose=False)
    except (ValueError, TypeError):
        return False
    return max(version.major, version.minor, version.patch) <= MAX_SAFE_INTEGER


def satisfies(version, range_text):
    """Whether `version` is in `range_text`, with npm's prerelease rules; False if either is invalid."""
    if not isinstance(version, str) or not isinstance(range_text, str):
        return False
    return _satisfies(version, range_text)


@lru_cache(maxsize=65536)
def _satisfies(version, range_text):
    # Pure, and a graph repeats the same (version, range) pairs: resolve checks every edge.
    parsed = _compile(range_text)
    if parsed is None or not is_valid_version(version):
        return False
    return parsed.test(version)
