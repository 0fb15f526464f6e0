// ileti panel: the live sandbox outbox. The server sends the id of each new message
// that passes the page's filters (server-sent events); each row is fetched rendered
// from /panel/outbox/row/{id} and put in id order. Without this script a reload shows
// the new messages.
"use strict";
(() => {
  const live = document.getElementById("outbox-live");
  const rows = document.getElementById("outbox-rows");
  if (!live || !rows || !window.EventSource) return;
  let added = 0;
  const say = (text) => { live.textContent = text; };

  const place = (row) => {
    const id = Number(row.dataset.id);
    for (const other of rows.children) {
      if (Number(other.dataset.id) < id) { rows.insertBefore(row, other); return; }
    }
    rows.appendChild(row);
  };

  const fetchRow = async (id) => {
    if (document.getElementById(`m-${id}`)) return;
    const query = live.dataset.query;
    const answer = await fetch(`/panel/outbox/row/${encodeURIComponent(id)}${query ? `?${query}` : ""}`, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    if (!answer.ok) return;
    const holder = document.createElement("tbody");
    holder.innerHTML = (await answer.text()).trim();
    const row = holder.querySelector("tr");
    if (!row || document.getElementById(row.id)) return;
    row.classList.add("fresh");
    place(row);
    const empty = document.getElementById("outbox-empty");
    if (empty) empty.remove();
    added += 1;
    say(`${live.dataset.on} ${live.dataset.new.replace("{n}", added)}`);
  };

  const source = new EventSource(live.dataset.events, { withCredentials: true });
  source.addEventListener("open", () => say(live.dataset.on));
  source.addEventListener("message", (event) => { fetchRow(event.data).catch(() => {}); });
  source.addEventListener("more", () => say(live.dataset.more));
  for (const ending of ["busy", "closing", "ended"]) {
    source.addEventListener(ending, () => { source.close(); say(live.dataset.off); });
  }
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) say(live.dataset.off);
  });
})();
