// The JavaScript client of easy's realtime endpoints: a dependency-free ES
// module, served by the app at /ws/client.js.
//
//   import { connect } from "/ws/client.js";
//   const live = connect("items", {
//     onInitial(rows, seq, more) { ... }, // the snapshot; more: cut at its limit
//     onCreate(ev) { ... }, onUpdate(ev) { ... }, onDelete(ev) { ... },
//     onStatus(status) { ... },        // "connecting", "connected", "reconnecting", "offline"
//     onPresence(msg) { ... },         // presence answers, join and leave, where the server enables them
//   });
//   live.subscribe({ price__gt: 10 }); // a new filter: a fresh snapshot, then only matching events
//   live.presence();                   // who is connected: the answer comes to onPresence
//   live.close();
//
// It reconnects with jittered exponential backoff and resumes with
// ?since=SEQ, so that no event is lost or doubled; when the server cannot
// resume it sends a reset, and the client asks for a fresh snapshot. A
// connection that brings no message (the server pings every 30 s) for two
// heartbeat intervals is taken for dead and replaced. It can read the same
// protocol from the Server-Sent Events endpoint (/sse/items) instead, and
// does when a WebSocket cannot connect at all. See docs/realtime-js.md.

/**
 * @typedef {"connecting" | "connected" | "reconnecting" | "offline"} Status
 *
 * @typedef {object} ChangeEvent A committed change of one row.
 * @property {"create" | "update" | "delete"} type
 * @property {string} resource
 * @property {string | number} id the primary key
 * @property {any} [data] the row as the REST API renders it; absent on delete
 * @property {number} seq rises by one per event of the resource
 *
 * @typedef {object} Member One connection of a group.
 * @property {string} id the connection's ID
 * @property {string} [principal] its principal's name; absent when anonymous
 * @property {string} since when it connected, RFC 3339
 * @property {string} group the resource
 * @property {string} [instance] the server instance that holds it
 *
 * @typedef {object} PresenceMessage
 * @property {"presence" | "join" | "leave"} type
 * @property {string} group
 * @property {Member[] | Member} data every member (presence, oldest first),
 *   or the one that joined or left
 *
 * @typedef {Record<string, string | number | boolean>} Filter
 *   In the CRUD list language: { name: "apple", price__gt: 10 }.
 *
 * @typedef {object} Options
 * @property {string} [url] the endpoint, ws(s):// or http(s):// or a path;
 *   default ws(s)://<this page's host>/ws/<resource>
 * @property {Filter} [filter] only the rows and events that match
 * @property {number} [limit] at most this many rows in a snapshot
 * @property {boolean} [snapshot] ask for a snapshot (an initial message)
 *   on connect and after a reset; default true
 * @property {number} [since] resume after this seq on the first connection
 * @property {number} [heartbeatInterval] the server's ping interval in ms
 *   (default 30000); no message for two of them means a dead connection;
 *   0 turns the check off
 * @property {{initial?: number, max?: number}} [backoff] the first and the
 *   longest wait between attempts in ms (default 250 and 30000); each wait
 *   is jittered between half and all of its value
 * @property {(rows: any[], seq: number, more: boolean) => void} [onInitial]
 *   the snapshot; more is true when more rows matched than it holds (its
 *   limit): they are read from the REST list with the same filter, page
 *   after page by the cursor of its Link header (for a numeric key, after
 *   the last row with id__gt)
 * @property {(ev: ChangeEvent) => void} [onCreate]
 * @property {(ev: ChangeEvent) => void} [onUpdate]
 * @property {(ev: ChangeEvent) => void} [onDelete]
 * @property {(ev: ChangeEvent) => void} [onEvent] every change, after its own callback
 * @property {() => void} [onReset] what was missed is gone; a snapshot follows
 *   when snapshot is on
 * @property {(status: Status) => void} [onStatus]
 * @property {(detail: string) => void} [onError] an error message from the
 *   server, or why the client stopped
 * @property {(msg: PresenceMessage) => void} [onPresence] the answer to
 *   presence(), and join and leave as connections come and go, where the
 *   server sends them (ws.PresenceQuery, ws.PresenceEvents)
 * @property {"auto" | "websocket" | "sse"} [transport] "auto" (the default)
 *   uses a WebSocket, and Server-Sent Events for good once a WebSocket fails
 *   before it ever opened (a proxy that refuses the upgrade, a runtime
 *   without WebSocket); "websocket" never falls back; "sse" uses SSE only
 * @property {string} [sseUrl] the SSE endpoint, http(s):// or a path;
 *   default http(s)://<the WebSocket URL's host>/sse/<resource>
 * @property {typeof WebSocket} [WebSocket] the WebSocket class; default the global one
 * @property {boolean} [batch] ask for batched frames (batch=1): messages the
 *   server queued together arrive as one frame, a JSON array, unpacked here
 * @property {typeof fetch} [fetch] the fetch function SSE reads with;
 *   default the global one
 *
 * @typedef {object} Live
 * @property {(filter?: Filter, limit?: number) => void} subscribe replaces the
 *   filter and limit and asks for a fresh snapshot
 * @property {() => boolean} presence asks who is connected: the answer
 *   comes to onPresence, or an error to onError where the server does not
 *   show presence; false when it cannot ask (not connected, or over SSE,
 *   which sends nothing)
 * @property {() => void} close closes with 1000 and stops reconnecting
 * @property {Status} status
 * @property {number | null} seq the seq of the last event or snapshot, null
 *   before the first one and after a reset
 * @property {"websocket" | "sse"} transport what the client connects with
 */

