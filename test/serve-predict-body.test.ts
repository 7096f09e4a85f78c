// The streaming reader of POST /v1/predict bodies against JSON.parse, the independent reference:
// for every body, cut into chunks at every position or at random ones, the reader gives what
// JSON.parse gives (the fields, the rows bit for bit) or refuses what JSON.parse refuses; and it
// refuses a body of too many rows, or a row too long, before the body's end.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/engine/index.js";
import { PredictBodyReader, RequestError, defaultBodyLimit, type PredictBody } from "../src/serve/index.js";

const D = 3;

/** The body read in chunks cut at `cuts` (ascending byte offsets). */
function read(body: string | Buffer, cuts: number[], d = D, maxRows = 1000): PredictBody {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const reader = new PredictBodyReader(d, maxRows);
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    reader.write(bytes.subarray(at, c));
    at = c;
  }
  return reader.end();
}

/** What JSON.parse makes of `body`: the fields with "embeddings": [], and the rows as float32 (null if not an array). */
function reference(body: string, d = D): { fields: unknown; rows: Float32Array | null } {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  const e = parsed.embeddings;
  if (!Array.isArray(e)) return { fields: parsed, rows: null };
  for (const row of e)
    if (
      !Array.isArray(row) ||
      row.length !== d ||
      row.some((v) => typeof v !== "number" || !Number.isFinite(Math.fround(v)))
    )
      throw new Error("not valid rows");
  return { fields: { ...parsed, embeddings: [] }, rows: Float32Array.from((e as number[][]).flat()) };
}

function assertSame(got: PredictBody, want: { fields: unknown; rows: Float32Array | null }, label: string) {
  assert.deepEqual(got.fields, want.fields, label);
  if (want.rows === null) assert.equal(got.rows, null, label);
  else {
    assert.ok(got.rows, label);
    assert.equal(got.rows.rows, want.rows.length / D, label);
    assert.deepEqual(got.rows.data, want.rows, label);
  }
}

const VALID = [
  '{"embeddings": [[1, 2, 3], [4.5, -6e-3, 7E2]], "proba": true}',
  '{"proba":false,"embeddings":[[0,0,0]]}',
  ' \r\n\t{ "embeddings" : [ [ 1 , 2 , 3 ] ,\n  [ 4 , 5 , 6 ] ] } \n',
  '{"embeddings": []}',
  '{"embeddings": [[1e-45, 3.4e38, -0.1]], "note": "a string with ] and , and \\" and [ in it"}',
  '{"emb\\u0065ddings": [[1, 2, 3]]}',
  '{"x": {"embeddings": [[9, 9, 9]]}, "embeddings": [[1, 2, 3]], "y": [[1], {"a": "]"}]}',
  '{"embeddings": "not rows", "proba": true}',
  '{"embeddings": null}',
  '{"vectors": [[1, 2, 3]]}',
  '{"embeddings": [[0.1, 0.2, 0.3]], "é": "ü — 日本"}',
  `{"embeddings": ${JSON.stringify(
    Array.from({ length: 50 }, (_, i) => [i / 7, -i * 1e-5, i * 3.3e10]),
    null,
    2,
  )}}`,
];

test("valid bodies read as JSON.parse reads them, whatever the chunks", () => {
  for (const body of VALID) {
    const want = reference(body);
    const n = Buffer.byteLength(body);
    assertSame(read(body, []), want, body);
    for (let c = 1; c < n; c++) assertSame(read(body, [c]), want, `${body} cut at ${c}`);
    assertSame(
      read(
        body,
        Array.from({ length: n - 1 }, (_, i) => i + 1),
      ),
      want,
      `${body} byte by byte`,
    );
  }
});

test("rows spanning several blocks of the reader's storage come back whole and in order", () => {
  // 100,000 numbers a row: two rows to a block of 2^18 values, so five rows fill three blocks.
  const d = 100_000;
  const rows = Array.from({ length: 5 }, (_, i) => Array.from({ length: d }, (_, j) => (i * d + j) % 1000));
  const body = JSON.stringify({ embeddings: rows });
  const got = read(
    body,
    Array.from({ length: Math.floor(body.length / 65_536) }, (_, i) => (i + 1) * 65_536),
    d,
  );
  assert.equal(got.rows!.rows, 5);
  assert.deepEqual(got.rows!.data, Float32Array.from(rows.flat()));
});

