// Key card: shows one candidate and sends each key press with the id of the candidate
// that is on screen at that moment. One press is in flight at a time: it is re-sent with
// the same request id until the server acknowledges it (the server stores a request id
// once), and keys pressed meanwhile are visibly not taken. State lives on window because
// Streamlit re-runs this module whenever its data changes.

const NAMES = {
  near_miss: "near-miss", far_miss: "far-miss", actually_correct: "actually correct",
  invalid: "invalid", skip: "skip", undo: "undo",
};
const RETRY_MS = 3000;
const REFRESH_MS = 2000;
const FOLD_CHARS = 700; // longer messages are folded (click to open)
const STEP_KEYS = { j: 1, k: -1, x: 0 };

function keyState() {
  if (!window.__nearmissKeys) {
    window.__nearmissKeys = {
      pending: null, view: null, listening: false, status: null,
      log: [], taken: 0, notTaken: 0, refused: 0, step: null, stepCid: null,
    };
  }
  return window.__nearmissKeys;
}

function uid() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function badge(text, kind) {
  return el("span", `nm-badge ${kind || ""}`, text);
}

function keyName(k) {
  return k === " " ? "space" : k === "Backspace" ? "backspace" : k;
}

function contentText(content) {
  if (Array.isArray(content)) return content.map((p) => (p && p.text) || "").join("\n");
  return content === null || content === undefined ? "" : String(content);
}

// One message: its index and role, tool calls and tool output folded, long text folded.
function renderMessage(m, i, markable) {
  const box = el("div", `nm-msg nm-${m.role}`);
  box.dataset.step = i;
  const head = el("div", "nm-msg-head", `#${i} ${m.role}${m.name ? ` (${m.name})` : ""}`);
  box.append(head);
  const text = contentText(m.content);
  const toolish = m.role === "tool" || m.role === "function";
  if (toolish || text.length > FOLD_CHARS) {
    const fold = el("details", "nm-fold");
    const label = toolish ? `${m.role} output (${text.length} characters)` : `${text.slice(0, 240)}… (${text.length} characters)`;
    fold.append(el("summary", "", label), el("div", "nm-msg-text", text));
    box.append(fold);
  } else if (text) {
    box.append(el("div", "nm-msg-text", text));
  }
  if (m.tool_calls && m.tool_calls.length) {
    const calls = el("details", "nm-fold nm-tool-calls");
    calls.append(el("summary", "", `tool calls: ${m.tool_calls.map((c) => (c.function && c.function.name) || c.name || "call").join(", ")}`),
      el("pre", "", JSON.stringify(m.tool_calls, null, 2)));
    box.append(calls);
  }
  if (markable && m.role === "assistant") {
    box.classList.add("nm-markable");
    head.title = "click: first wrong step";
  }
  return box;
}

function renderTraces(card) {
  const S = keyState();
  if (S.stepCid !== card.id) {
    S.step = null;
    S.stepCid = card.id;
  }
  const pair = el("div", "nm-traces");
  const failed = el("div", "nm-trace nm-trace-failed");
  failed.append(el("div", "nm-caption", "Failed trace (click an assistant step, or j / k, to mark the first wrong one)"));
  card.messages.forEach((m, i) => failed.append(renderMessage(m, i, true)));
  failed.addEventListener("click", (e) => {
    if (e.target.closest("summary, details")) return;
    const box = e.target.closest(".nm-markable");
    if (!box) return;
    const i = Number(box.dataset.step);
    setStep(S.step === i ? null : i);
  });
  const good = el("div", "nm-trace nm-trace-reference");
  good.append(el("div", "nm-caption", "Successful trace of the same task"));
  if (card.reference && card.reference.length) card.reference.forEach((m, i) => good.append(renderMessage(m, i, false)));
  else good.append(el("div", "nm-empty-ref", "No successful trace of this task."));
  pair.append(failed, good);
  const wrapper = el("div", "");
  wrapper.append(pair, el("div", "nm-step-line"));
  return wrapper;
}

function assistantSteps(root) {
  return Array.from(root.querySelectorAll(".nm-trace-failed .nm-markable"), (n) => Number(n.dataset.step));
}