/**
 * The wait before reconnection attempt number attempt (0 for the first):
 * initial doubled per attempt, at most max, jittered between half and all
 * of it so that clients dropped together do not come back together.
 *
 * @param {number} attempt
 * @param {{initial?: number, max?: number}} [backoff]
 * @param {() => number} [random] in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, backoff = {}, random = Math.random) {
  const initial = backoff.initial ?? 250;
  const max = Math.max(backoff.max ?? 30000, initial);
  const d = Math.min(initial * 2 ** Math.min(attempt, 30), max);
  return d / 2 + random() * (d / 2);
}

/**
 * The URL of a connection: the endpoint with since (to resume) and filter.
 *
 * @param {string} base an absolute ws:// or wss:// URL
 * @param {number | null} since
 * @param {Filter | undefined} filter
 * @returns {string}
 */
export function endpointURL(base, since, filter) {
  const u = new URL(base);
  if (since !== null) u.searchParams.set("since", String(since));
  else u.searchParams.delete("since");
  if (filter && Object.keys(filter).length > 0) u.searchParams.set("filter", JSON.stringify(filter));
  else u.searchParams.delete("filter");
  return u.toString();
}

/**
 * The URL of an SSE connection: what a WebSocket client would ask with
 * subscribe goes in the query. With a snapshot, the server also sends one
 * after a reset.
 *
 * @param {string} base an absolute http:// or https:// URL
 * @param {number | null} since
 * @param {Filter | undefined} filter
 * @param {boolean} snapshot
 * @param {number | undefined} limit
 * @returns {string}
 */
export function sseURL(base, since, filter, snapshot, limit) {
  const u = new URL(endpointURL(base, since, filter));
  u.searchParams.delete("snapshot");
  u.searchParams.delete("limit");
  if (snapshot) u.searchParams.set("snapshot", "1");
  if (snapshot && limit) u.searchParams.set("limit", String(limit));
  return u.toString();
}

/**
 * An SSE connection read with fetch, behind the part of the WebSocket
 * interface the client uses, so that the rest of the client does not
 * tell them apart. fetch rather than EventSource: it can read a refusal's
 * status and {"detail"} (EventSource reports only "error"), and runs in
 * Node too. A refusal or the server's "close" event becomes onclose with
 * the code a WebSocket would have had: 1008 and the detail for 401, 403
 * and the other refusals that a retry would meet again, 1013 for 429 and
 * 503; a stream that breaks is 1006.
 */
