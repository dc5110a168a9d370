// The picops emulator console: polls /_picops/api/state every second and redraws what
// changed. Every request carries the run's token. Data is only ever put in the page as
// text (textContent), never as HTML.
"use strict";

(function () {
  const TOKEN = document.querySelector('meta[name="picops-token"]').content;
  const POLL_MS = 1000;
  const view = { tab: "objects", bucket: null, prefix: "", source: null, invocation: null,
                 revision: -1 };

  // --- helpers -----------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function query(params) {
    return new URLSearchParams(Object.assign({}, params, { token: TOKEN })).toString();
  }
  async function api(path, params, options) {
    const init = Object.assign({ headers: { "X-Picops-Token": TOKEN } }, options || {});
    const response = await fetch("/_picops/api/" + path + "?" + query(params || {}), init);
    const doc = await response.json();
    if (!response.ok) throw new Error(doc.error || ("HTTP " + response.status));
    return doc;
  }
  function objectUrl(bucket, key) { return "/_picops/object?" + query({ bucket, key }); }
  function bytes(n) {
    if (n === null || n === undefined) return "?";
    if (n < 1000) return n + " B";
    const units = ["kB", "MB", "GB"];
    let value = n, unit = "B";
    for (const u of units) { if (value < 1000) break; value /= 1000; unit = u; }
    return value.toFixed(1) + " " + unit;
  }
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleTimeString();
  }
  function pixels(o) {
    return (o.width !== null && o.width !== undefined) ? o.width + "\u00d7" + o.height : "?";
  }
  function badge(text) { return el("span", { class: "badge " + text }, text.replace("_", " ")); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function resultText(r) {
    if (r.outcome === "failed" && r.error) return r.error.code + ": " + r.error.message;
    if (r.outcome === "skipped") return "skipped (" + r.reason + ")";
    if (r.action === "delete") return "derivatives deleted";
    if (r.outputs) return r.outputs.length + " derivative(s)";
    return r.outcome || "";
  }

  // --- tabs --------------------------------------------------------------------------
  for (const button of document.querySelectorAll(".tabs button")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  function showTab(name) {
    view.tab = name;
    for (const button of document.querySelectorAll(".tabs button")) {
      button.classList.toggle("active", button.dataset.tab === name);
    }
    for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== "tab-" + name;
    refresh(true);
  }

  // --- buckets and objects -----------------------------------------------------------
  function drawBuckets(list) {
    const ul = clear(document.getElementById("bucket-list"));
    if (view.bucket === null && list.length) view.bucket = list[0].name;
    for (const b of list) {
      ul.append(el("li", { class: b.name === view.bucket ? "active" : "", "data-bucket": b.name,
                           onclick: () => openFolder(b.name, "") },
                   b.name, el("span", { class: "count" }, b.objects)));
    }
  }
  function openFolder(bucket, prefix) {
    view.bucket = bucket; view.prefix = prefix; view.source = null;
    showTab("objects");
  }
  async function drawFolder() {
    if (view.bucket === null) return;
    const doc = await api("folder", { bucket: view.bucket, prefix: view.prefix });
    const crumbs = clear(document.getElementById("crumbs"));
    crumbs.append(el("a", { onclick: () => openFolder(view.bucket, "") }, view.bucket), " / ");
    let acc = "";
    for (const part of view.prefix.split("/").filter(Boolean)) {
      acc += part + "/";
      const target = acc;
      crumbs.append(el("a", { onclick: () => openFolder(view.bucket, target) }, part), " / ");
    }
    const body = clear(document.querySelector("#objects tbody"));
    for (const f of doc.folders) {
      body.append(el("tr", { class: "clickable folder", "data-prefix": f.prefix,
                             onclick: () => openFolder(view.bucket, f.prefix) },
                     el("td", {}, f.name), el("td", { class: "num" }, ""),
                     el("td", {}, "folder"), el("td", {}, ""), el("td", {}, "")));
    }
    for (const o of doc.objects) {
      const selected = view.source && view.source.key === o.key;
      body.append(el("tr", { class: "clickable object" + (selected ? " selected" : ""),
                             "data-key": o.key, onclick: () => openSource(view.bucket, o.key) },
                     el("td", {}, o.name, o.source ? el("span", { class: "muted" }, "  (source)") : null),
                     el("td", { class: "num" }, bytes(o.size)), el("td", {}, o.content_type),
                     el("td", { class: "mono", title: o.etag }, o.etag.slice(0, 12)),
                     el("td", { title: o.last_modified }, when(o.last_modified))));
    }
    document.getElementById("objects-note").textContent =
      doc.folders.length + doc.objects.length === 0 ? "This folder is empty." :
      (doc.truncated ? "Only the first objects of this folder are listed." : "");
    if (view.source) await drawSource();
  }
  function openSource(bucket, key) {
    view.source = { bucket, key };
    drawFolder().catch(showError);
  }
  function card(o, title, cls) {
    const exists = o.exists !== false;
    const isImage = exists && (o.format || (o.content_type || "").startsWith("image/"));
    const thumb = el("div", { class: "thumb" },
      isImage && !o.pixel_error ? el("img", { src: objectUrl(o.bucket, o.key), alt: o.key, loading: "lazy" })
        : el("span", { class: "muted" }, exists ? (o.pixel_error || "not an image") : "missing"));
    const facts = el("dl", {},
      el("dt", {}, "key"), el("dd", { class: "mono" }, o.key),
      el("dt", {}, "bucket"), el("dd", {}, o.bucket),
      el("dt", {}, "pixels"), el("dd", { class: "pixels" }, exists ? pixels(o) : "-"),
      el("dt", {}, "format"), el("dd", { class: "format" }, o.format || "-"),
      el("dt", {}, "bytes"), el("dd", { class: "bytes" }, exists ? bytes(o.size) : "-"),
      el("dt", {}, "quality"), el("dd", {}, o.quality === undefined || o.quality === null ? "-" : String(o.quality)));
    if (cls !== "original") {
      facts.append(el("dt", {}, "rule"), el("dd", { class: "rule" }, o.rule || "(not in the current config)"));
      if (o.rule_place) facts.append(el("dt", {}, ""), el("dd", { class: "muted" }, o.rule_place));
    }
    const links = el("p", {}, exists ? el("a", { href: objectUrl(o.bucket, o.key), target: "_blank", rel: "noopener" }, "open") : null,
                     exists ? null : el("span", { class: "missing" }, " the manifest lists it, but it is not stored"));
    return el("div", { class: "card " + cls, "data-key": o.key }, el("strong", {}, title), thumb, facts, links);
  }
  async function drawSource() {
    const box = document.getElementById("source");
    const doc = await api("source", view.source);
    clear(box).hidden = false;
    const panel = el("div", { class: "panel" }, el("h3", {}, doc.original.bucket + " / " + doc.original.key));
    if (doc.route) panel.append(el("p", { class: "muted" }, "route routes[" + doc.route.index + "] (prefix \u201c" + doc.route.prefix + "\u201d)"));
    for (const note of doc.notes) panel.append(el("p", { class: "notes" }, note));
    const cards = el("div", { class: "cards", id: "derivatives" }, card(doc.original, "original", "original"));
    for (const d of doc.derivatives) cards.append(card(d, "derivative", "derivative"));
    panel.append(cards);
    if (doc.manifest) {
      panel.append(el("p", { class: "muted" }, "manifest " + doc.manifest.key + ", written " +
        doc.manifest.created + (doc.manifest.up_to_date ? " (up to date)" : " (stale)")));
    }
    box.append(panel);
  }

  // --- invocations -------------------------------------------------------------------
  async function drawInvocations() {
    const doc = await api("invocations");
    const body = clear(document.querySelector("#invocations tbody"));
    for (const inv of doc.invocations) {
      const failed = inv.results.some(r => r.outcome === "failed") || inv.error;
      const summary = inv.error ? inv.error.message : inv.results.map(r => r.key + ": " + resultText(r)).join("; ");
      body.append(el("tr", { class: "clickable" + (view.invocation === inv.request_id ? " selected" : ""),
                             "data-request-id": inv.request_id, onclick: () => openInvocation(inv.request_id) },
        el("td", { title: inv.created, class: "nowrap" }, when(inv.created)),
        el("td", {}, badge(inv.outcome)),
        el("td", { title: inv.bucket }, inv.key, el("div", { class: "muted small" }, inv.bucket)),
        el("td", { class: "nowrap" }, inv.event_name.replace(/^cos:/, "")),
        el("td", { class: "num" }, inv.duration_ms === null ? "" : inv.duration_ms + " ms"),
        el("td", { class: "num" }, String(inv.retries)),
        el("td", { class: failed ? "fail" : "" }, summary)));
    }
    if (view.invocation) await drawInvocation();
  }
  function openInvocation(id) {
    view.invocation = id;
    drawInvocations().catch(showError);
  }
  async function drawInvocation() {
    const box = document.getElementById("invocation");
    const doc = await api("invocation", { id: view.invocation });
    clear(box).hidden = false;
    const panel = el("div", { class: "panel", id: "invocation-detail" },
      el("h3", {}, "invocation " + doc.request_id),
      el("p", {}, badge(doc.outcome), " ", doc.event_name + " on " + doc.bucket + "/" + doc.key +
         " \u00b7 " + doc.attempts + " attempt(s), " + doc.retries + " retr" + (doc.retries === 1 ? "y" : "ies") +
         (doc.duration_ms === null ? "" : " \u00b7 last took " + doc.duration_ms + " ms")));
    for (const a of doc.attempt_list) {
      const head = "attempt " + a.number + " at " + when(a.started) + ": " + (a.ok ? "ok" : "failed") +
        ", " + a.duration_ms + " ms" + (a.cold_start ? " (cold start)" : "");
      const section = el("div", { class: "attempt" }, el("h4", {}, head));
      if (a.error) section.append(el("p", { class: "fail" }, a.error.kind + ": " + a.error.message));
      const lines = el("ul", { class: "outcomes" });
      for (const r of a.results) {
        const item = el("li", { class: r.outcome === "failed" ? "fail" : "" }, r.key + ": ", badge(r.outcome || "?"), " " + resultText(r));
        if (r.outputs && r.outputs.length) {
          const outs = el("ul", {});
          for (const o of r.outputs) outs.append(el("li", { class: "mono" }, o.bucket + "/" + o.key + "  " + pixels(o) + " " + (o.format || "") + " " + bytes(o.size)));
          item.append(outs);
        }
        lines.append(item);
      }
      section.append(lines);
      section.append(el("p", { class: "muted" }, "log output"),
                     el("pre", { class: "logs" }, a.logs.join("\n") || "(nothing printed)"));
      if (a.logs_not_shown) section.append(el("p", { class: "muted" }, a.logs_not_shown + " more line(s) not shown"));
      panel.append(section);
    }
    panel.append(el("p", { class: "muted" }, "event"), el("pre", { class: "event" }, JSON.stringify(doc.event, null, 2)));
    box.append(panel);
  }

  // --- dead letters ------------------------------------------------------------------
  async function drawDeadLetters() {
    const doc = await api("dead-letters");
    const body = clear(document.querySelector("#dead-letters tbody"));
    for (const d of doc.dead_letters) {
      const button = el("button", { class: "replay", "data-index": String(d.index) }, "Replay");
      button.addEventListener("click", () => replay(d, button));
      const done = d.replays.length ? el("div", { class: "muted" }, "replayed as " + d.replays.join(", ")) : null;
      body.append(el("tr", { "data-index": String(d.index), "data-request-id": d.request_id },
        el("td", { title: d.time, class: "nowrap" }, when(d.time)),
        el("td", { title: d.bucket }, d.key, el("div", { class: "muted small" }, d.bucket)),
        el("td", { class: "fail" }, d.error_code + ": " + d.error_message),
        el("td", { class: "num" }, String(d.attempts)), el("td", {}, button, done)));
    }
    if (!doc.dead_letters.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "No dead-lettered events.")));
  }
  async function replay(entry, button) {
    button.disabled = true;
    try {
      const doc = await api("dead-letters/replay", {}, {
        method: "POST", body: JSON.stringify({ index: entry.index, request_id: entry.request_id }),
        headers: { "X-Picops-Token": TOKEN, "Content-Type": "application/json" } });
      button.textContent = "Replayed";
      button.title = "new request " + doc.request_id;
    } catch (e) { button.disabled = false; showError(e); }
    refresh(true);
  }

  // --- polling -----------------------------------------------------------------------
  function showError(e) {
    const live = document.getElementById("live");
    live.className = "live down";
    live.textContent = "the console could not load: " + e.message;
  }
  let busy = false;
  async function refresh(force) {
    if (busy && !force) return;
    busy = true;
    try {
      const state = await api("state");
      document.getElementById("function").textContent = state.function ? "function " + state.function : "";
      document.getElementById("n-invocations").textContent = state.invocations;
      document.getElementById("n-dead").textContent = state.dead_letters;
      const live = document.getElementById("live");
      live.className = "live ok";
      live.textContent = "live \u00b7 updated " + new Date().toLocaleTimeString();
      if (force || state.revision !== view.revision) {
        view.revision = state.revision;
        drawBuckets(state.buckets);
        if (view.tab === "objects") await drawFolder();
        else if (view.tab === "invocations") await drawInvocations();
        else await drawDeadLetters();
      }
    } catch (e) {
      showError(e);
    } finally {
      busy = false;
    }
  }
  refresh(true);
  setInterval(refresh, POLL_MS);
})();
