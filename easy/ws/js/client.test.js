// Tests of the client's own logic (backoff, seq, resume, reset, heartbeat)
// against a fake WebSocket; the browser tests of examples/items run it
// against the real server. Run with: node --test easy/ws/js/
import { test, beforeEach, afterEach, mock } from "node:test";
import assert from "node:assert/strict";

import { backoffDelay, connect, endpointURL } from "./client.js";

// fakeWebSocket returns a WebSocket class whose instances the test drives
// from the server's side, and the list of those instances.
function fakeWebSocket() {
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = new URL(url);
      this.readyState = 0;
      this.sent = [];
      this.closedWith = null;
      sockets.push(this);
    }
    send(text) {
      if (this.readyState !== 1) throw new Error("send on a socket that is not open");
      this.sent.push(JSON.parse(text));
    }
    close(code) {
      this.readyState = 3;
      this.closedWith = code;
    }
    accept() {
      this.readyState = 1;
      this.onopen?.({});
    }
    push(msg) {
      this.onmessage?.({ data: JSON.stringify(msg) });
    }
    drop(code = 1006, reason = "") {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    }
  }
  return { FakeSocket, sockets };
}

// live connects with a fake socket and records every callback.
function live(options = {}) {
  const { FakeSocket, sockets } = fakeWebSocket();
  const log = [];
  const record = (name) => (...args) => log.push([name, ...args]);
  const client = connect("items", {
    url: "ws://127.0.0.1:8000/ws/items",
    WebSocket: FakeSocket,
    transport: "websocket", // the fallback to SSE has tests of its own
    onInitial: record("initial"),
    onCreate: record("create"),
    onUpdate: record("update"),
    onDelete: record("delete"),
    onReset: record("reset"),
    onStatus: record("status"),
    onError: record("error"),
    ...options,
  });
  const last = () => sockets[sockets.length - 1];
  // take returns what was recorded (only the calls of name, if given)
  // and forgets it all.
  const take = (name) => {
    const out = log.filter((e) => name === undefined || e[0] === name);
    log.length = 0;
    return out;
  };
  return { client, sockets, last, log, take };
}

const ev = (type, id, seq, data) => ({ type, resource: "items", id, seq, ...(data ? { data } : {}) });

beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
afterEach(() => mock.timers.reset());

test("backoff doubles from initial up to max, jittered between half and all", () => {
  const cases = [
    // attempt, backoff, random, want
    [0, {}, 0, 125],
    [0, {}, 0.999999, 249.99987],
    [1, {}, 0, 250],
    [3, {}, 0.5, 1500],
    [7, {}, 0, 15000],
    [8, {}, 0, 15000], // 64 s capped at 30 s
    [1000, {}, 1, 30000],
    [2, { initial: 100, max: 300 }, 1, 300],
    [0, { initial: 1000, max: 10 }, 0, 500], // max below initial: initial wins
  ];
  for (const [attempt, backoff, random, want] of cases) {
    assert.ok(Math.abs(backoffDelay(attempt, backoff, () => random) - want) < 0.001, `attempt ${attempt}`);
  }
});

test("endpointURL sets since and filter and keeps the rest of the query", () => {
  assert.equal(endpointURL("ws://h/ws/items?token=t", null, undefined), "ws://h/ws/items?token=t");
  assert.equal(endpointURL("ws://h/ws/items", 42, {}), "ws://h/ws/items?since=42");
  const u = new URL(endpointURL("ws://h/ws/items?since=1&token=t", 1700000000000123, { price__gt: 10 }));
  assert.equal(u.searchParams.get("since"), "1700000000000123");
  assert.equal(u.searchParams.get("token"), "t");
  assert.deepEqual(JSON.parse(u.searchParams.get("filter")), { price__gt: 10 });
});

test("the URL defaults to this page's host, ws or wss to match", () => {
  const { FakeSocket, sockets } = fakeWebSocket();
  const saved = globalThis.location;
  try {
    globalThis.location = new URL("https://shop.example/admin/");
    connect("items", { WebSocket: FakeSocket }).close();
    connect("items", { WebSocket: FakeSocket, url: "/api/ws/items" }).close();
    globalThis.location = new URL("http://127.0.0.1:8000/");
    connect("items", { WebSocket: FakeSocket }).close();
  } finally {
    globalThis.location = saved;
  }
  assert.deepEqual(
    sockets.map((s) => s.url.href),
    ["wss://shop.example/ws/items", "wss://shop.example/api/ws/items", "ws://127.0.0.1:8000/ws/items"],
  );
});

