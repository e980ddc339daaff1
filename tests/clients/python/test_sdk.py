"""The official `anthropic` Python SDK, unchanged, pointed at Warden by base URL.

Run by the Rust test `clients::python_sdk`, which starts `warden mock-upstream` and `warden serve`
and passes their addresses in the environment. Every check compares what the SDK assembles
through Warden with what it assembles talking to the mock directly.
"""

import json
import os
import time
import urllib.request
import uuid

import anthropic
import httpx2
import pytest

WARDEN_URL = os.environ["WARDEN_URL"]
WARDEN_KEY = os.environ["WARDEN_KEY"]
MOCK_URL = os.environ["MOCK_URL"]
FIXTURES_DIR = os.environ["FIXTURES_DIR"]

HELLO = [{"role": "user", "content": "Hello, Claude"}]


def through(**kw):
    return anthropic.Anthropic(base_url=WARDEN_URL, api_key=WARDEN_KEY, **kw)


def direct(**kw):
    return anthropic.Anthropic(base_url=MOCK_URL, api_key="sk-ant-direct-to-mock", **kw)


def mock_total():
    with urllib.request.urlopen(MOCK_URL + "/_mock/requests") as r:
        return json.load(r)["total"]


def normalise(message):
    """A message as a dict without the ids that the mock numbers per request."""
    d = message.model_dump()
    d.pop("id", None)
    for block in d.get("content", []):
        if block.get("type") in ("tool_use", "server_tool_use"):
            block.pop("id", None)
    return d


def test_create_message():
    got = through().messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=HELLO)
    want = direct().messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=HELLO)
    assert got.content[0].text == "Hello from the Warden mock upstream."
    assert normalise(got) == normalise(want)


def test_stream_tool_use_assembles_the_same_message():
    def final(client):
        with client.messages.stream(model="mock-tool_use", max_tokens=100, messages=HELLO) as s:
            return s.get_final_message()

    got, want = final(through()), final(direct())
    assert got.stop_reason == "tool_use"
    tool = [b for b in got.content if b.type == "tool_use"][0]
    assert tool.input == {"location": "Paris, France", "unit": "celsius", "days": 3}
    assert normalise(got) == normalise(want)


def test_stream_with_thinking_keeps_the_signature():
    with through().messages.stream(model="mock-thinking", max_tokens=100, messages=HELLO) as s:
        got = s.get_final_message()
    assert got.content[0].type == "thinking"
    assert got.content[0].signature == "EqQBCkYIARgCKkBmockSignatureNotARealOne=="


def test_count_tokens():
    got = through().messages.count_tokens(model="claude-x", messages=HELLO)
    want = direct().messages.count_tokens(model="claude-x", messages=HELLO)
    assert got.input_tokens == want.input_tokens > 0


def test_models_list_and_retrieve():
    got = [m.id for m in through().models.list()]
    want = [m.id for m in direct().models.list()]
    assert got == want and len(got) == 3
    assert through().models.retrieve(got[0]).id == got[0]


def outcome(client, fixture):
    try:
        with client.messages.stream(
            model="claude-x",
            max_tokens=100,
            messages=HELLO,
            extra_headers={"x-mock-scenario": "replay:" + fixture},
        ) as s:
            return ("ok", s.get_final_message().model_dump())
    except Exception as e:  # the SDK's own verdict on a broken recording is part of the outcome
        return ("error", type(e).__name__, str(e))


FIXTURES = sorted(f for f in os.listdir(FIXTURES_DIR) if f.endswith((".txt", ".sse")))


@pytest.mark.parametrize("fixture", FIXTURES)
def test_recorded_stream_gives_the_same_final_message(fixture):
    got = outcome(through(), fixture)
    want = outcome(direct(), fixture)
    assert got == want


def test_rate_limit_surfaces_as_rate_limit_error():
    with pytest.raises(anthropic.RateLimitError) as e:
        through(max_retries=0).messages.create(
            model="claude-x",
            max_tokens=10,
            messages=HELLO,
            extra_headers={"x-mock-scenario": "status:429"},
        )
    assert e.value.status_code == 429
    assert e.value.response.headers["retry-after"] == "1"