const MALFORMED = [
  '{"embeddings": [[1, 2, 3],]}',
  '{"embeddings": [[1, 2, 3],,[1, 2, 3]]}',
  '{"embeddings": [,[1, 2, 3]]}',
  '{"embeddings": [[1, 2, 3] [1, 2, 3]]}',
  '{"embeddings": [[1, 2, 3]}',
  '{"embeddings": [[1, 2, 3]]',
  '{"embeddings": [[1, 2, 3]]} x',
  '{"embeddings": [[1, 2, 3]], }',
  '{"embeddings" [[1, 2, 3]]}',
  '{"embeddings": [[1, 2, 3]], "proba": tru}',
  '{"embeddings": [[1, 2, 3]] "proba": true}',
  '{"embeddings": [[1, 2, 3]], "a\\x": 1}',
  '{"embeddings": [[1, 2, 3]], "a": "unterminated}',
  '{"embeddings": [[1, 2, 3], "unterminated]]}',
  '{"embeddings": [[1, 2, 3], [1, 2, 3}]}',
  "{'embeddings': [[1, 2, 3]]}",
  '{"embeddings": [[1, 2, NaN]]}',
  '{"embeddings": [[1, 2, 03]]}',
  "",
  "   ",
];

test("malformed bodies are refused with a 400, whatever the chunks", () => {
  for (const body of MALFORMED) {
    assert.throws(() => JSON.parse(body), SyntaxError, `the reference refuses ${body}`);
    const n = Buffer.byteLength(body);
    for (let c = 0; c <= n; c++) {
      assert.throws(
        () => read(body, c === 0 || c === n ? [] : [c]),
        (e: unknown) =>
          e instanceof RequestError && e.statusCode === 400 && /malformed JSON|empty body/.test(e.message),
        `${JSON.stringify(body)} cut at ${c}`,
      );
    }
  }
});

test("one-byte mutations of valid bodies: the reader agrees with JSON.parse", () => {
  const rng = new Rng(11);
  const alphabet = '[]{},:" \\0123456789.-eE\nabtrue';
  let accepted = 0;
  let refused = 0;
  for (let trial = 0; trial < 4000; trial++) {
    const base = VALID[rng.int(VALID.length)]!;
    const at = rng.int(base.length);
    const ch = alphabet[rng.int(alphabet.length)]!;
    const op = rng.int(3);
    const body =
      op === 0
        ? base.slice(0, at) + base.slice(at + 1)
        : op === 1
          ? base.slice(0, at) + ch + base.slice(at)
          : base.slice(0, at) + ch + base.slice(at + 1);
    const cuts = [...new Set([rng.int(body.length), rng.int(body.length)])].filter((c) => c > 0).sort((a, b) => a - b);
    const label = `${JSON.stringify(body)} cut at ${cuts.join(",")}`;
    let parsed: unknown;
    let parses = true;
    try {
      parsed = JSON.parse(body);
    } catch {
      parses = false;
    }
    let got: PredictBody | null = null;
    let error: RequestError | null = null;
    try {
      got = read(body, cuts);
    } catch (e) {
      assert.ok(e instanceof RequestError && e.statusCode === 400, `${label}: ${(e as Error).message}`);
      error = e;
    }
    if (!parses) {
      assert.ok(error, `${label}: JSON.parse refuses it, the reader accepted it`);
      refused++;
    } else if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      assert.match(error?.message ?? "accepted", /the body must be a JSON object/, label);
    } else if (error && /field 'embeddings' given twice/.test(error.message)) {
      // A clear error rather than JSON.parse's last-wins.
      assert.equal(body.split('"embeddings"').length, 3, label);
    } else if (!Array.isArray((parsed as Record<string, unknown>).embeddings)) {
      assert.ok(got, `${label}: ${error?.message}`);
      assert.deepEqual(got.fields, parsed, label);
      assert.equal(got.rows, null, label);
    } else {
      let want: ReturnType<typeof reference> | null = null;
      try {
        want = reference(body);
      } catch {
        // Valid JSON, rows that are not: a 400 naming the row.
        assert.ok(error && !/malformed/.test(error.message), `${label}: ${error?.message ?? "accepted"}`);
        continue;
      }
      assert.ok(got, `${label}: ${error?.message}`);
      assertSame(got, want, label);
      accepted++;
    }
  }
  assert.ok(accepted > 500 && refused > 500, `${accepted} accepted, ${refused} refused`);
});

