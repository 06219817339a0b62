// The dashboard's live numbers: the connections open on /ws/items and the
// events published per second, read every second from the app's /metrics,
// the same numbers a Prometheus server scrapes (docs/observability.md).
const connections = document.getElementById("connections");
const rate = document.getElementById("events-rate");
const every = 1000; // ms
let last; // the previous reading: { published, at }

// read returns the numbers of one scrape, or undefined when the app has
// no metrics or cannot be reached.
async function read() {
  const res = await fetch("/metrics", { cache: "no-store" }).catch(() => null);
  if (!res?.ok) return undefined;
  let open = 0;
  let published = 0;
  for (const line of (await res.text()).split("\n")) {
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith('easy_ws_connections{endpoint="items"} ')) open = value;
    else if (line.startsWith("easy_ws_events_published_total{")) published += value;
  }
  return { open, published, at: performance.now() };
}

async function tick() {
  const now = await read();
  if (now) {
    connections.textContent = String(now.open);
    if (last) {
      const perSecond = (now.published - last.published) / ((now.at - last.at) / 1000);
      rate.textContent = perSecond.toFixed(1);
    }
    last = now;
  }
  setTimeout(tick, every);
}
tick();