class SSESocket {
  constructor(url, fetchFn) {
    this.url = url;
    this.readyState = 0;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    this.abort = new AbortController();
    this.run(fetchFn).catch(() => this.end(1006, ""));
  }

  async run(fetchFn) {
    const res = await fetchFn(this.url, {
      headers: { Accept: "text/event-stream" },
      credentials: "same-origin",
      cache: "no-store",
      signal: this.abort.signal,
    });
    if (res.status !== 200) {
      let detail = `HTTP ${res.status}`;
      try {
        const body = await res.json();
        if (body && body.detail !== undefined) {
          detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
        }
      } catch {
        // not JSON: the status says it
      }
      const retry = res.status === 429 || res.status >= 500;
      this.end(retry ? 1013 : 1008, detail);
      return;
    }
    this.readyState = 1;
    this.onopen?.({});
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    let event = "";
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let i;
      while ((i = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + (buf.startsWith("\r\n", i) ? 2 : 1));
        if (line === "") {
          if (data.length > 0) this.dispatch(event, data.join("\n"));
          event = "";
          data = [];
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "") this.onmessage?.({ data: null }); // a heartbeat comment
        else if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
      if (this.readyState !== 1) return;
    }
    this.end(1006, "");
  }

  dispatch(event, data) {
    if (this.readyState !== 1) return;
    if (event === "close") {
      let c = {};
      try {
        c = JSON.parse(data);
      } catch {
        // a close all the same
      }
      this.end(c.code ?? 1006, c.reason ?? "");
    } else if (event === "" || event === "message") {
      this.onmessage?.({ data });
    }
  }

  end(code, reason) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.abort.abort();
    this.onclose?.({ code, reason });
  }

  send() {
    throw new Error("an SSE connection sends nothing");
  }

  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.abort.abort();
  }
}

/**
 * Follows the events of resource until close.
 *
 * @param {string} resource the table name, such as "items"
 * @param {Options} [options]
 * @returns {Live}
 */