function setStep(step) {
  const S = keyState();
  S.step = step;
  paintStep();
}

function moveStep(delta) {
  const S = keyState();
  const steps = assistantSteps(S.view.root);
  if (!delta || !steps.length) return setStep(null);
  const at = steps.indexOf(S.step);
  const next = at < 0 ? (delta > 0 ? 0 : steps.length - 1) : Math.min(Math.max(at + delta, 0), steps.length - 1);
  setStep(steps[next]);
}

function paintStep() {
  const S = keyState();
  const root = S.view && S.view.root;
  if (!root) return;
  root.querySelectorAll(".nm-trace-failed .nm-msg").forEach((n) => {
    n.classList.toggle("nm-wrong", Number(n.dataset.step) === S.step);
  });
  const line = root.querySelector(".nm-step-line");
  if (line) line.textContent = S.step === null ? "First wrong step: not marked" : `First wrong step: #${S.step}`;
  const marked = root.querySelector(".nm-wrong");
  if (marked && marked.scrollIntoView) marked.scrollIntoView({ block: "nearest" });
}

function renderCard(root, data) {
  const card = data.card;
  root.replaceChildren();
  root.dataset.cid = card ? card.id : "";
  const stats = el("div", "nm-stats");
  for (const [name, value] of Object.entries(data.stats || {})) {
    const stat = el("div", "nm-stat");
    stat.dataset.stat = name;
    stat.append(el("div", "nm-stat-value", value), el("div", "nm-stat-name", name));
    stats.append(stat);
  }
  root.append(stats);
  if (!card) {
    root.append(el("div", "nm-empty", data.empty || "Nothing to show."));
  } else {
    const head = el("div", "nm-head");
    head.append(badge(card.dataset), badge(`origin: ${card.origin}`));
    if (card.nearness !== null && card.nearness !== undefined) head.append(badge(`nearness ${card.nearness}`));
    if (card.suggested) head.append(badge(`suggested: ${NAMES[card.suggested] || card.suggested}`, "nm-suggest"));
    if (card.possibly_correct) head.append(badge("possibly correct?", "nm-warn"));
    root.append(head);
    const isTrace = card.kind === "trace" && card.messages && card.messages.length;
    if (card.context) root.append(el("div", "nm-context", card.context));
    root.append(el("div", "nm-question", card.question));
    if (card.choices && card.choices.length) {
      const list = el("ol", "nm-choices");
      card.choices.forEach((c, i) => {
        const li = el("li", i === card.gold ? "nm-gold" : "", c);
        if (i === card.gold) li.append(el("span", "nm-mark", " ✓ gold"));
        if (c === card.text) li.classList.add("nm-is-candidate");
        list.append(li);
      });
      root.append(list);
    } else if (card.answer && !isTrace) {
      root.append(el("div", "nm-gold-answer", `Gold: ${card.answer}`));
    }
    if (isTrace) root.append(renderTraces(card));
    const cand = el("div", "nm-candidate-box");
    cand.append(el("div", "nm-caption", isTrace ? "Candidate: final answer of the failed trace" : "Candidate"),
      el("div", "nm-candidate", card.text));
    root.append(cand);
    const scores = Object.entries(card.scores || {});
    if (scores.length) root.append(el("div", "nm-scores", scores.map(([k, v]) => `${k} ${v}`).join(" · ")));
    if (card.votes) {
      root.append(el("div", "nm-votes",
        "Votes: " + Object.entries(card.votes).map(([who, l]) => `${who}: ${NAMES[l] || l}`).join(" · ")));
    }
  }
  const legend = el("div", "nm-legend");
  for (const [k, action] of Object.entries(data.keys)) {
    const item = el("span", "nm-key-item");
    item.append(el("kbd", "", keyName(k)), document.createTextNode(` ${NAMES[action] || action}`));
    legend.append(item);
  }
  const help = el("span", "nm-key-item");
  help.append(el("kbd", "", "?"), document.createTextNode(" help"));
  legend.append(help);
  root.append(legend);
  root.append(el("div", "nm-status"));
  const helpBox = el("div", "nm-help", data.help || "");
  helpBox.hidden = true;
  root.append(helpBox);
  root.append(el("div", "nm-counters"));
}

