// The official @anthropic-ai/sdk, unchanged, pointed at Warden by baseURL.
//
// Run by the Rust test `clients::typescript_sdk`, which starts the mock and Warden and passes
// their addresses in the environment. Every check compares what the SDK assembles through Warden
// with what it assembles talking to the mock directly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';

const { WARDEN_URL, WARDEN_KEY, MOCK_URL, FIXTURES_DIR } = process.env;
const HELLO = [{ role: 'user', content: 'Hello, Claude' }];

const through = (opts = {}) => new Anthropic({ baseURL: WARDEN_URL, apiKey: WARDEN_KEY, ...opts });
const direct = (opts = {}) =>
  new Anthropic({ baseURL: MOCK_URL, apiKey: 'sk-ant-direct-to-mock', ...opts });

const mockTotal = async () => (await (await fetch(`${MOCK_URL}/_mock/requests`)).json()).total;

// A message without the ids the mock numbers per request.
function normalise(message) {
  const m = structuredClone(message);
  delete m.id;
  for (const b of m.content ?? []) {
    if (b.type === 'tool_use' || b.type === 'server_tool_use') delete b.id;
  }
  return m;
}

test('create a message', async () => {
  const params = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: HELLO };
  const got = await through().messages.create(params);
  const want = await direct().messages.create(params);
  assert.equal(got.content[0].text, 'Hello from the Warden mock upstream.');
  assert.deepEqual(normalise(got), normalise(want));
});

test('a streamed tool_use assembles the same message', async () => {
  const params = { model: 'mock-tool_use', max_tokens: 100, messages: HELLO };
  const got = await through().messages.stream(params).finalMessage();
  const want = await direct().messages.stream(params).finalMessage();
  assert.equal(got.stop_reason, 'tool_use');
  const tool = got.content.find((b) => b.type === 'tool_use');
  assert.deepEqual(tool.input, { location: 'Paris, France', unit: 'celsius', days: 3 });
  assert.deepEqual(normalise(got), normalise(want));
});

test('count tokens', async () => {
  const params = { model: 'claude-x', messages: HELLO };
  const got = await through().messages.countTokens(params);
  const want = await direct().messages.countTokens(params);
  assert.ok(got.input_tokens > 0);
  assert.equal(got.input_tokens, want.input_tokens);
});

test('list models', async () => {
  const ids = async (c) => {
    const out = [];
    for await (const m of c.models.list()) out.push(m.id);
    return out;
  };
  const got = await ids(through());
  assert.deepEqual(got, await ids(direct()));
  assert.equal(got.length, 3);
});

async function outcome(client, fixture) {
  try {
    const stream = client.messages.stream(
      { model: 'claude-x', max_tokens: 100, messages: HELLO },
      { headers: { 'x-mock-scenario': `replay:${fixture}` } },
    );
    return ['ok', await stream.finalMessage()];
  } catch (e) {
    return ['error', e.constructor.name, String(e.message)];
  }
}

const fixtures = readdirSync(FIXTURES_DIR)
  .filter((f) => f.endsWith('.txt') || f.endsWith('.sse'))
  .sort();

for (const fixture of fixtures) {
  test(`recorded stream ${fixture} gives the same final message`, async () => {
    assert.deepEqual(await outcome(through(), fixture), await outcome(direct(), fixture));
  });
}

test('an upstream 429 is a RateLimitError', async () => {
  await assert.rejects(
    through({ maxRetries: 0 }).messages.create(
      { model: 'claude-x', max_tokens: 10, messages: HELLO },
      { headers: { 'x-mock-scenario': 'status:429' } },
    ),
    (e) => e instanceof Anthropic.RateLimitError && e.status === 429 && e.headers.get('retry-after') === '1',
  );
});

test('the retry honours retry-after', async () => {
  const before = await mockTotal();
  const started = performance.now();
  const got = await through({ maxRetries: 2 }).messages.create(
    { model: 'claude-x', max_tokens: 10, messages: HELLO },
    { headers: { 'x-mock-scenario': `status_once:429:${randomUUID()}` } },
  );
  const elapsed = performance.now() - started;
  assert.equal(got.content[0].text, 'Hello from the Warden mock upstream.');
  assert.equal((await mockTotal()) - before, 2, 'one 429, then one retry that succeeded');
  assert.ok(elapsed >= 950, `waited for retry-after: 1 (took ${elapsed} ms)`);
});

test('an unknown key is an AuthenticationError with no retry', async () => {
  let attempts = 0;
  const counting = (url, init) => {
    attempts += 1;
    return fetch(url, init);
  };
  const client = new Anthropic({
    baseURL: WARDEN_URL,
    apiKey: 'wdn_unknown000000000000',
    maxRetries: 3,
    fetch: counting,
  });
  await assert.rejects(
    client.messages.create({ model: 'claude-x', max_tokens: 10, messages: HELLO }),
    (e) => e instanceof Anthropic.AuthenticationError && e.status === 401,
  );
  assert.equal(attempts, 1, 'x-should-retry: false stops the retries');
});

test('a broken stream raises in the SDK', async () => {
  await assert.rejects(
    through()
      .messages.stream(
        { model: 'claude-x', max_tokens: 10, messages: HELLO },
        { headers: { 'x-mock-scenario': 'cut_stream' } },
      )
      .finalMessage(),
    (e) => e instanceof Anthropic.APIError,
  );
});
