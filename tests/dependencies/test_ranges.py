"""npm semver ranges: each case below is what npm's own `semver` (7.x) answers, per its documented rules."""

import pytest

from dependencies.ranges import MAX_RANGE_LENGTH, is_valid_range, satisfies

# (range, version, satisfied?) - taken from node-semver's README: caret, tilde, x-ranges, hyphen ranges,
# comparator sets, `||`, and the prerelease rule (a prerelease only matches a comparator set naming a
# prerelease of the same major.minor.patch).
RANGE_TABLE = [
    # caret: changes that do not modify the left-most non-zero part
    ("^1.2.3", "1.2.3", True),
    ("^1.2.3", "1.9.9", True),
    ("^1.2.3", "2.0.0", False),
    ("^1.2.3", "1.2.2", False),
    ("^0.2.3", "0.2.4", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^1.2.x", "1.9.0", True),
    ("^0.0.x", "0.0.9", True),
    ("^0.0.x", "0.1.0", False),
    ("^0.0", "0.0.5", True),
    ("^0.x", "0.9.9", True),
    ("^1.x", "2.0.0", False),
    ("^1.2.3-beta.2", "1.2.3-beta.4", True),
    ("^1.2.3-beta.2", "1.2.4-beta.2", False),
    ("^0.0.3-beta", "0.0.3-pr.2", True),
    # tilde: patch-level changes when a minor is given, minor-level otherwise
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2", "1.2.0", True),
    ("~1.2", "1.2.9", True),
    ("~1.2", "1.3.0", False),
    ("~1", "1.9.9", True),
    ("~1", "2.0.0", False),
    ("~0.2.3", "0.2.9", True),
    ("~0.2.3", "0.3.0", False),
    ("~1.2.3-beta.2", "1.2.3-beta.4", True),
    ("~1.2.3-beta.2", "1.2.4-beta.2", False),
    ("~>1.2.3", "1.2.5", True),
    # x-ranges
    ("*", "1.0.0", True),
    ("*", "0.0.0", True),
    ("*", "1.0.0-beta", False),
    ("", "2.3.4", True),
    ("x", "9.9.9", True),
    ("1.x", "1.9.0", True),
    ("1.x", "2.0.0", False),
    ("1.2.x", "1.2.7", True),
    ("1.2.*", "1.3.0", False),
    ("1", "1.5.0", True),
    ("1.2", "1.2.9", True),
    # hyphen ranges: a partial upper bound accepts its whole x-range
    ("1.2.3 - 2.3.4", "2.3.4", True),
    ("1.2.3 - 2.3.4", "2.3.5", False),
    ("1.2 - 2.3.4", "1.2.0", True),
    ("1.2.3 - 2.3", "2.3.9", True),
    ("1.2.3 - 2.3", "2.4.0", False),
    ("1.2.3 - 2", "2.9.9", True),
    ("1.2.3 - 2", "3.0.0", False),
    # primitive comparators and comparator sets (intersection)
    (">=1.2.7", "1.2.7", True),
    (">=1.2.7", "1.2.6", False),
    (">=1.2.7 <1.3.0", "1.2.8", True),
    (">=1.2.7 <1.3.0", "1.3.0", False),
    (">1.2", "1.3.0", True),
    (">1.2", "1.2.9", False),
    ("<=1.2", "1.2.9", True),
    ("<1.2", "1.1.9", True),
    ("=1.2.3", "1.2.3", True),
    ("> 1.2.3 < 2", "1.5.0", True),
    ("^1.0.0 ^1.5.0", "1.4.0", False),
    # unions
    ("1.2.7 || >=1.2.9 <2.0.0", "1.2.7", True),
    ("1.2.7 || >=1.2.9 <2.0.0", "1.4.6", True),
    ("1.2.7 || >=1.2.9 <2.0.0", "1.2.8", False),
    ("1.2.7 || >=1.2.9 <2.0.0", "2.0.0", False),
    ("1.x || >=2.5.0", "1.9.9", True),
    ("1.x || >=2.5.0", "2.4.0", False),
    ("1.x || >=2.5.0", "2.5.0", True),
    # prerelease rule: only in a comparator set naming a prerelease of the same [major, minor, patch]
    (">1.2.3-alpha.3", "1.2.3-alpha.7", True),
    (">1.2.3-alpha.3", "3.4.5-alpha.9", False),
    (">1.2.3-alpha.3", "3.4.5", True),
    (">=1.2.3-alpha.3 <1.2.4", "1.2.3", True),
    ("<1.0.0", "1.0.0-rc.1", False),
    ("<1.0.0-rc.2", "1.0.0-rc.1", True),
    ("^1.2.3", "2.0.0-rc.1", False),
    ("1.2.3 - 2.3.4-beta", "2.3.4-alpha", True),
    ("1.2.3 - 2.3.4-beta", "2.3.3-alpha", False),
    ("1.2.3-alpha - 2.3.4", "1.2.3-beta", True),
    ("^1.0.0 || ^2.0.0", "2.0.0-alpha", False),
    # build metadata is ignored on both sides
    ("1.2.3+build.5", "1.2.3", True),
    ("^1.2.3", "1.4.0+build.1", True),
    # a version npm does not parse never satisfies
    ("*", "1.2", False),
    ("^1.2.3", "not-a-version", False),
]


@pytest.mark.parametrize(("range_text", "version", "expected"), RANGE_TABLE)
def test_ranges_match_as_npm_semver_does(range_text, version, expected):
    assert is_valid_range(range_text)
    assert satisfies(version, range_text) is expected


def test_the_range_table_covers_more_than_forty_cases():
    assert len(RANGE_TABLE) > 40


@pytest.mark.parametrize(
    "range_text",
    [
        "^1.0.0", "~2.3.4", ">=1.0.0", "1.x || >=2.5.0", "1.2.3 - 2.3", "*", "x", "",
        ">=1.0.0 <2.0.0 || 3.x", "~>1.2", "v1.2.3", "^ 1.2.3", "1.2.3+build",
        # these partials are accepted by npm inside a caret, a tilde or a hyphen range
        "^x.3", "~1.x.3", "x.3 - 2",
    ],
)
def test_valid_ranges_are_accepted(range_text):
    assert is_valid_range(range_text)


@pytest.mark.parametrize(
    "range_text",
    [
        "abc", "latest", "1.2.3.4", ">=a.b.c", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "=>1.2.3", "<>1.2.3",
        ">=1.0.0,<2.0.0", "^1.2.3abc", "1.2.3 - 2.3.4 - 3", ">=1.2.3 <", "^1.2.3 || foo",
        # npm 7 rejects these; the port underneath (an older npm) accepted them, ranges.py fixes it
        "x.3", "1.x.3", "*.1", ">=x.2", "**", "9007199254740992.0.0", "9007199254740991",
        "^" + "1" * 300,
    ],
)
def test_invalid_ranges_are_rejected_and_match_nothing(range_text):
    assert not is_valid_range(range_text)
    assert not satisfies("1.2.3", range_text)


def test_build_metadata_inside_a_range_is_stripped_as_npm_does():
    assert is_valid_range("~>2+b.1")
    assert satisfies("2.5.0", "~>2+b.1") and not satisfies("3.0.0", "~>2+b.1")


def test_a_range_that_is_not_text_is_invalid():
    assert not is_valid_range(None)
    assert not is_valid_range(["^1.0.0"])


# Where the port underneath and npm (7.x, includePrerelease off) answer differently: a differential run
# against npm found these. npm's Range collapses a union to `*` when one alternative is any version (`*`,
# `x`, `""`, `>=0.0.0`), so that alternative's neighbours no longer let a prerelease in.
NPM_DIFFERENTIAL_TABLE = [
    ("* || 1.0.0-beta", "1.0.0-beta", False),
    ("* || 1.0.0-beta", "1.0.0", True),
    ("1.0.0-beta || *", "1.0.0-beta", False),
    ("x || 1.0.0-beta", "1.0.0-beta", False),
    ("X || ^2.0.0-rc.1", "2.0.0-rc.2", False),
    (" || 1.0.0-beta", "1.0.0-beta", False),
    ("1.0.0-beta || ", "1.0.0-beta", False),
    ("1.0.0-beta || || 2.0.0", "1.5.0", True),
    (">=0.0.0 || 1.0.0-beta", "1.0.0-beta", False),
    (">=0 || ~1.0.0-beta", "1.0.0-beta.2", False),
    (">=v0.0.0 || 1.0.0-beta", "1.0.0-beta", True),  # npm matches `>=0.0.0` to the letter: a v keeps it
    ("* * || 1.0.0-beta", "1.0.0-beta", False),
    ("* - * || 1.0.0-beta", "1.0.0-beta", False),
    # not any version: an intersection with `*`, or `0.x` (which is <1.0.0-0), leaves the union alone
    ("* 1.0.0-beta || 2.0.0", "1.0.0-beta", True),
    (">=0.0.0 <1.0.0-rc.1 || 1.0.0-beta", "1.0.0-beta", True),
    ("0.x || 1.0.0-beta", "1.0.0-beta", True),
    ("^1.0.0-beta || 2.x", "1.0.0-beta.3", True),
    # the empty range is `*`
    ("", "1.0.0", True),
    ("", "1.0.0-beta", False),
    # 256 characters is npm's limit for one version, not for a range: build metadata is stripped first
    ("1.2.3+" + "a" * 251 + " - 2.0.0", "1.5.0", True),
    ("1.2.3+" + "a" * 251 + " - 2.0.0", "2.0.1", False),
    (">=1.0.0-" + "a" * 250, "1.0.0-" + "b" * 10, True),  # a 256-character version in a comparator
]


@pytest.mark.parametrize(("range_text", "version", "expected"), NPM_DIFFERENTIAL_TABLE)
def test_ranges_match_as_npm_does_where_the_port_differs(range_text, version, expected):
    assert is_valid_range(range_text)
    assert satisfies(version, range_text) is expected


@pytest.mark.parametrize(
    "range_text",
    [
        ">=1.0.0-" + "a" * 251,  # its version is 257 characters: longer than npm takes
        "^1.0.0-" + "a" * 251,
        "1.2.3 - 2.0.0-" + "a" * 251,
    ],
)
def test_a_comparator_whose_version_is_longer_than_256_characters_is_invalid(range_text):
    assert not is_valid_range(range_text)


def test_a_range_may_be_up_to_1024_characters_long():
    alternatives = " || ".join(f"^{major}.0.0+" + "b" * 240 for major in (1, 2, 3, 4))
    longest = alternatives + "b" * (MAX_RANGE_LENGTH - len(alternatives))
    assert len(longest) == MAX_RANGE_LENGTH == 1024
    assert is_valid_range(longest) and satisfies("4.1.0", longest) and not satisfies("5.0.0", longest)
    assert not is_valid_range(longest + "b")


def test_a_version_longer_than_256_characters_satisfies_nothing_as_npm_parses_no_such_version():
    assert satisfies("1.0.0-" + "a" * 250, ">=1.0.0-a")
    assert not satisfies("1.0.0-" + "a" * 251, ">=1.0.0-a")