test("subscribes on open, delivers the snapshot, then only later events", () => {
  const { last, take } = live({ filter: { price__gt: 10 }, limit: 50 });
  assert.deepEqual(take("status"), [["status", "connecting"]]);
  last().accept();
  assert.deepEqual(last().sent, [{ type: "subscribe", filter: { price__gt: 10 }, limit: 50 }]);
  assert.equal(last().url.search, "", "no filter in the URL: subscribe carries it");

  last().push(ev("create", 1, 40, { id: 1 })); // before the snapshot: in it, or sent again after it
  last().push({ type: "initial", resource: "items", data: [{ id: 1 }, { id: 2 }], seq: 41 });
  last().push(ev("update", 2, 41, { id: 2 })); // a duplicate of what the snapshot holds
  last().push(ev("update", 2, 42, { id: 2, name: "b" }));
  last().push({ type: "ping" });
  last().push(ev("delete", 1, 43));
  assert.deepEqual(take(), [
    ["status", "connected"],
    ["initial", [{ id: 1 }, { id: 2 }], 41, false],
    ["update", ev("update", 2, 42, { id: 2, name: "b" })],
    ["delete", ev("delete", 1, 43)],
  ]);
});

test("onInitial says whether the snapshot was cut at its limit", () => {
  const { client, last, take } = live({ limit: 2 });
  last().accept();
  last().push({ type: "initial", resource: "items", data: [{ id: 1 }, { id: 2 }], more: true, seq: 7 });
  client.subscribe({ name: "a" }, 2);
  last().push({ type: "initial", resource: "items", data: [{ id: 1 }], seq: 7 });
  assert.deepEqual(take("initial"), [
    ["initial", [{ id: 1 }, { id: 2 }], 7, true],
    ["initial", [{ id: 1 }], 7, false],
  ]);
});

test("onEvent follows every change after its own callback", () => {
  const order = [];
  const { last } = live({
    onCreate: () => order.push("create"),
    onEvent: (e) => order.push("event " + e.seq),
  });
  last().accept();
  last().push({ type: "initial", resource: "items", data: [], seq: 1 });
  last().push(ev("create", 1, 2, { id: 1 }));
  last().push(ev("delete", 1, 3));
  assert.deepEqual(order, ["create", "event 2", "event 3"]);
});

test("reconnects after a drop and resumes after the last seq, without a new snapshot", () => {
  const { sockets, last, take } = live({ filter: { name: "a" } });
  last().accept();
  last().push({ type: "initial", resource: "items", data: [], seq: 10 });
  last().push(ev("create", 1, 11, { id: 1 }));
  take();

  last().drop(1006);
  assert.deepEqual(take(), [["status", "reconnecting"]]);
  assert.equal(sockets.length, 1, "waits before the next attempt");
  mock.timers.tick(250);
  assert.equal(sockets.length, 2);
  assert.equal(last().url.searchParams.get("since"), "11");
  assert.deepEqual(JSON.parse(last().url.searchParams.get("filter")), { name: "a" });

  last().accept();
  assert.deepEqual(last().sent, [], "resuming needs no subscribe");
  last().push(ev("create", 1, 11, { id: 1 })); // already seen
  last().push(ev("update", 1, 12, { id: 1 }));
  assert.deepEqual(take(), [
    ["status", "connected"],
    ["update", ev("update", 1, 12, { id: 1 })],
  ]);
  assert.equal(sockets[0].closedWith, null, "a dropped socket is not closed again");
});

test("backoff grows while attempts fail and starts again after a success", () => {
  const { sockets, last } = live({ backoff: { initial: 100, max: 1000 } });
  const waits = [];
  const waitForNext = () => {
    const n = sockets.length;
    let waited = 0;
    while (sockets.length === n) {
      mock.timers.tick(1);
      waited++;
      assert.ok(waited <= 1000, "no attempt within the longest wait");
    }
    waits.push(waited);
  };
  for (let i = 0; i < 6; i++) {
    last().drop(1006);
    waitForNext();
  }
  last().accept();
  last().drop(1006);
  waitForNext();
  const bounds = [100, 200, 400, 800, 1000, 1000, 100];
  waits.forEach((w, i) => assert.ok(w >= bounds[i] / 2 && w <= bounds[i], `wait ${i}: ${w} ms not in [${bounds[i] / 2}, ${bounds[i]}]`));
});

test("a reset asks for a fresh snapshot", () => {
  const { last, take } = live({ since: 500, limit: 10 });
  assert.equal(last().url.searchParams.get("since"), "500");
  last().accept();
  assert.deepEqual(last().sent, [], "resumes from the given seq");
  last().push({ type: "reset", resource: "items" });
  assert.deepEqual(last().sent, [{ type: "subscribe", limit: 10 }]);
  last().push(ev("create", 7, 3, { id: 7 })); // a new server's seqs: covered by the snapshot
  last().push({ type: "initial", resource: "items", data: [{ id: 7 }], seq: 3 });
  last().push(ev("update", 7, 4, { id: 7 }));
  assert.deepEqual(take(), [
    ["status", "connecting"],
    ["status", "connected"],
    ["reset"],
    ["initial", [{ id: 7 }], 3, false],
    ["update", ev("update", 7, 4, { id: 7 })],
  ]);
});

