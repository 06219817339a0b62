// Tests of the client against real sockets: Node's own WebSocket and
// fetch, and small servers of Node's http module that speak just enough
// WebSocket and SSE. Run with: node --test easy/ws/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

import { connect } from "./client.js";

// server serves handler on 127.0.0.1 (on port, or a free one) and upgrades
// WebSocket handshakes with upgrade, unless it is null. stop closes it and
// every connection it has.
async function server(handler, upgrade, port = 0) {
  const sockets = new Set();
  const srv = createServer(handler);
  srv.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  srv.on("upgrade", (req, socket) => {
    if (!upgrade) {
      socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const accept = createHash("sha1")
      .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    upgrade(socket, req);
  });
  await new Promise((resolve) => srv.listen(port, "127.0.0.1", resolve));
  return {
    port: srv.address().port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => srv.close(resolve));
    },
  };
}

// frame is a WebSocket frame from the server: unmasked, final, short.
function frame(opcode, payload) {
  const b = Buffer.from(payload);
  return Buffer.concat([Buffer.from([0x80 | opcode, b.length]), b]);
}
const textFrame = (msg) => frame(1, JSON.stringify(msg));
const closeFrame = (code, reason) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return frame(8, Buffer.concat([b, Buffer.from(reason)]));
};

// clientMessage decodes a text frame from the client (masked, short), or
// returns null for another frame.
function clientMessage(buf) {
  if ((buf[0] & 0x0f) !== 1) return null;
  const mask = buf.subarray(2, 6);
  const payload = buf.subarray(6, 6 + (buf[1] & 0x7f)).map((b, i) => b ^ mask[i % 4]);
  return JSON.parse(Buffer.from(payload).toString());
}

// until waits for cond, polling, for at most 5 s.
async function until(what, cond) {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting until ${what}`);
}

// recorder returns callbacks that record every call, and the log.
function recorder() {
  const log = [];
  const record = (name) => (...args) => log.push([name, ...args]);
  const callbacks = {
    onInitial: record("initial"),
    onCreate: record("create"),
    onReset: record("reset"),
    onStatus: record("status"),
    onError: record("error"),
  };
  return { log, callbacks, has: (...entry) => log.some((e) => JSON.stringify(e) === JSON.stringify(entry)) };
}

const create = (id, seq) => ({ type: "create", resource: "items", id, data: { id }, seq });

if (typeof WebSocket !== "function") {
  // Node 20 and 21 keep their WebSocket behind a flag: run this file again
  // with it.
  test("under --experimental-websocket", () => {
    const file = fileURLToPath(import.meta.url);
    const r = spawnSync(process.execPath, ["--experimental-websocket", "--test", file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
} else {
  test("Node's WebSocket: a refused connection is retried until the server is back", async () => {
    const first = await server(null, (socket) => socket.write(textFrame(create(1, 1))));
    const port = first.port;
    await first.stop();

    let attempts = 0;
    class Counting extends WebSocket {
      constructor(...args) {
        super(...args);
        attempts++;
      }
    }
    const { log, callbacks, has } = recorder();
    const live = connect("items", {
      url: `ws://127.0.0.1:${port}/ws/items`,
      WebSocket: Counting,
      transport: "websocket",
      snapshot: false,
      backoff: { initial: 20, max: 40 },
      ...callbacks,
    });
    try {
      // Node 20 reports each refusal with error and no close: the client
      // must retry all the same.
      await until("three refused attempts", () => attempts >= 3);
      assert.equal(live.status, "reconnecting");
      const again = await server(null, (socket) => socket.write(textFrame(create(1, 1))), port);
      try {
        await until("the event of the restarted server", () => has("create", create(1, 1)));
        assert.equal(live.status, "connected");
        assert.ok(!log.some((e) => e[0] === "error"), JSON.stringify(log));
      } finally {
        live.close();
        await again.stop();
      }
    } finally {
      live.close();
    }
  });

  test("Node's WebSocket: presence() asks on the socket; onPresence gets the answer, join and leave", async () => {
    const member = { id: "a-1", since: "2026-11-30T08:00:00Z", group: "items" };
    const join = { type: "join", group: "items", data: member };
    const answer = { type: "presence", group: "items", data: [member] };
    const leave = { type: "leave", group: "items", data: member };
    const heard = [];
    const srv = await server(null, (socket) => {
      socket.write(textFrame(join));
      socket.on("data", (buf) => {
        const msg = clientMessage(buf);
        if (msg === null) return;
        heard.push(msg);
        if (msg.type === "presence") socket.write(Buffer.concat([textFrame(answer), textFrame(leave)]));
      });
    });
    const got = [];
    const { log, callbacks } = recorder();
    const live = connect("items", {
      url: `ws://127.0.0.1:${srv.port}/ws/items`,
      transport: "websocket",
      snapshot: false,
      onPresence: (msg) => got.push(msg),
      ...callbacks,
    });
    try {
      await until("the join", () => got.length === 1);
      assert.equal(live.presence(), true);
      await until("the answer and a leave", () => got.length === 3);
      assert.deepEqual(heard, [{ type: "presence" }]);
      assert.deepEqual(got, [join, answer, leave]);
      assert.ok(!log.some((e) => e[0] === "error"), JSON.stringify(log));
    } finally {
      live.close();
      await srv.stop();
    }
    assert.equal(live.presence(), false, "closed: nothing to ask on");
  });

  test("Node's WebSocket: a close with 1008 stops the client and reports the reason", async () => {
    let connections = 0;
    const srv = await server(null, (socket) => {
      connections++;
      socket.write(closeFrame(1008, "Not authenticated"));
      socket.on("data", () => socket.end()); // the client's close frame
    });
    const { log, callbacks } = recorder();
    const live = connect("items", {
      url: `ws://127.0.0.1:${srv.port}/ws/items`,
      transport: "websocket",
      snapshot: false,
      backoff: { initial: 20, max: 40 },
      ...callbacks,
    });
    try {
      await until("the client stops", () => live.status === "offline");
      await new Promise((r) => setTimeout(r, 200)); // no retry comes
      assert.equal(connections, 1);
      assert.deepEqual(log.slice(-2), [
        ["status", "offline"],
        ["error", "Not authenticated"],
      ]);
    } finally {
      live.close();
      await srv.stop();
    }
  });
}

