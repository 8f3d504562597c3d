import pytest

from marketplaces.config_objects.parsing import MAX_PAYLOAD_BYTES, parse_version_input
from plexica.errors import Invalid, PayloadTooLarge

SKILL = """---
name: Summarize tickets
description: Turns a support thread into three bullet points.
---
# Summarize

Read the thread, then write the bullets.
"""


def test_skill_front_matter_gives_the_title_and_description():
    parsed = parse_version_input("skill", SKILL)
    assert parsed.title == "Summarize tickets"
    assert parsed.description == "Turns a support thread into three bullet points."


def test_a_skill_without_front_matter_takes_its_title_from_the_first_heading():
    assert parse_version_input("agent", "# Release captain\n\nShips things.").title == "Release captain"


def test_bad_front_matter_is_invalid_and_names_the_line():
    text = "---\nname: ok\n  bad: indent: x\n---\nbody\n"  # the file's line 3 is the bad one
    with pytest.raises(Invalid) as caught:
        parse_version_input("command", text)
    assert "line 3" in caught.value.message
    assert caught.value.extra == {"field": "input.rawSourceText", "line": 3}


def test_front_matter_that_is_not_a_mapping_is_invalid():
    with pytest.raises(Invalid):
        parse_version_input("skill", "---\n- a\n- b\n---\nbody")


@pytest.mark.parametrize("server", [{"command": "npx", "args": ["srv"]}, {"url": "https://mcp.example.com/sse"}])
def test_an_mcp_server_needs_a_command_or_a_url(server):
    assert parse_version_input("mcp", normalized_payload_json=server).sha256


@pytest.mark.parametrize("server", [{}, {"command": "npx", "url": "https://x.example"}, {"command": ""},
                                    {"url": "ftp://x"}, ["npx"]])
def test_an_mcp_server_with_neither_both_or_bad_values_is_invalid(server):
    with pytest.raises(Invalid):
        parse_version_input("mcp", normalized_payload_json=server)


def test_mcp_source_text_that_is_not_json_names_the_line():
    with pytest.raises(Invalid) as caught:
        parse_version_input("mcp", '{\n  "command": "npx",\n  oops\n}')
    assert caught.value.extra["line"] == 3


def test_mcp_json_differing_only_in_whitespace_has_the_same_digest():
    one = parse_version_input("mcp", '{"command": "npx", "args": ["a"]}')
    two = parse_version_input("mcp", '{\n  "args": ["a"],\n  "command": "npx"\n}')
    assert one.sha256 == two.sha256


def test_other_types_accept_free_text_or_any_json():
    assert parse_version_input("context", "Our style guide\n\nUse British spelling.").title == "Our style guide"
    assert parse_version_input("custom", normalized_payload_json=[1, 2, 3]).sha256
    assert parse_version_input("hook", normalized_payload_json={"name": "pre-commit"}).title == "pre-commit"


def test_payloads_over_one_mebibyte_are_refused():
    with pytest.raises(PayloadTooLarge):
        parse_version_input("context", "x" * (MAX_PAYLOAD_BYTES + 1))
    with pytest.raises(PayloadTooLarge):
        parse_version_input("custom", normalized_payload_json={"x": "y" * MAX_PAYLOAD_BYTES})


def test_input_without_any_payload_is_invalid():
    with pytest.raises(Invalid):
        parse_version_input("tool")


@pytest.mark.parametrize(("type_", "raw", "normalized", "field"), [
    ("mcp", "[" * 100_000 + "]" * 100_000, None, "input.rawSourceText"),
    ("mcp", "[" * 70 + "]" * 70, None, "input.rawSourceText"),
    ("skill", "---\nname: x\nmeta: " + "[" * 5000 + "]" * 5000 + "\n---\nbody\n", None, "input.rawSourceText"),
    ("context", None, "nested", "input.normalizedPayloadJson"),
])
def test_payloads_nested_too_deeply_are_invalid_not_a_crash(type_, raw, normalized, field):
    if normalized == "nested":
        normalized = {"a": 1}
        for _ in range(900):  # deep enough to crash a recursive json.dumps
            normalized = [normalized]
    with pytest.raises(Invalid) as error:
        parse_version_input(type_, raw, normalized)
    assert error.value.extra["field"] == field and "nested deeper than 64 levels" in error.value.message


def test_a_front_matter_after_a_byte_order_mark_is_still_read():
    parsed = parse_version_input("skill", "\ufeff---\nname: Forecast\ndescription: Quarterly\n---\nBody\n")
    assert (parsed.title, parsed.description) == ("Forecast", "Quarterly")


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
@pytest.mark.parametrize("type_", ["skill", "agent", "command"])
def test_front_matter_with_windows_or_old_mac_line_endings_parses_as_lf_does(type_, ending):
    lf = parse_version_input(type_, SKILL)
    other = parse_version_input(type_, SKILL.replace("\n", ending))
    assert (other.title, other.description) == (lf.title, lf.description) == (
        "Summarize tickets", "Turns a support thread into three bullet points.")
    assert other.sha256 == lf.sha256  # the same content: not a new version when only line endings change
    assert other.raw_source_text == SKILL.replace("\n", ending)  # stored as given


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_bad_front_matter_with_windows_or_old_mac_line_endings_is_refused_naming_the_same_line(ending):
    for text, line in (("---\nname: ok\n  bad: indent: x\n---\nbody\n", 3),
                       ("---\nname: [broken\n---\nbody\n", 2)):
        with pytest.raises(Invalid) as caught:
            parse_version_input("skill", text.replace("\n", ending))
        assert caught.value.extra == {"field": "input.rawSourceText", "line": line}


def test_a_crlf_front_matter_after_a_byte_order_mark_is_still_read():
    text = "\ufeff---\r\nname: Forecast\r\ndescription: Quarterly\r\n---\r\nBody\r\n"
    parsed = parse_version_input("skill", text)
    assert (parsed.title, parsed.description) == ("Forecast", "Quarterly")


def test_a_crlf_markdown_without_front_matter_takes_its_title_from_the_first_heading():
    assert parse_version_input("agent", "# Release captain\r\n\r\nShips things.").title == "Release captain"


def test_free_text_differing_only_in_line_endings_has_the_same_digest():
    lf = parse_version_input("context", "House style\nShort sentences.\n")
    assert {parse_version_input("context", lf.raw_source_text.replace("\n", ending)).sha256
            for ending in ("\r\n", "\r")} == {lf.sha256}


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_mcp_source_text_with_windows_or_old_mac_line_endings_names_the_same_line(ending):
    with pytest.raises(Invalid) as caught:
        parse_version_input("mcp", '{\n  "command": "npx",\n  oops\n}'.replace("\n", ending))
    assert caught.value.extra["line"] == 3