function show(text, kind) {
  const S = keyState();
  S.status = { text, kind };
  paintStatus();
}

function paintStatus() {
  const S = keyState();
  const root = S.view && S.view.root;
  if (!root) return;
  const box = root.querySelector(".nm-status");
  if (box && S.status) {
    box.textContent = S.status.text;
    box.className = `nm-status nm-${S.status.kind}`;
  }
  const counters = root.querySelector(".nm-counters");
  if (counters) {
    counters.textContent = S.notTaken || S.refused
      ? `keys not taken: ${S.notTaken} (pressed while saving) · refused by the server: ${S.refused}` : "";
  }
  root.classList.toggle("nm-saving", !!S.pending);
}

function send() {
  const S = keyState();
  const p = S.pending;
  if (!p || !S.view) return;
  S.view.send("press", { rid: p.rid, cid: p.cid, action: p.action, step: p.step });
  clearTimeout(p.timer);
  p.timer = setTimeout(() => {
    if (S.pending === p) {
      p.tries += 1;
      show(`saving ${NAMES[p.action]}… (no answer yet, sending again: ${p.tries})`, "wait");
      send();
    }
  }, RETRY_MS);
}

function onKey(e) {
  const S = keyState();
  const view = S.view;
  if (!view || !view.root.isConnected) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const target = e.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  if (e.key === "?") {
    const help = view.root.querySelector(".nm-help");
    if (help) help.hidden = !help.hidden;
    e.preventDefault();
    return;
  }
  if (e.key in STEP_KEYS && view.root.querySelector(".nm-trace-failed")) {
    e.preventDefault();
    moveStep(STEP_KEYS[e.key]);
    return;
  }
  const action = view.keys[e.key];
  if (!action) return;
  e.preventDefault();
  e.stopPropagation();
  const cid = view.root.dataset.cid || null;
  const step = action === "undo" || action === "skip" ? null : S.step;
  const entry = { key: e.key, action, cid, step, at: Date.now() };
  if (S.pending || (!cid && action !== "undo")) {
    entry.taken = false;
    S.notTaken += 1;
    S.log.push(entry);
    show(S.pending ? `not taken: ${keyName(e.key)} (still saving the previous key)` : "not taken: nothing on screen", "bad");
    return;
  }
  entry.taken = true;
  entry.rid = uid();
  S.taken += 1;
  S.log.push(entry);
  S.pending = { ...entry, t0: performance.now(), tries: 1, timer: null };
  show(`saving ${NAMES[action]}…`, "wait");
  send();
}

function acknowledge(ack) {
  const S = keyState();
  const p = S.pending;
  if (!p || !ack || ack.rid !== p.rid) return;
  clearTimeout(p.timer);
  const ms = Math.round(performance.now() - p.t0);
  const entry = S.log.find((x) => x.rid === p.rid);
  if (entry) Object.assign(entry, { status: ack.status, ms, reason: ack.reason });
  S.pending = null;
  if (ack.status === "refused") {
    S.refused += 1;
    show(`not taken: ${ack.reason}`, "bad");
  } else {
    const what = ack.label ? NAMES[ack.label] || ack.label : NAMES[p.action];
    const at = p.step === null || p.step === undefined ? "" : ` (first wrong step #${p.step})`;
    const verb = p.action === "undo" ? `undone (was ${what})` : ack.status === "repeat" ? `already saved: ${what}` : `saved: ${what}${at}`;
    show(`${verb} · ${ms} ms`, "ok");
  }
}

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const S = keyState();
  let root = parentElement.querySelector(".nm-root");
  if (!root) {
    root = el("div", "nm-root");
    parentElement.append(root);
  }
  root.dataset.mode = data.mode;
  renderCard(root, data);
  S.view = { root, keys: data.keys, send: setTriggerValue };
  acknowledge(data.ack);
  paintStatus();
  paintStep();
  clearTimeout(S.refreshTimer);
  if (data.refresh) S.refreshTimer = setTimeout(() => setTriggerValue("refresh", Date.now()), REFRESH_MS);
  if (!S.listening) {
    window.addEventListener("keydown", onKey, true);
    S.listening = true;
  }
}