test("SSE: the snapshot and filter in the URL, events, resume with since, a close event of 1008", async () => {
  const requests = [];
  const srv = await server((req, res) => {
    requests.push(new URL(req.url, "http://x"));
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    if (requests.length === 1) {
      res.write(`id: 5\ndata: ${JSON.stringify({ type: "initial", resource: "items", data: [{ id: 1 }], seq: 5 })}\n\n`);
      res.write(": ping\n\n");
      res.write(`id: 6\ndata: ${JSON.stringify(create(2, 6))}\r\n\r\n`);
      res.end(); // the stream breaks: the client resumes
      return;
    }
    res.write(`id: 7\ndata: ${JSON.stringify(create(3, 7))}\n\n`);
    res.end(`event: close\ndata: {"code":1008,"reason":"authorisation expired"}\n\n`);
  }, null);
  const { log, callbacks } = recorder();
  const live = connect("items", {
    url: `http://127.0.0.1:${srv.port}/ws/items`,
    transport: "sse",
    filter: { price__gt: 10 },
    limit: 5,
    backoff: { initial: 20, max: 40 },
    ...callbacks,
  });
  try {
    await until("the client stops", () => live.status === "offline");
    assert.deepEqual(
      requests.map((u) => u.pathname + u.search),
      [
        "/sse/items?filter=%7B%22price__gt%22%3A10%7D&snapshot=1&limit=5",
        "/sse/items?since=6&filter=%7B%22price__gt%22%3A10%7D&snapshot=1&limit=5",
      ],
    );
    assert.deepEqual(log, [
      ["status", "connecting"],
      ["status", "connected"],
      ["initial", [{ id: 1 }], 5, false],
      ["create", create(2, 6)],
      ["status", "reconnecting"],
      ["status", "connected"],
      ["create", create(3, 7)],
      ["status", "offline"],
      ["error", "authorisation expired"],
    ]);
  } finally {
    live.close();
    await srv.stop();
  }
});