def test_retry_honours_retry_after():
    before = mock_total()
    started = time.monotonic()
    got = through(max_retries=2).messages.create(
        model="claude-x",
        max_tokens=10,
        messages=HELLO,
        extra_headers={"x-mock-scenario": "status_once:429:" + uuid.uuid4().hex},
    )
    elapsed = time.monotonic() - started
    assert got.content[0].text == "Hello from the Warden mock upstream."
    assert mock_total() - before == 2, "one 429, then one retry that succeeded"
    assert elapsed >= 0.95, "the retry waited for retry-after: 1"


def test_unknown_key_is_authentication_error_without_retry():
    attempts = []
    http = httpx2.Client(event_hooks={"request": [lambda r: attempts.append(r.url)]})
    client = anthropic.Anthropic(
        base_url=WARDEN_URL, api_key="wdn_unknown000000000000", max_retries=3, http_client=http
    )
    with pytest.raises(anthropic.AuthenticationError) as e:
        client.messages.create(model="claude-x", max_tokens=10, messages=HELLO)
    assert e.value.status_code == 401
    assert len(attempts) == 1, "x-should-retry: false stops the SDK's retries"


def test_upstream_error_text_reaches_the_sdk_verbatim():
    with pytest.raises(anthropic.BadRequestError) as e:
        through().messages.create(
            model="claude-x",
            max_tokens=10,
            messages=HELLO,
            extra_headers={"x-mock-scenario": "status:400"},
        )
    assert "prompt is too long: 250000 tokens > 200000 maximum" in str(e.value)


def test_broken_stream_raises_in_the_sdk():
    with pytest.raises(anthropic.APIStatusError):
        with through().messages.stream(
            model="claude-x",
            max_tokens=10,
            messages=HELLO,
            extra_headers={"x-mock-scenario": "cut_stream"},
        ) as s:
            s.get_final_message()


def test_request_id_is_upstreams_and_wardens_is_beside_it():
    raw = through().messages.with_raw_response.create(model="claude-x", max_tokens=10, messages=HELLO)
    assert raw.request_id == "req_mock_upstream"
    assert raw.headers["x-warden-request-id"].startswith("req_")


def test_a_stream_that_ends_in_an_error_keeps_its_text():
    def text_before_error(client):
        pieces = []
        with pytest.raises(anthropic.APIStatusError):
            with client.messages.stream(
                model="claude-x",
                max_tokens=100,
                messages=HELLO,
                extra_headers={"x-mock-scenario": "midstream_error"},
            ) as s:
                for t in s.text_stream:
                    pieces.append(t)
        return "".join(pieces)

    got = text_before_error(through(max_retries=0))
    assert got
    assert got == text_before_error(direct(max_retries=0))


def test_batches_create_retrieve_and_results():
    client = through()
    batch = client.messages.batches.create(
        requests=[
            {"custom_id": "greet", "params": {"model": "claude-x", "max_tokens": 50, "messages": HELLO}},
            {
                "custom_id": "mail",
                "params": {
                    "model": "mock-parrot",
                    "max_tokens": 50,
                    "messages": [{"role": "user", "content": "Mail jane.roe@example.com"}],
                },
            },
        ]
    )
    assert batch.id.startswith("msgbatch_")
    got = client.messages.batches.retrieve(batch.id)
    assert got.processing_status == "ended"
    assert got.results_url.startswith(WARDEN_URL)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["greet"].type == "succeeded"
    assert results["greet"].message.content[0].text == "Hello from the Warden mock upstream."
    assert results["mail"].message.content[0].text == "Mail jane.roe@example.com"
    with urllib.request.urlopen(MOCK_URL + "/_mock/requests") as r:
        sent = [q for q in json.load(r)["requests"] if q["method"] == "POST" and q["path"] == "/v1/messages/batches"]
    assert "jane.roe@example.com" not in sent[-1]["body"]


def test_files_upload_list_and_delete():
    client = through()
    meta = client.beta.files.upload(file=("contacts.csv", b"name,email\nJane,jane.roe@example.com\n", "text/csv"))
    assert meta.id.startswith("file_")
    assert meta.id in [f.id for f in client.beta.files.list()]
    assert client.beta.files.delete(meta.id).type == "file_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.beta.files.retrieve_metadata(meta.id + "x")
