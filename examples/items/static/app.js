// The live dashboard of the items app: a table kept in step with /ws/items,
// and forms that change the items through the REST API. The table follows
// the events only, so a change from anywhere shows up the same way.
import { connect } from "/ws/client.js";

const tbody = document.querySelector("#items tbody");
const empty = document.getElementById("empty");
const errors = document.getElementById("errors");
const status = document.getElementById("status");
const eventCount = document.getElementById("event-count");
const more = document.getElementById("more");
const form = document.getElementById("add-form");
const dashboard = document.getElementById("dashboard");
const login = document.getElementById("login-form");
const loginErrors = document.getElementById("login-errors");
const who = document.getElementById("who");
const filterForm = document.getElementById("filter-form");
let events = 0;
let live; // the connection to /ws/items, once started
let applied = ""; // the minimum price the table is filtered by, "" for none
// The access token, when the app requires a login (go run ./examples/items
// -auth); it lasts for the tab.
let token = sessionStorage.getItem("access_token");

async function signedOut() {
  const res = await fetch("/items?limit=0", { headers: authHeaders() }).catch(() => null);
  if (res?.status !== 401) return false;
  sessionStorage.removeItem("access_token");
  token = null;
  return true;
}

function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// showLogin shows the sign-in form, which gets a token with the OAuth2
// password flow (POST /token) and signs up at POST /users.
function showLogin() {
  dashboard.hidden = true;
  login.hidden = false;
  login.elements.username.focus();
  const signIn = async () => {
    const res = await fetch("/token", {
      method: "POST",
      body: new URLSearchParams({ username: login.elements.username.value, password: login.elements.password.value }),
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      loginErrors.replaceChildren(...messages(data, res).map((m) => el("li", {}, m)));
      return;
    }
    token = data.access_token;
    sessionStorage.setItem("access_token", token);
    login.hidden = true;
    dashboard.hidden = false;
    start();
  };
  login.addEventListener("submit", (e) => {
    e.preventDefault();
    signIn();
  });
  document.getElementById("signup").addEventListener("click", async () => {
    const res = await fetch("/users", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: login.elements.username.value, password: login.elements.password.value }),
    });
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      loginErrors.replaceChildren(...messages(data, res).map((m) => el("li", {}, m)));
      return;
    }
    signIn();
  });
}

// start follows /ws/items, with the token when there is one.
function start() {
  if (token) {
    who.hidden = false;
    who.querySelector("b").textContent = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub;
    document.getElementById("signout").addEventListener("click", () => {
      sessionStorage.removeItem("access_token");
      location.reload();
    });
  }
  applied = filterForm.elements.min.value;
  const auth = token ? `?access_token=${encodeURIComponent(token)}` : "";
  live = connect("items", {
    url: `/ws/items${auth}`,
    sseUrl: `/sse/items${auth}`,
    // ?transport=sse or websocket picks one; by default a WebSocket, and
    // Server-Sent Events where a WebSocket cannot connect.
    transport: new URLSearchParams(location.search).get("transport") ?? "auto",
    filter: priceFilter(applied),
    ...handlers,
  });
}

// The price filter subscribes again with the filter: a fresh snapshot of
// the rows that pass it, then only their events. The server keeps the
// view right as rows move in and out: an update that takes a row out of
// the filter arrives as a delete. Enter fires both change and submit; a
// value already applied is not subscribed again.
function applyFilter() {
  const min = filterForm.elements.min.value;
  if (!live || min === applied) return;
  applied = min;
  live.subscribe(priceFilter(min));
}

function priceFilter(min) {
  return min === "" ? undefined : { price__gte: min };
}
filterForm.addEventListener("submit", (e) => {
  e.preventDefault();
  applyFilter();
});
filterForm.elements.min.addEventListener("change", applyFilter);

const handlers = {
  // The snapshot holds at most the server's SnapshotLimit rows; when more
  // matched, the table shows those and says so. Their events still come.
  onInitial(rows, seq, cut) {
    tbody.replaceChildren(...rows.sort((a, b) => a.id - b.id).map(rowFor));
    more.hidden = !cut;
    more.textContent = cut ? `Showing the first ${rows.length} items: narrow the filter to see the others.` : "";
    updateEmpty();
  },
  onCreate: (ev) => upsert(ev.data),
  onUpdate: (ev) => upsert(ev.data),
  onDelete: (ev) => remove(ev.id),
  onEvent() {
    eventCount.textContent = String(++events);
  },
  onStatus(s) {
    status.dataset.status = s;
    status.dataset.transport = live?.transport ?? "";
    status.title = live ? `over ${live.transport === "sse" ? "Server-Sent Events" : "WebSocket"}` : "";
    status.textContent = s;
  },
  onError(detail) {
    status.title = detail;
  },
};

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const item = { name: form.elements.name.value };
  if (form.elements.price.value !== "") item.price = Number(form.elements.price.value);
  if (await call("POST", "/items", item)) {
    form.reset();
    form.elements.name.focus();
  }
});

