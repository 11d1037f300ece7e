// dupbench review: the find's groups, the person's choices, the plan sent to the server that served this page.
// Every name, path and reason is put in the page as text (textContent, attributes), never as markup.
"use strict";

const CHUNK = 30; // groups drawn at a time: the next ones when the end of the list comes into view
const state = { data: null, groups: [], shown: [], drawn: 0, current: -1 };

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function bytes(n) {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(0) + " KiB";
  return n + " bytes";
}

function worstScore(group) {
  const scores = group.members.map((m) => m.score).filter((s) => s !== null && s !== undefined);
  if (!scores.length) return null;
  return state.data.direction === "distance" ? Math.max(...scores) : Math.min(...scores);
}

function passes(group) {
  const kind = document.getElementById("kind").value;
  if (kind !== "all" && group.kind !== kind) return false;
  const limit = document.getElementById("score").value;
  if (limit === "" || group.kind === "exact") return true;
  const worst = worstScore(group);
  if (worst === null) return true;
  return state.data.direction === "distance" ? worst <= Number(limit) : worst >= Number(limit);
}

function load(data) {
  state.data = data;
  state.groups = data.groups.map((g) => ({
    ...g,
    kept: g.best,
    moved: new Set(g.members.filter((m) => m.id !== g.best).map((m) => m.id)),
    notdup: false,
    skipped: false,
  }));
  const title = `${data.groups.length} duplicate groups among ${data.images} images`;
  document.getElementById("title").textContent = title;
  const left = data.left_out_not_duplicates ? `; ${data.left_out_not_duplicates} groups marked "not duplicates" left out` : "";
  document.getElementById("meta").textContent =
    `method ${data.method}, threshold ${Number(data.threshold.toPrecision(4))} (${data.direction}); most alike first; ` +
    `the copies marked for moving go to ${data.move_to}${left}. Nothing is deleted: every move can be undone.`;
  document.getElementById("score-label").firstChild.textContent =
    data.direction === "distance" ? "Worst score at most " : "Worst score at least ";
  redraw();
}

function redraw() {
  state.shown = state.groups.filter(passes);
  state.drawn = 0;
  state.current = -1;
  document.getElementById("groups").replaceChildren();
  drawMore();
  summarise();
}

function drawMore() {
  const main = document.getElementById("groups");
  const end = Math.min(state.drawn + CHUNK, state.shown.length);
  for (let k = state.drawn; k < end; k++) main.append(drawGroup(state.shown[k], k));
  state.drawn = end;
}

function drawGroup(group, index) {
  const box = el("input", { type: "checkbox", "data-role": "notdup" });
  box.checked = group.notdup;
  box.addEventListener("change", () => { group.notdup = box.checked; group.skipped = false; refresh(group); });
  const skip = el("input", { type: "checkbox", "data-role": "skip" });
  skip.checked = group.skipped;
  skip.addEventListener("change", () => { group.skipped = skip.checked; refresh(group); });
  const section = el(
    "section",
    { class: "group", "data-group": String(group.group), "data-index": String(index) },
    el("h2", {},
      el("span", { text: `Group ${group.group}: ${group.members.length} images, ${group.kind}` }),
      el("label", {}, box, " not duplicates"),
      el("label", {}, skip, " skip (move nothing)")),
    el("div", { class: "sheet" }),
  );
  section.addEventListener("click", () => setCurrent(index, false));
  fillSheet(group, section);
  return section;
}

function fillSheet(group, section) {
  const sheet = section.querySelector(".sheet");
  sheet.replaceChildren();
  section.classList.toggle("notdup", group.notdup);
  section.classList.toggle("skipped", group.skipped);
  const order = [group.members.find((m) => m.id === group.kept), ...group.members.filter((m) => m.id !== group.kept)];
  order.forEach((m, position) => sheet.append(drawMember(group, m, position)));
}