test("a dropped connection that had not had its snapshot subscribes again", () => {
  const { last } = live();
  last().accept();
  last().drop();
  mock.timers.tick(250);
  assert.equal(last().url.searchParams.has("since"), false);
  last().accept();
  assert.deepEqual(last().sent, [{ type: "subscribe" }]);
});

test("a subscribe made while disconnected is sent on the next connection, which does not resume", () => {
  const { client, last } = live();
  last().accept();
  last().push({ type: "initial", resource: "items", data: [], seq: 30 });
  last().drop();
  client.subscribe({ name: "x" });
  mock.timers.tick(250);
  assert.equal(last().url.search, "", "the snapshot covers what resuming would bring");
  last().accept();
  assert.deepEqual(last().sent, [{ type: "subscribe", filter: { name: "x" } }]);
});

test("no message for two heartbeat intervals replaces the connection", () => {
  const { sockets, last, take } = live({ heartbeatInterval: 1000 });
  last().accept();
  last().push({ type: "initial", resource: "items", data: [], seq: 5 });
  take();
  mock.timers.tick(1999);
  last().push({ type: "ping" }); // alive: the deadline starts again
  mock.timers.tick(1999);
  assert.equal(sockets.length, 1);
  assert.deepEqual(take(), []);
  mock.timers.tick(1);
  assert.equal(sockets[0].closedWith, 4000);
  assert.deepEqual(take(), [["status", "reconnecting"]]);
  mock.timers.tick(250);
  assert.equal(sockets.length, 2);
  assert.equal(last().url.searchParams.get("since"), "5");
  sockets[0].drop(1006); // the old socket's late close changes nothing
  assert.deepEqual(take(), []);
});

test("close stops for good", () => {
  const { client, sockets, last, take } = live();
  last().accept();
  take();
  client.close();
  assert.equal(sockets[0].closedWith, 1000);
  assert.deepEqual(take(), [["status", "offline"]]);
  mock.timers.tick(120000);
  assert.equal(sockets.length, 1);
  assert.equal(client.status, "offline");
  client.close(); // twice is fine
});

test("close while waiting to reconnect cancels the attempt", () => {
  const { client, sockets, last } = live();
  last().drop();
  client.close();
  mock.timers.tick(120000);
  assert.equal(sockets.length, 1);
});

test("a policy close (1008) stops and says why", () => {
  const { sockets, last, take } = live();
  last().accept();
  take();
  last().drop(1008, "rate limit exceeded");
  mock.timers.tick(120000);
  assert.equal(sockets.length, 1);
  assert.deepEqual(take(), [
    ["status", "offline"],
    ["error", "rate limit exceeded"],
  ]);
});

test("subscribe replaces the filter: events wait for its snapshot, resume keeps it", () => {
  const { client, sockets, last, take } = live();
  last().accept();
  last().push({ type: "initial", resource: "items", data: [{ id: 1 }, { id: 2 }], seq: 20 });
  client.subscribe({ price__gt: 5 }, 1);
  assert.deepEqual(last().sent[1], { type: "subscribe", filter: { price__gt: 5 }, limit: 1 });
  last().push(ev("create", 3, 21, { id: 3 }));
  last().push({ type: "initial", resource: "items", data: [{ id: 2 }], seq: 21 });
  last().push(ev("create", 4, 22, { id: 4 }));
  assert.deepEqual(take("initial"), [
    ["initial", [{ id: 1 }, { id: 2 }], 20, false],
    ["initial", [{ id: 2 }], 21, false],
  ]);
  last().drop();
  mock.timers.tick(250);
  assert.equal(sockets.length, 2);
  assert.equal(last().url.searchParams.get("since"), "22");
  assert.deepEqual(JSON.parse(last().url.searchParams.get("filter")), { price__gt: 5 });
});

test("only the answer to the last of several subscribes is delivered", () => {
  const { client, last, take } = live();
  last().accept();
  take();
  client.subscribe({ name: "a" });
  client.subscribe({ name: "b" });
  last().push({ type: "initial", resource: "items", data: [], seq: 1 });
  last().push(ev("create", 1, 2, { id: 1, name: "b" })); // sent again after the next snapshot
  last().push({ type: "initial", resource: "items", data: [{ name: "a" }], seq: 2 });
  last().push({ type: "initial", resource: "items", data: [{ name: "b" }], seq: 2 });
  last().push(ev("create", 2, 3, { id: 2, name: "b" }));
  assert.deepEqual(take(), [
    ["initial", [{ name: "b" }], 2, false],
    ["create", ev("create", 2, 3, { id: 2, name: "b" })],
  ]);
});