export function connect(resource, options = {}) {
  const opts = { ...options };
  const WS = opts.WebSocket ?? globalThis.WebSocket;
  const fetchFn = opts.fetch ?? globalThis.fetch?.bind(globalThis);
  const transport = opts.transport ?? "auto";
  const base = resolveURL(opts.url ?? "/ws/" + encodeURIComponent(resource));
  const sseBase = resolveURL(opts.sseUrl ?? "/sse/" + encodeURIComponent(resource), base, "http");
  let useSSE = transport === "sse" || (transport === "auto" && typeof WS !== "function");
  const heartbeat = opts.heartbeatInterval ?? 30000;
  let wantSnapshot = opts.snapshot ?? true;
  let filter = opts.filter; // of the next subscribe
  let limit = opts.limit;
  let activeFilter = opts.filter; // the server's, sent again on resume

  /** @type {WebSocket | null} */
  let sock = null;
  /** @type {Status} */
  let status = "connecting";
  /** @type {number | null} */
  let seq = opts.since ?? null;
  let needSnapshot = wantSnapshot && seq === null;
  // The filters of the subscribes sent on this socket and not yet
  // answered. Meanwhile events are dropped: each is in the snapshot or is
  // sent again after it.
  let pending = [];
  // What was asked on this socket and not answered yet, in order:
  // "subscribe" or "presence". The server answers in order, so an error
  // answers the oldest.
  let asked = [];
  let opened = false; // some connection has opened
  let wsOpened = false; // some WebSocket has opened: no fallback after that
  let attempt = 0; // attempts since the last open
  let stopped = false;
  let retryTimer = null;
  let deadTimer = null;

  const call = (name, ...args) => {
    const fn = opts[name];
    if (typeof fn !== "function") return;
    try {
      fn(...args);
    } catch (err) {
      console.error(`ws client: ${name} threw`, err);
    }
  };
  const setStatus = (s) => {
    if (s === status) return;
    status = s;
    call("onStatus", s);
  };

  const sendSubscribe = () => {
    const msg = { type: "subscribe" };
    if (filter && Object.keys(filter).length > 0) msg.filter = filter;
    if (limit) msg.limit = limit;
    pending.push(filter);
    asked.push("subscribe");
    sock.send(JSON.stringify(msg));
  };

  // armDeadline restarts the heartbeat check: any message proves the
  // connection alive.
  const armDeadline = () => {
    clearTimeout(deadTimer);
    if (heartbeat > 0) deadTimer = setTimeout(drop, 2 * heartbeat);
  };

  const detach = () => {
    if (!sock) return null;
    const s = sock;
    s.onopen = s.onmessage = s.onclose = s.onerror = null;
    sock = null;
    pending = [];
    asked = [];
    clearTimeout(deadTimer);
    return s;
  };

  // closed handles the end of a connection: a policy close (1008) stops
  // the client, a WebSocket that never opened makes "auto" fall back to
  // SSE, anything else reconnects. Node 20's WebSocket reports a refused
  // connection with error and no close, so error comes here too.
  const closed = (s, code, reason) => {
    if (sock !== s) return;
    detach();
    if (stopped) return;
    if (code === 1008) {
      stop(reason || "closed by the server: policy violation");
      return;
    }
    // A stream ended because its snapshot failed: an event that came
    // after the error is no place to resume from without one.
    if (code === 1013 && reason === "snapshot failed") seq = null;
    if (!useSSE && !wsOpened && transport === "auto") useSSE = true;
    scheduleReconnect();
  };

  // drop abandons a silent socket without waiting for its close
  // handshake, which a dead connection never completes, and reconnects.
  const drop = () => {
    detach()?.close(4000, "heartbeat timeout");
    scheduleReconnect();
  };

  const scheduleReconnect = () => {
    if (stopped || retryTimer !== null) return;
    setStatus("reconnecting");
    retryTimer = setTimeout(open, backoffDelay(attempt++, opts.backoff));
  };

  const open = () => {
    retryTimer = null;
    if (wantSnapshot && seq === null) needSnapshot = true; // the last one failed, or a reset came
    // With a snapshot to come there is nothing to resume.
    const since = needSnapshot ? null : seq;
    let s;
    if (useSSE) {
      if (typeof fetchFn !== "function") {
        stop("cannot connect: neither WebSocket nor fetch is available");
        return;
      }
      // The snapshot is asked for in the URL: after a reset too.
      const f = needSnapshot ? filter : activeFilter;
      s = new SSESocket(sseURL(sseBase, since, f, wantSnapshot, limit), fetchFn);
      if (needSnapshot) pending.push(f);
    } else {
      try {
        s = new WS(batchURL(endpointURL(base, since, needSnapshot ? undefined : activeFilter), opts.batch));
      } catch (err) {
        if (transport !== "auto") {
          stop(`cannot connect: ${err.message}`);
          return;
        }
        useSSE = true;
        open();
        return;
      }
    }
    sock = s;
    s.onopen = () => {
      const again = opened;
      opened = true;
      if (!useSSE) wsOpened = true;
      // A stream opens before its snapshot is read, and ends when that
      // fails: the backoff starts again once the snapshot, or an event,
      // came.
      if (!useSSE || !needSnapshot) attempt = 0;
      armDeadline();
      setStatus("connected");
      if (needSnapshot && !useSSE) sendSubscribe();
      else if (!needSnapshot && seq === null && again) call("onReset"); // what was missed is unknown
    };
    s.onmessage = (e) => {
      armDeadline();
      if (typeof e.data === "string") receive(e.data);
    };
    s.onclose = (e) => closed(s, e.code, e.reason);
    s.onerror = () => closed(s, 1006, "");
  };

  const receive = (text) => {
    let ev;
    try {
      ev = JSON.parse(text);
    } catch {
      call("onError", "bad message from the server");
      return;
    }
    unbatch(ev).forEach(handle);
  };

  const handle = (ev) => {
    switch (ev.type) {
      case "create":
      case "update":
      case "delete":
        attempt = 0; // the stream serves, its snapshot or not
        if (pending.length > 0 || (seq !== null && ev.seq <= seq)) return;
        if (typeof ev.seq === "number") seq = ev.seq;
        call(ev.type === "create" ? "onCreate" : ev.type === "update" ? "onUpdate" : "onDelete", ev);
        call("onEvent", ev);
        return;
      case "initial":
        asked.shift();
        if (pending.length > 0) activeFilter = pending.shift();
        if (pending.length > 0) return; // the answer to a later subscribe follows
        needSnapshot = false;
        seq = ev.seq;
        attempt = 0;
        call("onInitial", ev.data ?? [], ev.seq, ev.more === true);
        return;
      case "reset":
        seq = null;
        call("onReset");
        if (wantSnapshot) {
          needSnapshot = true;
          // Over SSE the server sends it after the reset, one for the
          // resets that come before it: one is awaited at most.
          if (useSSE) {
            if (pending.length === 0) pending.push(activeFilter);
          }
          else sendSubscribe();
        }
        return;
      case "presence":
        asked.shift();
        call("onPresence", ev);
        return;
      case "join":
      case "leave":
        call("onPresence", ev);
        return;
      case "error":
        // An error answers the oldest question; a failed subscribe
        // changed nothing on the server.
        if (asked.shift() !== "presence") {
          pending.shift();
          if (pending.length === 0) needSnapshot = false;
        }
        call("onError", ev.detail);
        return;
      default: // ping, pong, and types added later
    }
  };

  const stop = (reason) => {
    stopped = true;
    clearTimeout(retryTimer);
    detach()?.close(1000);
    setStatus("offline");
    if (reason) call("onError", reason);
  };

  call("onStatus", status);
  open();

  return {
    subscribe(newFilter, newLimit) {
      filter = newFilter;
      limit = newLimit;
      wantSnapshot = needSnapshot = true;
      if (useSSE && sock) {
        // An SSE connection cannot be told: a new one asks for it.
        detach().close();
        clearTimeout(retryTimer);
        open();
      } else if (sock && sock.readyState === 1) sendSubscribe(); // else when the next connection opens
    },
    presence() {
      if (useSSE || !sock || sock.readyState !== 1) return false;
      asked.push("presence");
      sock.send(JSON.stringify({ type: "presence" }));
      return true;
    },
    close() {
      if (!stopped) stop();
    },
    get status() {
      return status;
    },
    get seq() {
      return seq;
    },
    get transport() {
      return useSSE ? "sse" : "websocket";
    },
  };
}

/**
 * Batched frames: the URL asks for them, and a frame is one message or an
 * array of them, in order.
 *
 * @param {string} url
 * @param {boolean | undefined} batch
 * @returns {string}
 */
export function batchURL(url, batch) {
  if (!batch) return url;
  const u = new URL(url);
  u.searchParams.set("batch", "1");
  return u.toString();
}

/** @param {any} frame @returns {any[]} */
export function unbatch(frame) {
  return Array.isArray(frame) ? frame : [frame];
}

// resolveURL makes an absolute URL of url, which may be relative to
// relativeTo (by default this page): ws:// or wss://, or with scheme
// "http", http:// or https://.
function resolveURL(url, relativeTo = globalThis.location?.href, scheme = "ws") {
  const u = new URL(url, relativeTo);
  const secure = u.protocol === "https:" || u.protocol === "wss:";
  u.protocol = scheme === "ws" ? (secure ? "wss:" : "ws:") : secure ? "https:" : "http:";
  return u.toString();
}
