// Key card: shows one candidate and sends each key press with the id of the candidate
// that is on screen at that moment. One press is in flight at a time: it is re-sent with
// the same request id until the server acknowledges it (the server stores a request id
// once), and keys pressed meanwhile are visibly not taken. State lives on window because
// Streamlit re-runs this module whenever its data changes.

const NAMES = {
  near_miss: "near-miss", far_miss: "far-miss", actually_correct: "actually correct",
  invalid: "invalid", skip: "skip", undo: "undo", accept: "accept suggestion",
};
// Keys the card handles itself (nothing is sent): comment, flag, guidelines, help.
const CARD_KEYS = { c: "comment", f: "flag", g: "guidelines", "?": "help" };
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const RETRY_MS = 3000;
const REFRESH_MS = 2000;
const HANDOFF_MS = 1000; // keys this soon after Enter picked an option in a sidebar list go to the card
const QUIET_MS = 1500; // a rerun within this long after the card's own refresh or heartbeat is the card's
const FOLD_CHARS = 700; // longer messages are folded (click to open)
const STEP_KEYS = { j: 1, k: -1, x: 0 };

function keyState() {
  if (!window.__nearmissKeys) {
    window.__nearmissKeys = {
      pending: null, view: null, listening: false, status: null,
      log: [], taken: 0, notTaken: 0, refused: 0, step: null, stepCid: null,
      mode: null, comment: "", commentOpen: false, commentFocused: false, flag: false, heartbeat: null,
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
  return k === " " ? "space" : k === "Backspace" ? "backspace" : k === "Enter" ? "enter" : k;
}

// The element that really has focus (inside shadow roots too) and whether typing goes into it.
function deepActive() {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a;
}

function isEditable(node) {
  return !!node && (node.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(node.tagName));
}

// A field's name as its widget shows it ("Datasets"), for the line that says where keys go.
function fieldName(node) {
  const widget = node.closest && node.closest("[class*='st-key-']");
  const label = widget && widget.querySelector("[data-testid='stWidgetLabel']");
  if (label && label.textContent.trim()) return label.textContent.trim();
  return node.getAttribute("aria-label") || node.getAttribute("placeholder") || "another field";
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
    head.append(badge(card.dataset));
    if (card.origin) head.append(badge(`origin: ${card.origin}`)); // scores and origins: only where an admin shows them
    if (card.nearness !== null && card.nearness !== undefined) head.append(badge(`nearness ${card.nearness}`));
    if (card.suggested) head.append(badge(`suggested: ${NAMES[card.suggested] || card.suggested}`, "nm-suggest"));
    if (card.possibly_correct) head.append(badge("possibly correct?", "nm-warn"));
    root.append(head);
    const isTrace = card.kind === "trace" && card.messages && card.messages.length;
    if (card.context) root.append(el("div", "nm-context", card.context));
    root.append(el("div", "nm-question", card.question));
    if (card.choices && card.choices.length) {
      const list = el("ul", "nm-choices");
      card.choices.forEach((c, i) => {
        const li = el("li", i === card.gold ? "nm-gold" : "");
        li.append(el("span", "nm-letter", `${LETTERS[i] || i + 1}.`), el("span", "nm-choice-text", c));
        if (i === card.gold) li.append(el("span", "nm-mark", " ✓ gold"));
        if (c === card.text) {
          li.classList.add("nm-is-candidate");
          li.append(el("span", "nm-mark", " ← candidate"));
        }
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
      const notes = card.notes || {};
      root.append(el("div", "nm-votes", "Votes: " + Object.entries(card.votes)
        .map(([who, l]) => `${who}: ${NAMES[l] || l}${notes[who] ? ` (“${notes[who]}”)` : ""}`).join(" · ")));
    }
    if (data.mode === "label") root.append(renderNote());
  }
  const legend = el("div", "nm-legend");
  const cardKeys = data.mode === "label" ? CARD_KEYS : { "?": "help" };
  for (const [k, action] of [...Object.entries(data.keys), ...Object.entries(cardKeys)]) {
    const item = el("button", "nm-key-item");
    item.type = "button";
    item.dataset.key = k;
    item.title = `press ${keyName(k)} or click`;
    item.append(el("kbd", "", keyName(k)), document.createTextNode(` ${NAMES[action] || action}`));
    item.addEventListener("click", (e) => {
      e.preventDefault();
      handleKey(k);
      focusCard();
    });
    legend.append(item);
  }
  root.append(legend);
  root.append(el("div", "nm-focus"));
  if (data.lease_lost) root.append(el("div", "nm-lease", "Your hold on this candidate expired and someone else may label it; "
    + "your decision is still stored."));
  root.append(el("div", "nm-status"));
  const helpBox = el("div", "nm-help", data.help || "");
  helpBox.hidden = true;
  root.append(helpBox);
  root.append(el("div", "nm-counters"));
}

// The comment and flag that go with the next decision on this card (kept across reruns).
function renderNote() {
  const S = keyState();
  const box = el("div", "nm-note");
  if (S.flag) box.append(badge("flagged: needs discussion", "nm-warn nm-flag"));
  if (S.commentOpen) {
    const area = el("textarea", "nm-comment");
    area.rows = 2; // no maxLength: a paste is kept whole, and one over the limit is refused with the limit named
    area.placeholder = "Comment, sent with your next label (Esc: back to the keys)";
    area.value = S.comment;
    area.addEventListener("input", () => { S.comment = area.value; });
    area.addEventListener("focus", () => { S.commentFocused = true; paintFocus(); });
    area.addEventListener("blur", () => { S.commentFocused = false; paintFocus(); });
    box.append(area);
  } else if (S.comment) {
    box.append(el("div", "nm-comment-text", `Comment: ${S.comment}`));
  }
  return box;
}

function repaintNote() {
  const S = keyState();
  const old = S.view && S.view.root.querySelector(".nm-note");
  if (!old) return;
  const fresh = renderNote();
  old.replaceWith(fresh);
  const area = fresh.querySelector("textarea");
  if (area && S.commentFocused) {
    area.focus({ preventScroll: true });
    area.setSelectionRange(area.value.length, area.value.length);
  }
}

function openComment() {
  const S = keyState();
  S.commentOpen = true;
  S.commentFocused = true;
  repaintNote();
}

function closeComment() {
  const S = keyState();
  S.commentOpen = false;
  S.commentFocused = false;
  repaintNote();
  focusCard();
}

function focusCard() {
  const S = keyState();
  const root = S.view && S.view.root;
  if (!root || !root.isConnected) return;
  root.tabIndex = -1;
  root.focus({ preventScroll: true });
  paintFocus();
}

// Says where keys go right now: to the card, or into a field (and how to come back).
function paintFocus() {
  const S = keyState();
  const root = S.view && S.view.root;
  const line = root && root.querySelector(".nm-focus");
  if (!line) return;
  const a = deepActive();
  let where = "card";
  let text = "Keys go to this card.";
  if (S.commentOpen && S.commentFocused) {
    where = "comment";
    text = "Typing goes into the comment. Esc: back to the keys.";
  } else if (isEditable(a) && !root.contains(a)) {
    where = "field";
    text = `Keys go into the field “${fieldName(a)}”, not the card. Press Esc or click the card to label.`;
  } else if (!document.hasFocus()) {
    where = "away";
    text = "This window does not have the keyboard: click the card to label.";
  }
  line.dataset.focus = where;
  line.textContent = text;
  line.className = `nm-focus nm-focus-${where}`;
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
  S.view.send("press", { rid: p.rid, cid: p.cid, action: p.action, step: p.step, comment: p.comment, flag: p.flag });
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
  const target = (e.composedPath && e.composedPath()[0]) || e.target;
  const handedOff = S.handoff && S.handoff.field === target && performance.now() < S.handoff.until;
  if (handedOff) leaveField(target); // a key right after Enter picked an option: it is the card's
  else if (isEditable(target)) {
    if (e.key !== "Escape") {
      inField(target, e.key);
      return;
    }
    e.preventDefault();
    if (view.root.contains(target)) closeComment();
    else {
      target.blur();
      focusCard();
    }
    return;
  }
  if (handleKey(e.key)) {
    e.preventDefault();
    e.stopPropagation();
  }
}

// A key typed into a field (a sidebar filter): it is the field's, and the card says so. A
// label key counts as not taken; Enter that picks an option in a sidebar list hands the
// keys back to the card at once (before the page reruns).
function inField(target, key) {
  const S = keyState();
  const outside = !S.view.root.contains(target);
  const action = S.view.keys[key];
  if (outside && action && action !== "undo" && action !== "accept") {
    S.notTaken += 1;
    S.log.push({ key, action, cid: S.view.root.dataset.cid || null, taken: false, at: Date.now(), field: fieldName(target) });
    show(`not taken: ${keyName(key)} went into the field “${fieldName(target)}”`, "bad");
  }
  if (outside && key === "Enter" && target.closest("[data-testid='stSidebar']")) {
    S.handoff = { field: target, until: performance.now() + HANDOFF_MS };
    setTimeout(() => leaveField(target), 0);
  }
  setTimeout(paintFocus, 0);
}

function leaveField(field) {
  const S = keyState();
  S.handoff = null;
  if (deepActive() === field) field.blur();
  focusCard();
}

// A click on an option of a sidebar list (the list itself is drawn outside the sidebar).
function onClick(e) {
  const S = keyState();
  if (!S.view || !S.view.root.isConnected) return;
  const a = deepActive();
  const option = e.target.closest && e.target.closest("[role='option']");
  if (option && a && a.closest && a.closest("[data-testid='stSidebar']")) setTimeout(() => leaveField(a), 0);
}

// What a key (pressed, or clicked in the legend) does; false when it is not the card's.
function handleKey(key) {
  const S = keyState();
  const view = S.view;
  const cid = view.root.dataset.cid || null;
  if (key === "?") {
    const help = view.root.querySelector(".nm-help");
    if (help) help.hidden = !help.hidden;
    return true;
  }
  if (view.mode === "label" && key in CARD_KEYS) {
    if (key === "g") {
      const summary = document.querySelector(".st-key-label_guidelines summary");
      if (summary) summary.click();
    } else if (key === "c" && cid) openComment();
    else if (key === "f" && cid) {
      S.flag = !S.flag;
      repaintNote();
    }
    return true;
  }
  if (key in STEP_KEYS && view.root.querySelector(".nm-trace-failed")) {
    moveStep(STEP_KEYS[key]);
    return true;
  }
  const action = view.keys[key];
  if (!action) return false;
  const decision = action !== "undo"; // a skip is a decision too: it may carry a comment or a flag
  const step = decision && action !== "skip" && view.root.querySelector(".nm-trace-failed") ? S.step : null;
  const entry = { key, action, cid, step, at: Date.now() };
  if (S.pending || (!cid && action !== "undo")) {
    entry.taken = false;
    S.notTaken += 1;
    S.log.push(entry);
    show(S.pending ? `not taken: ${keyName(key)} (still saving the previous key)` : "not taken: nothing on screen", "bad");
    return true;
  }
  entry.taken = true;
  entry.rid = uid();
  S.taken += 1;
  S.log.push(entry);
  const note = decision ? { comment: S.comment || null, flag: S.flag } : { comment: null, flag: false };
  S.pending = { ...entry, ...note, t0: performance.now(), tries: 1, timer: null };
  show(`saving ${NAMES[action]}…`, "wait");
  send();
  return true;
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
    show(`${verb}${p.comment ? " with comment" : ""}${p.flag ? " (flagged)" : ""}${ack.reason ? ` · ${ack.reason}` : ""} · ${ms} ms`, "ok");
  }
}

// A new card (or none) drops what was marked on the previous one: step, comment, flag.
function forgetMarks(cid) {
  const S = keyState();
  if (S.stepCid === cid) return;
  Object.assign(S, { step: null, stepCid: cid, comment: "", commentOpen: false, commentFocused: false, flag: false });
}

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const S = keyState();
  let root = parentElement.querySelector(".nm-root");
  if (!root || S.mode !== data.mode) { // a page opened afresh: no receipt or counter of another page
    Object.assign(S, { status: null, notTaken: 0, refused: 0, mode: data.mode });
  }
  if (!root) {
    root = el("div", "nm-root");
    parentElement.append(root);
  }
  root.dataset.mode = data.mode;
  forgetMarks(data.card ? data.card.id : null);
  const typing = S.commentFocused; // re-rendering drops the textarea: put focus back in it
  renderCard(root, data);
  S.commentFocused = typing;
  S.view = { root, keys: data.keys, send: setTriggerValue, mode: data.mode };
  acknowledge(data.ack);
  paintStatus();
  paintStep();
  clearTimeout(S.refreshTimer);
  const quiet = (name) => { // a rerun the card asked for itself: it must not move the focus
    S.quietUntil = performance.now() + QUIET_MS;
    setTriggerValue(name, Date.now());
  };
  if (data.refresh) S.refreshTimer = setTimeout(() => quiet("refresh"), REFRESH_MS);
  clearInterval(S.heartbeat);
  if (data.card && data.heartbeat_ms) S.heartbeat = setInterval(() => quiet("heartbeat"), data.heartbeat_ms);
  if (S.commentFocused) repaintNote();
  // After a sidebar widget was used (its change reran the page), keys go back to the card.
  const moved = !(performance.now() < (S.quietUntil || 0));
  setTimeout(() => {
    const a = deepActive();
    if (moved && a && a.closest && a.closest("[data-testid='stSidebar']") && !S.pending) {
      a.blur();
      focusCard();
    }
    paintFocus();
  }, 0);
  if (!S.listening) {
    window.addEventListener("keydown", onKey, true);
    window.addEventListener("click", onClick, true);
    for (const ev of ["focusin", "focusout"]) document.addEventListener(ev, () => setTimeout(paintFocus, 0), true);
    window.addEventListener("blur", paintFocus);
    window.addEventListener("focus", paintFocus);
    S.listening = true;
  }
}
