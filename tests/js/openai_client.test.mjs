// The official `openai` npm client against a running `kvtier serve` (tiny model).
// Environment: KVTIER_BASE_URL (http://127.0.0.1:PORT), KVTIER_MODEL (served model name),
// KVTIER_API_KEY. Run: node --test tests/js/openai_client.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = `${process.env.KVTIER_BASE_URL}/v1`;
const model = process.env.KVTIER_MODEL;
const client = new OpenAI({ baseURL, apiKey: process.env.KVTIER_API_KEY, maxRetries: 0 });
const greedy = { temperature: 0, ignore_eos: true };

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

test('lists the served model', async () => {
  const models = await client.models.list();
  assert.equal(models.data[0].id, model);
  assert.equal(models.data[0].object, 'model');
});

test('completion: whole and streamed agree, with usage', async () => {
  const params = { model, prompt: 'Once upon a time', max_tokens: 12, ...greedy };
  const whole = await client.completions.create(params);
  assert.match(whole.id, /^cmpl-/);
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, 12);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + 12);

  const chunks = await collect(await client.completions.create({
    ...params, stream: true, stream_options: { include_usage: true },
  }));
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, 12);
  const text = chunks.filter((c) => c.choices.length).map((c) => c.choices[0].text).join('');
  assert.equal(text, whole.choices[0].text);
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'length');
});

test('chat: whole and streamed agree; the stream opens with the role', async () => {
  const params = {
    model,
    messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Hi!' }],
    max_completion_tokens: 10,
    ...greedy,
  };
  const whole = await client.chat.completions.create(params);
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices[0].message.role, 'assistant');
  assert.equal(whole.usage.completion_tokens, 10);

  const chunks = await collect(await client.chat.completions.create({
    ...params, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true },
  }));
  assert.equal(chunks[0].object, 'chat.completion.chunk');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const text = chunks.filter((c) => c.choices.length).map((c) => c.choices[0].delta.content ?? '').join('');
  assert.equal(text, whole.choices[0].message.content);
  for (const c of chunks) assert.ok(c.usage, 'continuous usage in every chunk');
  assert.equal(chunks.at(-1).usage.completion_tokens, 10);
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'length');
});

test('logprobs in both APIs', async () => {
  const completion = await client.completions.create({
    model, prompt: 'Hello', max_tokens: 4, logprobs: 3, ...greedy,
  });
  const lp = completion.choices[0].logprobs;
  assert.equal(lp.tokens.length, 4);
  assert.equal(lp.token_logprobs.length, 4);
  assert.equal(lp.text_offset.length, 4);
  for (let i = 0; i < 4; i++) {
    assert.ok(lp.token_logprobs[i] <= 0);
    const top = Object.values(lp.top_logprobs[i]);
    assert.ok(top.length >= 1 && top.length <= 4);
    // Greedy: nothing beats the chosen token.
    assert.ok(Math.max(...top) <= lp.token_logprobs[i] + 1e-6);
  }
  assert.equal(lp.tokens.join(''), completion.choices[0].text);

  const chat = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 3,
    logprobs: true, top_logprobs: 2, ...greedy,
  });
  const content = chat.choices[0].logprobs.content;
  assert.equal(content.length, 3);
  for (const entry of content) {
    assert.equal(entry.top_logprobs.length, 2);
    assert.equal(entry.top_logprobs[0].token, entry.token);
    assert.ok(Array.isArray(entry.bytes));
  }
});

test('stop strings cut the text and are reported', async () => {
  const base = await client.completions.create({ model, prompt: 'The', max_tokens: 16, ...greedy });
  const text = base.choices[0].text;
  // A stop string from the middle of the greedy continuation: whole characters (no surrogate
  // halves, no replacement characters), first seen where it is taken from.
  const plain = (s) => [...s].length === s.length && !s.includes('\uFFFD') && s.trim() === s;
  let stop = '';
  for (let start = 2; start < text.length - 2 && !stop; start++) {
    for (const len of [2, 1]) {
      const candidate = text.slice(start, start + len);
      if (!stop && plain(candidate) && candidate.length === len && text.indexOf(candidate) === start) {
        stop = candidate;
      }
    }
  }
  assert.ok(stop, `no usable stop string in ${JSON.stringify(text)}`);
  const stopped = await client.completions.create({
    model, prompt: 'The', max_tokens: 16, stop: [stop], ...greedy,
  });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].stop_reason, stop);
  assert.equal(stopped.choices[0].text, text.slice(0, text.indexOf(stop)));
});

test('errors come back as APIError with the status', async () => {
  await assert.rejects(
    client.completions.create({ model, prompt: 'x', temperature: -1 }),
    (err) => err instanceof OpenAI.BadRequestError && err.status === 400 &&
      /temperature/.test(err.message),
  );
  await assert.rejects(
    client.completions.create({ model: 'no-such-model', prompt: 'x' }),
    (err) => err instanceof OpenAI.NotFoundError && err.status === 404,
  );
  const unauthorized = new OpenAI({ baseURL, apiKey: 'wrong-key', maxRetries: 0 });
  await assert.rejects(unauthorized.models.list(), (err) => err.status === 401);
});
