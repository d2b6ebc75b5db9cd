"""The IAM matching helpers answer from a cache (issue 12): on generated inputs they answer exactly as the
uncached code they replaced, copied here as the reference."""

from __future__ import annotations

import re

import pytest
from guardrails.iam_documents import covers_action, iam_match, unscopable, wildcard_service
from hypothesis import given, settings
from hypothesis import strategies as st


def reference_iam_match(pattern: str, value: str) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, flags=re.IGNORECASE) is not None


_RESOURCE_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def reference_wildcard_service(resource: str) -> str | None:
    if resource == "*":
        return "*"
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2]:
        return None
    service, segments = parts[2].lower(), re.split(r"[:/]", parts[5])
    if segments[-1] != "*" or (service in {"s3", "s3-object-lambda"} and segments[0] != "*"):
        return None
    if len(segments) > 1 and segments[1] != "*":
        return None
    if not all(s == "*" or _RESOURCE_TYPE.match(s) for s in segments):
        return None
    return service


def reference_covers_action(resource: str, action: str) -> bool:
    service = reference_wildcard_service(resource)
    if service is None:
        return False
    action_service = action.split(":", 1)[0].lower() if ":" in action else "*"
    return "*" in (service, action_service) or service in {"sts": ("sts", "iam")}.get(action_service,
                                                                                          (action_service,))


# Few letters, so that generated patterns and values often match; the IAM metacharacters, regex metacharacters
# (escaped by the matcher) and letters whose case folding is not ASCII's.
_CHARS = st.sampled_from(list("aAbB:*?.-/[]()+^$\\|{}sSkKıİſ ß\n"))
# ASCII only, so that the direct matcher (not the regex) answers: the glob walk with several stars, `?`, newlines.
_ASCII = st.text(st.sampled_from(list("aAbB:*?.-sSkK\n")), max_size=12)
_TEXT = st.one_of(_ASCII, st.text(_CHARS, max_size=12))
_SERVICES = st.sampled_from(["*", "s3", "S3", "sts", "iam", "kms", "logs", "s3-object-lambda", ""])
_SEGMENT = st.sampled_from(["*", "key", "role", "table", "my-bucket", "a1", "1a", "log-group", ""])
_ARNS = st.builds(
    lambda service, region, parts, seps: "arn:aws:" + service + ":" + region + ":*:"
    + "".join(p + s for p, s in zip(parts, seps, strict=False)).rstrip(":/"),
    _SERVICES, st.sampled_from(["*", "", "eu-west-1"]), st.lists(_SEGMENT, max_size=4),
    st.lists(st.sampled_from([":", "/"]), min_size=4, max_size=4),
)
_ACTIONS = st.one_of(
    _TEXT,
    st.builds(lambda service, name: f"{service}:{name}", _SERVICES, st.sampled_from(["*", "Decrypt", "Pass*", "Get?"])),
)


@settings(max_examples=500, deadline=None)
@given(pattern=_TEXT, value=_TEXT)
def test_iam_match_answers_as_the_uncached_regex(pattern: str, value: str) -> None:
    assert iam_match(pattern, value) is reference_iam_match(pattern, value)
    assert iam_match(pattern, value) is reference_iam_match(pattern, value)  # and again, from the cache


@settings(max_examples=500, deadline=None)
@given(pattern=st.text(st.sampled_from("aB*?"), max_size=8), value=st.text(st.sampled_from("Ab*\n"), max_size=8))
def test_iam_match_on_a_small_alphabet_answers_as_the_regex(pattern: str, value: str) -> None:
    """Few characters, so that most pairs match or nearly match (stars against stars, `?` against newlines)."""
    assert iam_match(pattern, value) is reference_iam_match(pattern, value)


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("*a", "*ba", True), ("a*b*c", "aXbYbZc", True), ("a*b*c", "acb", False), ("?", "\n", False),
    ("iam:pass*", "IAM:PassRole", True), ("*", "", True), ("a?", "a", False), ("k", "\u212a", True),
])
def test_iam_match_edge_cases(pattern: str, value: str, expected: bool) -> None:
    assert reference_iam_match(pattern, value) is expected
    assert iam_match(pattern, value) is expected


@settings(max_examples=400, deadline=None)
@given(resource=st.one_of(_ARNS, _TEXT), action=_ACTIONS)
def test_wildcard_service_and_covers_action_answer_as_before(resource: str, action: str) -> None:
    assert wildcard_service(resource) == reference_wildcard_service(resource)
    assert covers_action(resource, action) is reference_covers_action(resource, action)


@settings(max_examples=200, deadline=None)
@given(action=_ACTIONS, allowlist=st.lists(st.one_of(_TEXT, _ACTIONS), max_size=5))
def test_unscopable_answers_as_before_for_any_allowlist(action: str, allowlist: list[str]) -> None:
    expected = any(reference_iam_match(allowed, action) for allowed in allowlist)
    assert unscopable(action, allowlist) is expected
    assert unscopable(action, tuple(allowlist)) is expected


def test_a_changed_allowlist_is_not_answered_from_the_old_one() -> None:
    assert unscopable("ec2:DescribeInstances", ["ec2:Describe*"]) is True
    assert unscopable("ec2:DescribeInstances", ["ec2:Get*"]) is False