test("an error that answers a subscribe lets the events through again", () => {
  const { client, last, take } = live();
  last().accept();
  last().push({ type: "initial", resource: "items", data: [], seq: 1 });
  take();
  client.subscribe({ colour: "red" });
  last().push({ type: "error", detail: 'unknown filter field "colour"' });
  last().push(ev("create", 1, 2, { id: 1 }));
  assert.deepEqual(take(), [
    ["error", 'unknown filter field "colour"'],
    ["create", ev("create", 1, 2, { id: 1 })],
  ]);
});

test("without snapshots: events from the start, the filter in the URL, a reset when nothing can be resumed", () => {
  const { sockets, last, take } = live({ snapshot: false, filter: { name: "a" } });
  assert.deepEqual(JSON.parse(last().url.searchParams.get("filter")), { name: "a" });
  last().accept();
  assert.deepEqual(last().sent, []);
  last().drop();
  mock.timers.tick(250);
  last().accept();
  assert.deepEqual(take().filter((e) => e[0] !== "status"), [["reset"]]);
  last().push(ev("create", 1, 9, { id: 1 }));
  last().drop();
  mock.timers.tick(500);
  assert.equal(sockets.length, 3);
  assert.equal(last().url.searchParams.get("since"), "9");
});

test("a bad message and a throwing callback leave the client running", () => {
  const errors = [];
  const saved = console.error;
  console.error = (...args) => errors.push(args[0]);
  try {
    const { last, take } = live({
      onCreate: () => {
        throw new Error("bug in the page");
      },
    });
    last().accept();
    last().push({ type: "initial", resource: "items", data: [], seq: 1 });
    last().onmessage({ data: "not json" });
    last().push(ev("create", 1, 2, { id: 1 }));
    last().push(ev("update", 1, 3, { id: 1 }));
    assert.deepEqual(take("error"), [["error", "bad message from the server"]]);
    assert.deepEqual(errors, ["ws client: onCreate threw"]);
  } finally {
    console.error = saved;
  }
});

test("batch asks for batched frames and unpacks an array frame in order", () => {
  const { last, take } = live({ batch: true });
  assert.equal(last().url.searchParams.get("batch"), "1");
  last().accept();
  last().push({ type: "initial", resource: "items", data: [], seq: 1 });
  last().push([ev("create", 1, 2, { id: 1 }), ev("update", 1, 3, { id: 1, name: "b" }), ev("delete", 1, 4)]);
  last().drop();
  mock.timers.tick(30000);
  assert.equal(last().url.searchParams.get("batch"), "1", "kept on reconnect");
  assert.equal(last().url.searchParams.get("since"), "4");
  assert.deepEqual(take().filter((e) => e[0] !== "status"), [
    ["initial", [], 1, false],
    ["create", ev("create", 1, 2, { id: 1 })],
    ["update", ev("update", 1, 3, { id: 1, name: "b" })],
    ["delete", ev("delete", 1, 4)],
  ]);
});

test("presence asks, and onPresence gets the answer, join and leave; an error to it leaves a later subscribe waiting", () => {
  const got = [];
  const { client, last, take } = live({ onPresence: (msg) => got.push(msg) });
  assert.equal(client.presence(), false, "not connected yet");
  last().accept();
  last().push({ type: "initial", resource: "items", data: [], seq: 1 });
  assert.equal(client.presence(), true);
  const member = { id: "a-1", since: "2026-11-30T08:00:00Z", group: "items" };
  last().push({ type: "presence", group: "items", data: [member] });
  last().push([{ type: "join", group: "items", data: member }, { type: "leave", group: "items", data: member }]);
  assert.deepEqual(last().sent, [{ type: "subscribe" }, { type: "presence" }]);
  assert.deepEqual(got.map((m) => m.type), ["presence", "join", "leave"]);
  assert.deepEqual(got[0].data, [member]);

  // A presence question, then a new filter: the error answers the
  // question, so events still wait for the new snapshot.
  client.presence();
  client.subscribe({ name: "b" });
  take();
  last().push({ type: "error", detail: "presence is not shown on this endpoint" });
  last().push(ev("create", 1, 2, { id: 1, name: "a" }));
  last().push({ type: "initial", resource: "items", data: [{ id: 2 }], seq: 3 });
  last().push(ev("create", 3, 4, { id: 3, name: "b" }));
  assert.deepEqual(take(), [
    ["error", "presence is not shown on this endpoint"],
    ["initial", [{ id: 2 }], 3, false],
    ["create", ev("create", 3, 4, { id: 3, name: "b" })],
  ]);
  client.close();
});
