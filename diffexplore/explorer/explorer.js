/* diffexplore explorer page: plays the forward and reverse sweeps step by step.
 *
 * Every number and text comes from the JSON written by diffexplore.explore (script#explorer-data);
 * this script only decides what is visible at the current step:
 *   data.reveal[id]  the step at which the elements with data-t="id" appear,
 *   data.texts[id]   [[step, text], ...]: the adjoint text of a fan-out node after each "+=",
 *   data.nodeStep    the forward step of each node (earlier nodes are drawn faint),
 *   data.steps[k]    what step k highlights (nodes, edges, the table row) and says.
 * It adds up the reverse sweep's terms itself, so the gradient it shows (data-full) is its own sum.
 */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const steps = data.steps;
  const last = steps.length - 1;
  const state = { step: 0, seed: data.seed, timer: null, delay: 1000, follow: true,
                  views: new Set(data.follow.forward) };
  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  const elements = new Map();
  for (const el of $$("[data-t]")) {
    const id = el.getAttribute("data-t");
    if (!elements.has(id)) elements.set(id, []);
    elements.get(id).push(el);
  }
  // Texts that change while terms are added stay centred where the renderer centred the final sum,
  // and a text longer than the final one gets a smaller font so it stays inside its box.
  for (const id of Object.keys(data.texts)) {
    for (const el of elements.get(id) || []) {
      if (!(el instanceof SVGTextElement)) continue;
      const width = el.getComputedTextLength();
      el.setAttribute("x", (parseFloat(el.getAttribute("x")) + width / 2).toFixed(2));
      el.setAttribute("text-anchor", "middle");
      el.dataset.length = String(el.textContent.length);
      el.dataset.fontSize = el.getAttribute("font-size") || "11";
    }
  }
  function setText(el, text) {
    if (el.textContent === text) return;
    el.textContent = text;
    if (!el.dataset.fontSize) return;
    const scale = Math.min(1, Number(el.dataset.length) / text.length);
    el.setAttribute("font-size", (parseFloat(el.dataset.fontSize) * scale).toFixed(2));
  }
  const nodeGroups = $$("g.node[data-node]");
  const rows = $$("tr[data-step]");
  const rowByStep = new Map(rows.map((row) => [Number(row.dataset.step), row]));
  const panes = $$(".pane");
  const gradients = $$("output[data-var]");

  function each(selector, action) {
    for (const el of $$(selector)) action(el);
  }

  function showValues(k) {
    for (const [id, els] of elements) {
      const at = data.reveal[id];
      const hidden = at !== undefined && at > k;
      for (const el of els) el.classList.toggle("pending", hidden);
    }
    for (const id of Object.keys(data.texts)) {
      let text = null;
      for (const [at, value] of data.texts[id]) {
        if (at <= k) text = value; else break;
      }
      if (text === null) continue;
      for (const el of elements.get(id) || []) setText(el, text);
    }
  }

  function highlight(step, k) {
    for (const g of nodeGroups) {
      const at = data.nodeStep[g.dataset.node];
      g.classList.toggle("todo", at === undefined ? k < data.forwardEnd : at > k);
      g.classList.remove("now", "from", "fanout");
    }
    each("g.edge.now, g.edge.back, g.edge.fanout", (g) => g.classList.remove("now", "back", "fanout"));
    each("text.flash", (t) => t.classList.remove("flash"));
    for (const key of step.nodes) {
      each(`g.node[data-node="${key}"]`, (g) => g.classList.add("now"));
      if (step.fanout) each(`g.node[data-node="${key}"]`, (g) => g.classList.add("fanout"));
    }
    if (step.from) each(`g.node[data-node="${step.from}"]`, (g) => g.classList.add("from"));
    const edgeClass = step.phase === "reverse" ? "back" : "now";
    for (const edge of step.edges) {
      each(`g.edge[data-edge="${edge}"]`, (g) => {
        g.classList.add(edgeClass);
        if (step.fanout) g.classList.add("fanout");
      });
    }
    if (step.kind === "add") {
      for (const el of elements.get("a:" + step.to) || []) {
        if (el instanceof SVGTextElement) el.classList.add("flash");
      }
    }
  }

  // Keep the current node in sight when a drawing is taller than the window.
  function reveal() {
    const node = $$("g.node.now").find((g) => !g.closest(".pane[hidden]"));
    if (!node) return;
    const r = node.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) node.scrollIntoView({ block: "nearest" });
  }

  function showTable(k) {
    for (const row of rows) {
      const at = Number(row.dataset.step);
      row.classList.toggle("current", at === k);
      row.classList.toggle("later", at > k);
    }
    const row = rowByStep.get(k);
    const box = $("#trace");
    if (!row || !box) return;
    const r = row.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    const header = 30;
    if (r.top < b.top + header) box.scrollTop += r.top - b.top - header - 8;
    else if (r.bottom > b.bottom) box.scrollTop += r.bottom - b.bottom + 8;
  }

  function showGradients(k) {
    for (const out of gradients) {
      if (out.classList.contains("pending") || out.dataset.exact !== "1") {
        out.removeAttribute("data-full");
        continue;
      }
      let sum = null;
      for (let i = 1; i <= k; i++) {
        const s = steps[i];
        if (s.kind === "add" && s.to === out.dataset.key && typeof s.amount === "number") {
          sum = sum === null ? s.amount : sum + s.amount;
        }
      }
      out.dataset.full = String(sum === null ? 0 : sum);
    }
  }

  function naturalWidth(view) {
    const pane = panes.find((p) => p.dataset.pane === view &&
                                   (p.dataset.seed === undefined || Number(p.dataset.seed) === state.seed));
    const svg = pane && pane.querySelector("svg");
    return svg ? Number(svg.getAttribute("width")) || 0 : 0;
  }

  // "Follow the sweep" shows the phase's views side by side when they fit at FOLLOW_SCALE or more,
  // else it drops views from the left (the sweep's own view, listed last, always stays).
  const FOLLOW_SCALE = 0.8;
  function visibleViews() {
    if (!state.follow) return state.views;
    const views = (steps[state.step].phase === "reverse" ? data.follow.reverse : data.follow.forward).slice();
    const box = $(".panes");
    const available = box ? box.clientWidth : 0;
    while (views.length > 1) {
      const total = views.reduce((sum, view) => sum + naturalWidth(view), 0) + 10 * (views.length - 1);
      if (!available || total * FOLLOW_SCALE <= available) break;
      views.shift();
    }
    return new Set(views);
  }

  function applyViews() {
    const shown = visibleViews();
    for (const pane of panes) {
      const seedOk = pane.dataset.seed === undefined || Number(pane.dataset.seed) === state.seed;
      pane.hidden = !(shown.has(pane.dataset.pane) && seedOk);
    }
    each("[data-view-choice]", (b) => b.setAttribute("aria-pressed", String(shown.has(b.dataset.viewChoice))));
    $("#follow").checked = state.follow;
    fitPanes();
  }

  // Drawings share the width, each at the same scale: at most 1, at least MIN_SCALE (then they scroll).
  const MIN_SCALE = 0.6;
  function fitPanes() {
    const box = $(".panes");
    const visible = panes.filter((pane) => !pane.hidden && pane.querySelector("svg"));
    if (!box || !visible.length) return;
    const natural = visible.map((pane) => Number(pane.querySelector("svg").getAttribute("width")) || 1);
    const total = natural.reduce((a, b) => a + b, 0);
    const available = box.clientWidth - 10 * (visible.length - 1);
    const scale = Math.max(MIN_SCALE, Math.min(1, available / total));
    visible.forEach((pane, i) => { pane.querySelector("svg").style.width = `${Math.floor(natural[i] * scale)}px`; });
  }
  window.addEventListener("resize", fitPanes);

  function applySeed() {
    each("span[data-seed]", (el) => { el.hidden = Number(el.dataset.seed) !== state.seed; });
    each("[data-seed-choice]", (b) => {
      b.setAttribute("aria-pressed", String(Number(b.dataset.seedChoice) === state.seed));
    });
  }

  function render() {
    const k = state.step;
    const step = steps[k];
    showValues(k);
    highlight(step, k);
    showTable(k);
    showGradients(k);
    $("#say").innerHTML = step.say;
    const phase = $("#phase");
    phase.textContent = step.fanout ? "+= fan-out" : { start: "start", forward: "forward sweep",
                                                       reverse: "reverse sweep" }[step.phase];
    phase.className = "phase " + (step.fanout ? "fanout" : step.phase);
    $("#counter").textContent = `step ${k} of ${last}`;
    $("#scrub").value = String(k);
    applySeed();
    applyViews();
    reveal();
    document.body.dataset.step = String(k);
  }

  function go(k) {
    state.step = Math.max(0, Math.min(last, k));
    render();
  }

  function stop() {
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
    $("#play").textContent = "▶ play";
    $("#play").classList.remove("playing");
  }

  function play() {
    if (state.timer !== null) return stop();
    if (state.step >= last) go(0);
    $("#play").textContent = "⏸ pause";
    $("#play").classList.add("playing");
    const tick = () => {
      if (state.step >= last) return stop();
      go(state.step + 1);
      if (state.step >= last) stop();
    };
    tick();
    if (state.step < last) state.timer = setInterval(tick, state.delay);
  }

  function setSeed(k) {
    state.seed = k;
    render();
  }

  function button(id, action) {
    $(id).addEventListener("click", (event) => { action(); event.currentTarget.blur(); });
  }
  button("#home", () => { stop(); go(0); });
  button("#back", () => { stop(); go(state.step - 1); });
  button("#next", () => { stop(); go(state.step + 1); });
  button("#end", () => { stop(); go(last); });
  button("#play", play);
  $("#scrub").addEventListener("input", (event) => { stop(); go(Number(event.target.value)); });
  $("#speed").addEventListener("change", (event) => {
    state.delay = Number(event.target.value);
    if (state.timer !== null) { stop(); play(); }
    event.target.blur();
  });
  each("[data-seed-choice]", (b) => b.addEventListener("click", () => {
    setSeed(Number(b.dataset.seedChoice));
    b.blur();
  }));
  each("[data-view-choice]", (b) => b.addEventListener("click", () => {
    const shown = new Set(visibleViews());
    const view = b.dataset.viewChoice;
    if (shown.has(view)) shown.delete(view); else shown.add(view);
    state.follow = false;
    state.views = shown;
    applyViews();
    b.blur();
  }));
  $("#follow").addEventListener("change", (event) => {
    state.follow = event.target.checked;
    if (!state.follow) state.views = new Set(visibleViews());
    applyViews();
    event.target.blur();
  });
  for (const row of rows) row.addEventListener("click", () => { stop(); go(Number(row.dataset.step)); });

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target && (target.id === "scrub" || target.tagName === "SELECT")) return;
    switch (event.key) {
      case "ArrowRight": stop(); go(state.step + 1); break;
      case "ArrowLeft": stop(); go(state.step - 1); break;
      case " ": case "Spacebar": play(); break;
      case "Home": stop(); go(0); break;
      case "End": stop(); go(last); break;
      case "s": case "S": setSeed((state.seed + 1) % data.seeds.length); break;
      default: return;
    }
    event.preventDefault();
  });

  // #step=12&seed=1&delay=300&views=adjoint,tangent picks the state to open with (e.g. for screenshots).
  const options = new URLSearchParams(location.hash.slice(1));
  if (options.has("seed")) state.seed = Math.max(0, Math.min(data.seeds.length - 1, Number(options.get("seed")) || 0));
  if (options.has("delay")) state.delay = Math.max(10, Number(options.get("delay")) || 1000);
  if (options.has("views")) {
    state.follow = false;
    state.views = new Set(options.get("views").split(",").filter(Boolean));
  }
  state.step = Math.max(0, Math.min(last, Number(options.get("step")) || 0));
  render();
  document.body.dataset.ready = "true";
})();
