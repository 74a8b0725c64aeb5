// Drives the kv-wasm module from Node.js: node examples/wasm/smoke.mjs <module.wasm>
// Exits non-zero if a reply differs from what Redis answers.
import { readFileSync } from "node:fs";

const file = process.argv[2];
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
const kv = instance.exports;
const enc = new TextEncoder();
const dec = new TextDecoder();

function exec(client, text) {
  const bytes = enc.encode(text);
  const ptr = kv.kv_alloc(bytes.length);
  new Uint8Array(kv.memory.buffer, ptr, bytes.length).set(bytes);
  const n = kv.kv_exec(client, bytes.length);
  return dec.decode(new Uint8Array(kv.memory.buffer, kv.kv_output(), n));
}

const cases = [
  ["SET k v PX 1000\r\n", "+OK\r\n"],
  ["GET k\r\n", "$1\r\nv\r\n"],
  ["RPUSH l a b c\r\nLRANGE l 0 -1\r\n", ":3\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"],
  ["INCR k\r\n", "-ERR value is not an integer or out of range\r\n"],
];
kv.kv_set_time(1700000000000n);
const c = kv.kv_open();
let failed = 0;
for (const [req, want] of cases) {
  const got = exec(c, req);
  if (got !== want) {
    console.error(`request ${JSON.stringify(req)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    failed++;
  }
}
kv.kv_set_time(1700000001001n);
const expired = exec(c, "GET k\r\n");
if (expired !== "$-1\r\n") {
  console.error(`after the TTL: got ${JSON.stringify(expired)}`);
  failed++;
}
// A blocked client served by another one.
const b = kv.kv_open();
const waiting = exec(b, "BLPOP q 5\r\n");
const pushed = exec(c, "RPUSH q x\r\n");
const servedLen = kv.kv_exec(b, 0);
const served = dec.decode(new Uint8Array(kv.memory.buffer, kv.kv_output(), servedLen));
if (waiting !== "" || pushed !== ":1\r\n" || served !== "*2\r\n$1\r\nq\r\n$1\r\nx\r\n") {
  console.error(`BLPOP: ${JSON.stringify([waiting, pushed, served])}`);
  failed++;
}
if (failed) process.exit(1);
console.log(`kv-wasm: ${cases.length + 2} checks passed (${(readFileSync(file).length / 1024).toFixed(1)} KiB module)`);