// call sends a request to the API and shows its errors next to the form;
// it returns the response's JSON, or undefined after an error.
async function call(method, path, body, what = "") {
  errors.replaceChildren();
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { ...authHeaders(), ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    showErrors(what, ["Cannot reach the server"]);
    return undefined;
  }
  const data = await res.json().catch(() => null);
  if (res.status === 401 && token) { // the token expired: sign in again
    sessionStorage.removeItem("access_token");
    location.reload();
    return undefined;
  }
  if (!res.ok) {
    showErrors(what, messages(data, res));
    return undefined;
  }
  return data;
}

// messages reads FastAPI's error body: a string detail, or a list of
// validation errors, each with the field it concerns.
function messages(data, res) {
  const detail = data?.detail;
  if (typeof detail === "string") return [detail];
  if (Array.isArray(detail)) {
    return detail.map((d) => {
      const field = (d.loc ?? []).slice(1).join(".");
      return field ? `${field}: ${d.msg}` : d.msg;
    });
  }
  return [`${res.status} ${res.statusText}`];
}

function showErrors(what, list) {
  errors.replaceChildren(...list.map((m) => el("li", {}, what + m)));
}

function upsert(item) {
  const old = rowOf(item.id);
  if (old?.classList.contains("editing")) {
    old.dataset.item = JSON.stringify(item); // seen after the edit is cancelled
    return;
  }
  const row = rowFor(item);
  row.classList.add("flash");
  if (old) {
    old.replaceWith(row);
  } else {
    const after = [...tbody.rows].find((r) => Number(r.dataset.id) > item.id);
    tbody.insertBefore(row, after ?? null);
  }
  updateEmpty();
}

function remove(id) {
  rowOf(id)?.remove();
  updateEmpty();
}

function rowOf(id) {
  return tbody.querySelector(`tr[data-id="${CSS.escape(String(id))}"]`);
}

function updateEmpty() {
  empty.hidden = tbody.rows.length > 0;
  empty.textContent = applied === "" ? "No items yet." : "No items at that price.";
}

// rowFor renders an item as a table row with its Edit and Delete buttons.
function rowFor(item) {
  const row = el("tr", { "data-id": item.id, "data-item": JSON.stringify(item) },
    el("td", { class: "id" }, String(item.id)),
    el("td", { class: "name" }, item.name),
    el("td", { class: "price" }, formatPrice(item.price)),
    el("td", { class: "actions" },
      button("Edit", "edit", () => edit(row)),
      button("Delete", "delete", () => call("DELETE", `/items/${item.id}`, undefined, `Item ${item.id}: `)),
    ),
  );
  return row;
}

// edit turns a row into inputs; Save sends a PATCH, whose event redraws
// the row; Escape or Cancel puts back the item as last seen.
function edit(row) {
  const item = JSON.parse(row.dataset.item);
  const name = el("input", { name: "name", value: item.name, "aria-label": "Name" });
  const price = el("input", { name: "price", type: "number", min: "0", step: "0.01", value: item.price, "aria-label": "Price" });
  const cancel = () => {
    row.classList.remove("editing");
    upsert(JSON.parse(row.dataset.item));
  };
  const save = async () => {
    const body = { name: name.value, price: price.value === "" ? undefined : Number(price.value) };
    const saved = await call("PATCH", `/items/${item.id}`, body, `Item ${item.id}: `);
    if (saved && row.isConnected) {
      row.dataset.item = JSON.stringify(saved);
      cancel();
    }
  };
  row.classList.add("editing");
  row.cells[1].replaceChildren(name);
  row.cells[2].replaceChildren(price);
  row.cells[3].replaceChildren(button("Save", "save", save), button("Cancel", "cancel", cancel));
  for (const input of [name, price]) {
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") save();
      if (e.key === "Escape") cancel();
    });
  }
  name.focus();
}

function button(text, cls, onClick) {
  const b = el("button", { type: "button", class: cls }, text);
  b.addEventListener("click", onClick);
  return b;
}

function formatPrice(p) {
  return typeof p === "number" ? p.toFixed(2) : "";
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "value") e.value = String(v);
    else e.setAttribute(k, String(v));
  }
  e.append(...children);
  return e;
}

// Without a login the list answers 401: ask for one before connecting.
if (await signedOut()) showLogin();
else start();