function drawMember(group, m, position) {
  const kept = m.id === group.kept;
  const moved = !kept && group.moved.has(m.id) && !group.notdup && !group.skipped;
  let words;
  if (kept) words = m.id === group.best ? `kept: ${group.why}` : "kept (your choice)";
  else if (m.id === group.best) words = `the copy dupbench chose: ${group.why}`;
  else words = group.kept === group.best ? m.words : `${m.words} (to the copy dupbench chose)`;
  const img = el("img", { alt: m.name, loading: "lazy", src: `thumb/${m.id}`, title: m.path });
  img.addEventListener("click", () => openCompare(group, m));
  const keep = el("button", { type: "button", "data-role": "keep", text: kept ? "kept" : `keep this (${position + 1})` });
  keep.disabled = kept;
  keep.addEventListener("click", () => { setKept(group, m.id); });
  const mark = el("input", { type: "checkbox", "data-role": "move" });
  mark.checked = moved;
  mark.disabled = kept || group.notdup || group.skipped;
  mark.addEventListener("change", () => {
    if (mark.checked) group.moved.add(m.id); else group.moved.delete(m.id);
    refresh(group);
  });
  const compare = el("button", { type: "button", "data-role": "compare", text: "compare" });
  compare.addEventListener("click", () => openCompare(group, m));
  return el(
    "figure",
    { class: kept ? "kept" : moved ? "moved" : "unmarked", "data-id": String(m.id), "data-path": m.path },
    img,
    el("figcaption", {},
      el("div", { class: "words", text: words }),
      el("div", { class: "actions" }, keep, el("label", {}, mark, " move"), compare),
      el("div", { text: `${m.width}×${m.height}, ${m.format}, ${bytes(m.bytes)}, ${m.modified}` }),
      el("div", { class: "name", text: m.name }),
      el("div", { class: "meta", text: m.folder })),
  );
}

function setKept(group, id) {
  if (id === group.kept) return;
  group.moved.add(group.kept);
  group.moved.delete(id);
  group.kept = id;
  group.notdup = false;
  group.skipped = false;
  refresh(group);
}

function refresh(group) {
  const section = document.querySelector(`section.group[data-group="${group.group}"]`);
  if (section) {
    section.querySelector('[data-role="notdup"]').checked = group.notdup;
    section.querySelector('[data-role="skip"]').checked = group.skipped;
    fillSheet(group, section);
  }
  summarise();
}

function plan() {
  const groups = [];
  const notDuplicates = [];
  for (const g of state.groups) {
    if (g.notdup) { notDuplicates.push(g.group); continue; }
    if (g.skipped) continue;
    const path = (id) => g.members.find((m) => m.id === id).path;
    const move = [...g.moved].filter((id) => id !== g.kept).map(path);
    if (move.length) groups.push({ group: g.group, kept: path(g.kept), move });
  }
  return { groups, not_duplicates: notDuplicates };
}

function summarise() {
  const p = plan();
  const files = p.groups.reduce((n, g) => n + g.move.length, 0);
  document.getElementById("plan").textContent =
    `${state.shown.length} of ${state.groups.length} groups shown; applying moves ${files} files of ` +
    `${p.groups.length} groups and remembers ${p.not_duplicates.length} as not duplicates`;
}

async function apply() {
  const button = document.getElementById("apply");
  const result = document.getElementById("result");
  const sent = plan();
  button.disabled = true;
  try {
    const response = await fetch("apply", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(sent),
    });
    const answer = await response.json();
    result.hidden = false;
    result.classList.toggle("error", !response.ok);
    if (!response.ok) { result.replaceChildren(el("span", { text: answer.error })); return; }
    const done = new Set([...sent.groups.map((g) => g.group), ...sent.not_duplicates]);
    state.groups = state.groups.filter((g) => !done.has(g.group));
    const lines = [el("div", { text: `moved ${answer.moved} files; ${answer.not_duplicates} groups remembered as not duplicates.` })];
    if (answer.undo) lines.push(el("div", {}, "To put them back: ", el("code", { id: "undo", text: answer.undo })));
    for (const line of answer.skipped) lines.push(el("div", { text: `not moved: ${line}` }));
    result.replaceChildren(...lines);
    redraw();
  } catch (problem) {
    result.hidden = false;
    result.classList.add("error");
    result.replaceChildren(el("span", { text: `the server did not answer: ${problem}` }));
  } finally {
    button.disabled = false;
  }
}

