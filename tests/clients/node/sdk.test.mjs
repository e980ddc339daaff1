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

test('a multipart upload refused before its body is read gets the answer, not a broken pipe', async () => {
  // Warden answers a bad key at once; the SDK is still sending the file. Reading the rest of the
  // body before closing is what lets Node see the 401 instead of EPIPE.
  const client = new Anthropic({ baseURL: WARDEN_URL, apiKey: 'wdn_unknown000000000000', maxRetries: 0 });
  const file = new File([new Uint8Array(4 * 1024 * 1024).fill(97)], 'notes.txt', { type: 'text/plain' });
  for (let i = 0; i < 5; i++) {
    await assert.rejects(
      client.beta.files.upload({ file }),
      (e) => e instanceof Anthropic.AuthenticationError && e.status === 401,
      `attempt ${i + 1}`,
    );
  }
});

test('a stream that ends in an error keeps every piece of text the model sent before it', async () => {
  const textBeforeError = async (client) => {
    let text = '';
    const stream = client.messages.stream(
      { model: 'claude-x', max_tokens: 100, messages: HELLO },
      { headers: { 'x-mock-scenario': 'midstream_error' } },
    );
    stream.on('text', (t) => {
      text += t;
    });
    await assert.rejects(stream.finalMessage(), (e) => e instanceof Anthropic.APIError);
    return text;
  };
  const got = await textBeforeError(through({ maxRetries: 0 }));
  assert.ok(got.length > 0, 'some text arrived before the error');
  assert.equal(got, await textBeforeError(direct({ maxRetries: 0 })));
});

test('batches: create, retrieve and read the results through Warden', async () => {
  const client = through();
  const batch = await client.messages.batches.create({
    requests: [
      { custom_id: 'greet', params: { model: 'claude-x', max_tokens: 50, messages: HELLO } },
      {
        custom_id: 'mail',
        params: { model: 'mock-parrot', max_tokens: 50, messages: [{ role: 'user', content: 'Mail jane.roe@example.com' }] },
      },
    ],
  });
  assert.match(batch.id, /^msgbatch_/);
  const got = await client.messages.batches.retrieve(batch.id);
  assert.equal(got.processing_status, 'ended');
  assert.ok(got.results_url.startsWith(WARDEN_URL), `${got.results_url} is Warden's`);
  const results = {};
  for await (const line of await client.messages.batches.results(batch.id)) {
    results[line.custom_id] = line.result;
  }
  assert.equal(results.greet.type, 'succeeded');
  assert.equal(results.greet.message.content[0].text, 'Hello from the Warden mock upstream.');
  // The model saw a placeholder; the result gives the client its value back.
  assert.equal(results.mail.message.content[0].text, 'Mail jane.roe@example.com');
  const upstream = (await (await fetch(`${MOCK_URL}/_mock/requests`)).json()).requests;
  const created = upstream.find((r) => r.method === 'POST' && r.path === '/v1/messages/batches');
  assert.ok(!created.body.includes('jane.roe@example.com'), 'upstream never saw the address');
});

test('files: upload, list and delete through Warden', async () => {
  const client = through();
  const file = new File(['name,email\nJane,jane.roe@example.com\n'], 'contacts.csv', { type: 'text/csv' });
  const meta = await client.beta.files.upload({ file });
  assert.match(meta.id, /^file_/);
  const ids = [];
  for await (const f of client.beta.files.list()) ids.push(f.id);
  assert.ok(ids.includes(meta.id));
  const deleted = await client.beta.files.delete(meta.id);
  assert.equal(deleted.type, 'file_deleted');
  // Another team's key cannot see the team's files.
  const other = new Anthropic({ baseURL: WARDEN_URL, apiKey: process.env.WARDEN_SUPPORT_KEY, maxRetries: 0 });
  const kept = await client.beta.files.upload({ file });
  await assert.rejects(other.beta.files.retrieveMetadata(kept.id), (e) => e instanceof Anthropic.NotFoundError);
});