test("SSE: resets mid-stream are answered by the one fresh snapshot the server sends after them", async () => {
  const srv = await server((req, res) => {
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    res.write(`id: 5\ndata: ${JSON.stringify({ type: "initial", resource: "items", data: [{ id: 1 }], seq: 5 })}\n\n`);
    // Two resets before the server's fresh snapshot: it sends one for both.
    res.write(`data: ${JSON.stringify({ type: "reset", resource: "items" })}\n\n`);
    res.write(`data: ${JSON.stringify({ type: "reset", resource: "items" })}\n\n`);
    res.write(`id: 9\ndata: ${JSON.stringify({ type: "initial", resource: "items", data: [{ id: 2 }], seq: 9 })}\n\n`);
    res.write(`id: 10\ndata: ${JSON.stringify(create(3, 10))}\n\n`);
  }, null);
  const { log, callbacks } = recorder();
  const live = connect("items", { url: `http://127.0.0.1:${srv.port}/ws/items`, transport: "sse", ...callbacks });
  try {
    await until("the event after the fresh snapshot", () => log.some(([kind]) => kind === "create"));
    assert.deepEqual(log, [
      ["status", "connecting"],
      ["status", "connected"],
      ["initial", [{ id: 1 }], 5, false],
      ["reset"],
      ["reset"],
      ["initial", [{ id: 2 }], 9, false],
      ["create", create(3, 10)],
    ]);
  } finally {
    live.close();
    await srv.stop();
  }
});

test("SSE: a stream whose fresh snapshot failed ends with 1013, and the client reconnects to another snapshot, not a resume", async () => {
  const requests = [];
  const srv = await server((req, res) => {
    requests.push(new URL(req.url, "http://x"));
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    if (requests.length === 1) {
      res.write(`id: 5\ndata: ${JSON.stringify({ type: "initial", resource: "items", data: [{ id: 1 }], seq: 5 })}\n\n`);
      res.write(`data: ${JSON.stringify({ type: "reset", resource: "items" })}\n\n`);
      res.write(`id: 7\ndata: ${JSON.stringify(create(2, 7))}\n\n`); // before the server held the stream for its snapshot
      res.write(`data: ${JSON.stringify({ type: "error", detail: "the snapshot took longer than 10s to read" })}\n\n`);
      res.end(`id\nevent: close\ndata: {"code":1013,"reason":"snapshot failed"}\n\n`);
      return;
    }
    res.write(`id: 9\ndata: ${JSON.stringify({ type: "initial", resource: "items", data: [{ id: 1 }, { id: 2 }], seq: 9 })}\n\n`);
    res.write(`id: 10\ndata: ${JSON.stringify(create(3, 10))}\n\n`);
  }, null);
  const { log, callbacks } = recorder();
  const live = connect("items", {
    url: `http://127.0.0.1:${srv.port}/ws/items`,
    transport: "sse",
    backoff: { initial: 20, max: 40 },
    ...callbacks,
  });
  try {
    await until("the event after the second snapshot", () => log.some(([kind]) => kind === "create"));
    assert.deepEqual(
      requests.map((u) => u.pathname + u.search),
      ["/sse/items?snapshot=1", "/sse/items?snapshot=1"],
    );
    assert.deepEqual(log, [
      ["status", "connecting"],
      ["status", "connected"],
      ["initial", [{ id: 1 }], 5, false],
      ["reset"],
      ["error", "the snapshot took longer than 10s to read"],
      ["status", "reconnecting"],
      ["status", "connected"],
      ["initial", [{ id: 1 }, { id: 2 }], 9, false],
      ["create", create(3, 10)],
    ]);
  } finally {
    live.close();
    await srv.stop();
  }
});

test("SSE: a stream whose snapshot fails at connect reconnects to a snapshot, not to a resume from an event that came after the error", async () => {
  const requests = [];
  const srv = await server((req, res) => {
    requests.push(new URL(req.url, "http://x"));
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    if (requests.length === 1) {
      res.write(`data: ${JSON.stringify({ type: "error", detail: "the snapshot took longer than 10s to read" })}\n\n`);
      res.write(`id: 7\ndata: ${JSON.stringify(create(2, 7))}\n\n`); // the stream followed the resource while it waited
      res.end(`id\nevent: close\ndata: {"code":1013,"reason":"snapshot failed"}\n\n`);
      return;
    }
    res.write(`id: 9\ndata: ${JSON.stringify({ type: "initial", resource: "items", data: [{ id: 1 }, { id: 2 }], seq: 9 })}\n\n`);
  }, null);
  const { log, callbacks } = recorder();
  const live = connect("items", {
    url: `http://127.0.0.1:${srv.port}/ws/items`,
    transport: "sse",
    backoff: { initial: 20, max: 40 },
    ...callbacks,
  });
  try {
    await until("the second snapshot", () => log.some(([kind, , seq]) => kind === "initial" && seq === 9));
    assert.deepEqual(
      requests.map((u) => u.pathname + u.search),
      ["/sse/items?snapshot=1", "/sse/items?snapshot=1"],
    );
  } finally {
    live.close();
    await srv.stop();
  }
});