// Side by side at full resolution, or the two images over each other in difference (alike: black).
let comparing = null;
function openCompare(group, m) {
  const other = m.id === group.kept ? group.members.find((x) => x.id !== group.kept) : m;
  comparing = { a: group.members.find((x) => x.id === group.kept), b: other };
  document.getElementById("compare").hidden = false;
  showSides();
}
function showSides() {
  const { a, b } = comparing;
  document.getElementById("compare-what").textContent = `${a.name} (kept) | ${b.name}`;
  document.getElementById("compare-body").replaceChildren(
    el("img", { src: `full/${a.id}`, alt: a.name }), el("img", { src: `full/${b.id}`, alt: b.name }));
}
function showDifference() {
  const { a, b } = comparing;
  document.getElementById("compare-what").textContent = `difference of ${a.name} and ${b.name}: black where alike`;
  const first = el("img", { src: `full/${a.id}`, alt: a.name });
  const second = el("img", { src: `full/${b.id}`, alt: b.name });
  first.addEventListener("load", () => { second.width = first.naturalWidth; second.height = first.naturalHeight; });
  document.getElementById("compare-body").replaceChildren(el("div", { class: "stack" }, first, second));
}
function closeCompare() { document.getElementById("compare").hidden = true; comparing = null; }

function setCurrent(index, scroll) {
  if (index < 0 || index >= state.shown.length) return;
  while (index >= state.drawn) drawMore();
  document.querySelectorAll("section.group.current").forEach((s) => s.classList.remove("current"));
  state.current = index;
  const section = document.querySelector(`section.group[data-index="${index}"]`);
  section.classList.add("current");
  if (scroll) section.scrollIntoView({ block: "center" });
}

function onKey(event) {
  if (["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName) && event.target.type !== "checkbox") return;
  if (event.key === "Escape") return closeCompare();
  const group = state.shown[state.current];
  if (event.key === "j" || event.key === "ArrowDown") { event.preventDefault(); setCurrent(state.current + 1, true); }
  else if (event.key === "k" || event.key === "ArrowUp") { event.preventDefault(); setCurrent(Math.max(0, state.current - 1), true); }
  else if (!group) return;
  else if (/^[1-9]$/.test(event.key)) {
    const order = [group.kept, ...group.members.map((m) => m.id).filter((id) => id !== group.kept)];
    const id = order[Number(event.key) - 1];
    if (id !== undefined) setKept(group, id);
  } else if (event.key === "x") { group.notdup = !group.notdup; refresh(group); }
  else if (event.key === "s") { group.skipped = true; group.notdup = false; refresh(group); setCurrent(state.current + 1, true); }
  else if (event.key === "c") openCompare(group, group.members.find((m) => m.id !== group.kept));
}

async function start() {
  document.getElementById("kind").addEventListener("change", redraw);
  document.getElementById("score").addEventListener("input", redraw);
  document.getElementById("apply").addEventListener("click", apply);
  document.getElementById("compare-sides").addEventListener("click", showSides);
  document.getElementById("compare-diff").addEventListener("click", showDifference);
  document.getElementById("compare-close").addEventListener("click", closeCompare);
  document.addEventListener("keydown", onKey);
  // Looked at again after each chunk: the end of the list may still be in view (a tall window).
  const more = document.getElementById("more");
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && state.drawn < state.shown.length) {
      drawMore();
      observer.unobserve(more);
      observer.observe(more);
    }
  }, { rootMargin: "800px" });
  observer.observe(more);
  const response = await fetch("groups");
  load(await response.json());
  document.body.dataset.ready = String(performance.now());
}

start();