test("the rows are checked as they come: too many rows or a row too long is refused before the body ends", () => {
  const reader = new PredictBodyReader(D, 5);
  reader.write(Buffer.from('{"embeddings": [[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3],'));
  assert.throws(
    () => reader.write(Buffer.from("[1, 2, 3],")),
    (e: unknown) =>
      e instanceof RequestError &&
      e.statusCode === 413 &&
      /too many rows: more than 5, the limit per request/.test(e.message),
  );

  const long = new PredictBodyReader(D, 5);
  long.write(Buffer.from('{"embeddings": [[1, 2, 3], [1,'));
  assert.throws(
    () => long.write(Buffer.from(" ".repeat(1000))),
    (e: unknown) =>
      e instanceof RequestError &&
      e.statusCode === 400 &&
      /embeddings\[1\] \(from byte 25\) takes over 352 bytes of JSON, more than a row of 3 numbers/.test(e.message),
  );

  const other = new PredictBodyReader(D, 5);
  assert.throws(
    () => other.write(Buffer.from(`{"vectors": [${"1, ".repeat(30_000)}`)),
    (e: unknown) => e instanceof RequestError && e.statusCode === 400 && /unknown field 'vectors'/.test(e.message),
  );
  assert.throws(() => new PredictBodyReader(D, 5).write(Buffer.from("[[1, 2, 3]]")), /the body must be a JSON object/);
});

test("errors name the row and value, and positions are the body's", () => {
  const message = (body: string) => {
    try {
      read(body, [7]);
    } catch (e) {
      return (e as Error).message;
    }
    return "accepted";
  };
  assert.equal(message('{"embeddings": [[1, 2, 3], [1, "2", 3]]}'), 'embeddings[1][1] is the string "2", not a number');
  assert.equal(message('{"embeddings": [[1, 2, 3], [1, 2]]}'), "embeddings[1] has dimension 2, expected 3");
  // Malformed JSON: JSON.parse's own message about the whole body, its position included.
  for (const body of [
    '{"embeddings": [[1, 2, 3], [1, 2 3]]}',
    '{"embeddings": [[1, 2, 3]], "proba": true,}',
    '{"embeddings": [[1, 2, 3]]   , "proba": true "x": 1}',
  ]) {
    let want = "";
    try {
      JSON.parse(body);
    } catch (e) {
      want = (e as Error).message;
    }
    assert.match(want, /at position \d+$/);
    assert.equal(message(body), `malformed JSON: ${want}`);
  }
});

test("the default body limit holds maxRows rows of float32 values as JSON.stringify and Python's json write them", () => {
  // The longest float32 values in JSON: many digits, an exponent, a sign.
  const row = Array.from({ length: 768 }, (_, j) => Math.fround(-1.1754943508222875e-38 * (1 + j / 1e4)));
  const compact = JSON.stringify({ embeddings: Array.from({ length: 100 }, () => row), proba: true });
  const pretty = JSON.stringify({ embeddings: Array.from({ length: 100 }, () => row), proba: true }, null, 2);
  const python = compact.replace(/,/g, ", ").replace(/:/g, ": ");
  for (const body of [compact, pretty, python])
    assert.ok(Buffer.byteLength(body) <= defaultBodyLimit(100, 768), `${Buffer.byteLength(body)} bytes`);
  assert.equal(read(pretty, [1000, 200_000], 768, 100).rows!.rows, 100);
});