test("SSE: while every snapshot fails, the client backs off further each time", async () => {
  const times = [];
  const srv = await server((req, res) => {
    times.push(Date.now());
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    res.write(`data: ${JSON.stringify({ type: "error", detail: "snapshot failed" })}\n\n`);
    res.end(`id\nevent: close\ndata: {"code":1013,"reason":"snapshot failed"}\n\n`);
  }, null);
  const { callbacks } = recorder();
  const live = connect("items", {
    url: `http://127.0.0.1:${srv.port}/ws/items`,
    transport: "sse",
    backoff: { initial: 20, max: 60000 },
    ...callbacks,
  });
  try {
    // Waits of 10–20, 20–40, 40–80, 80–160, 160–320, 320–640 ms: at
    // most 7 requests in the 700 ms after the first (a slower machine
    // makes fewer). The backoff started again at each stream's open made
    // some 40.
    await until("a reconnect", () => times.length >= 2);
    await new Promise((r) => setTimeout(r, 700 - (Date.now() - times[0])));
    const n = times.filter((t) => t - times[0] <= 700).length;
    assert.ok(n <= 7, `${n} requests in 700 ms`);
  } finally {
    live.close();
    await srv.stop();
  }
});

test("SSE: an event on a stream whose snapshot was refused resets the backoff", async () => {
  const times = [];
  const srv = await server((req, res) => {
    times.push(Date.now());
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    if (times.length <= 4) { // the backoff grows: waits of 100–200, 200–400, 400–800, 800–1600 ms
      res.write(`data: ${JSON.stringify({ type: "error", detail: "snapshot failed" })}\n\n`);
      res.end(`id\nevent: close\ndata: {"code":1013,"reason":"snapshot failed"}\n\n`);
      return;
    }
    if (times.length === 5) { // refused for good, the stream goes on: an event, then the network fails
      res.write(`data: ${JSON.stringify({ type: "error", detail: "snapshot of 9 bytes exceeds the send queue" })}\n\n`);
      res.write(`id: 7\ndata: ${JSON.stringify(create(2, 7))}\n\n`);
      setTimeout(() => res.destroy(), 50);
      return;
    }
    res.write(": ping\n\n");
  }, null);
  const { log, callbacks } = recorder();
  const live = connect("items", {
    url: `http://127.0.0.1:${srv.port}/ws/items`,
    transport: "sse",
    backoff: { initial: 200, max: 60000 },
    ...callbacks,
  });
  try {
    for (let i = 0; i < 1500 && times.length < 6; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(times.length >= 6, `${times.length} streams: no sixth`);
    // From the fifth stream's end, a wait of 100–200 ms, not the 1.6–3.2
    // s of a fifth failure in a row.
    const gap = times[5] - times[4] - 50;
    assert.ok(gap < 1000, `reconnected ${gap} ms after the stream that served an event`);
    assert.ok(log.some(([kind]) => kind === "create"), "the event was not delivered");
  } finally {
    live.close();
    await srv.stop();
  }
});

test("SSE: a 401's detail is reported and the client stops", async () => {
  let requests = 0;
  const srv = await server((req, res) => {
    requests++;
    res.writeHead(401, { "Content-Type": "application/json" });
    res.end(`{"detail":"Not authenticated"}`);
  }, null);
  const { log, callbacks } = recorder();
  const live = connect("items", { url: `http://127.0.0.1:${srv.port}/ws/items`, transport: "sse", ...callbacks });
  try {
    await until("the client stops", () => live.status === "offline");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(requests, 1);
    assert.deepEqual(log, [
      ["status", "connecting"],
      ["status", "offline"],
      ["error", "Not authenticated"],
    ]);
  } finally {
    await srv.stop();
  }
});

test("auto falls back to SSE when the WebSocket handshake is refused, and stays there", async () => {
  const seen = [];
  const srv = await server((req, res) => {
    seen.push(req.url.split("?")[0]);
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    res.write(`id: 9\ndata: ${JSON.stringify({ type: "initial", resource: "items", data: [], seq: 9 })}\n\n`);
  }, null);
  const { callbacks, has } = recorder();
  const live = connect("items", {
    url: `ws://127.0.0.1:${srv.port}/ws/items`,
    backoff: { initial: 20, max: 40 },
    ...(typeof WebSocket === "function" ? {} : { WebSocket: undefined }),
    ...callbacks,
  });
  try {
    await until("the snapshot over SSE", () => has("initial", [], 9, false));
    assert.equal(live.status, "connected");
    assert.deepEqual(seen, ["/sse/items"]);
  } finally {
    live.close();
    await srv.stop();
  }
});
