"""Data boundaries through Warden with the official Python SDK, against the bundled policies
(a copy per run, in POLICY_DIR, which Warden reloads every 100 ms)."""

import json
import os
import time
import urllib.request

import anthropic
import pytest

WARDEN_URL = os.environ["WARDEN_URL"]
WARDEN_KEY = os.environ["WARDEN_KEY"]
SUPPORT_KEY = os.environ["WARDEN_SUPPORT_KEY"]
MOCK_URL = os.environ["MOCK_URL"]
POLICY_DIR = os.environ["POLICY_DIR"]

AWS_KEY = "AKIAZ3MSJV7WQ2PLX4NB"
EMAIL = "jane.doe@example.com"


def client(key=WARDEN_KEY, **kw):
    return anthropic.Anthropic(base_url=WARDEN_URL, api_key=key, **kw)


def mock_requests():
    with urllib.request.urlopen(MOCK_URL + "/_mock/requests") as r:
        return json.load(r)


def last_body_seen_upstream():
    return mock_requests()["requests"][-1]["body"]


def ask(text):
    return [{"role": "user", "content": text}]


def test_an_aws_key_reaches_the_model_redacted():
    client().messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=ask(f"Why is {AWS_KEY} rejected by STS?")
    )
    seen = last_body_seen_upstream()
    assert AWS_KEY not in seen
    assert "[REDACTED:aws_access_key_id]" in seen


def test_a_pseudonymized_email_comes_back_restored_in_json():
    prompt = f"Please email {EMAIL} the invoice."
    got = client().messages.create(
        model="claude-sonnet-4-5",
        max_tokens=50,
        messages=ask(prompt),
        extra_headers={"x-mock-scenario": "parrot:3"},
    )
    assert got.content[0].text == prompt
    assert EMAIL not in last_body_seen_upstream()


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8])
def test_a_pseudonymized_email_comes_back_restored_in_a_stream(chunk):
    prompt = f"Please email {EMAIL} the invoice."
    with client().messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=50,
        messages=ask(prompt),
        extra_headers={"x-mock-scenario": f"parrot:{chunk}"},
    ) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == prompt
    assert final.content[0].text == prompt
    assert EMAIL not in last_body_seen_upstream()


def test_a_blocked_class_is_permission_denied_and_never_sent():
    before = mock_requests()["total"]
    with pytest.raises(anthropic.PermissionDeniedError) as e:
        client(SUPPORT_KEY, max_retries=3).messages.create(
            model="claude-sonnet-4-5", max_tokens=50, messages=ask("Her SSN is 123-45-6789.")
        )
    assert e.value.status_code == 403
    assert "pii.ssn" in str(e.value)
    assert "123-45-6789" not in str(e.value)
    assert mock_requests()["total"] == before, "nothing reached upstream, and no retry"


def wait_for(check, what):
    deadline = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_policy_edit_applies_without_restart_and_a_broken_edit_is_refused():
    path = os.path.join(POLICY_DIR, "default.yaml")
    with open(path) as f:
        original = f.read()

    def blocked():
        try:
            client(max_retries=0).messages.create(
                model="claude-sonnet-4-5", max_tokens=50, messages=ask(f"mail {EMAIL}")
            )
            return False
        except anthropic.PermissionDeniedError:
            return True

    assert not blocked()
    try:
        edited = original.replace("pii.email: { action: pseudonymize }", "pii.email: { action: block }")
        assert edited != original
        with open(path, "w") as f:
            f.write(edited)
        wait_for(blocked, "the edit to apply")

        with open(path, "w") as f:
            f.write(edited.replace("action: block", "action: maybe"))

        def reported():
            with urllib.request.urlopen(WARDEN_URL + "/readyz") as r:
                return json.load(r)["policies"]["reload_error"] is not None

        wait_for(reported, "the broken edit to be reported")
        assert blocked(), "the last good policy still applies"
    finally:
        with open(path, "w") as f:
            f.write(original)
        wait_for(lambda: not blocked(), "the original policy to come back")
