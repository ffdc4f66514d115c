"use strict";
// The w2s report page: unpacks its embedded data and builds the tables, figures and transcript browser.
// Every string from the run (model text above all) is inserted with textContent / text nodes, never as HTML.

const PAGE_SIZE = 20;
const chunks = new Map();      // chunk number -> Promise of its detail records
const haystacks = new Map();   // transcript number -> lower-case searchable text

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function unpack(id) {
  const block = document.getElementById(id);
  if (!block) throw new Error("the page has no data block " + id);
  const binary = atob(block.textContent.trim());
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

function chunk(n) {
  if (!chunks.has(n)) chunks.set(n, unpack("w2s-chunk-" + n));
  return chunks.get(n);
}

const missing = (x) => x === null || x === undefined || Number.isNaN(x);
const fixed = (x, scale, digits) => (missing(x) ? "–" : (scale * x).toFixed(digits));
function estimate(e, scale = 100, digits = 1) {
  if (!e || missing(e.value)) return "–";
  return `${fixed(e.value, scale, digits)} [${fixed(e.lo, scale, digits)}, ${fixed(e.hi, scale, digits)}]`;
}
const value = (e) => (e && !missing(e.value) ? e.value : null);
function order(a, b) {
  if (missing(a) && missing(b)) return 0;
  if (missing(a)) return 1;
  if (missing(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// A table whose columns sort on click; column = {title, show(row), key(row), num}.
function sortableTable(columns, rows, id) {
  const tbody = el("tbody");
  const head = el("tr");
  const fill = (list) => tbody.replaceChildren(...list.map((row) =>
    el("tr", {}, columns.map((c) => el("td", { class: c.num ? "num" : null }, c.show(row))))));
  let state = { col: -1, dir: 1 };
  columns.forEach((c, i) => head.append(el("th", {
    class: "sortable" + (c.num ? " num" : ""),
    onclick: () => {
      state = { col: i, dir: state.col === i ? -state.dir : (c.num ? -1 : 1) };
      head.querySelectorAll("th").forEach((th) => th.classList.remove("sorted-asc", "sorted-desc"));
      head.children[i].classList.add(state.dir > 0 ? "sorted-asc" : "sorted-desc");
      fill(rows.slice().sort((a, b) => order(c.key(a), c.key(b)) * state.dir));
    },
  }, c.title)));
  fill(rows);
  return el("table", { id: id || null }, el("thead", {}, head), tbody);
}

const text = (title, get) => ({ title, show: get, key: get });
const num = (title, show, key) => ({ title, show, key, num: true });
const ESTIMATE_COLUMNS = [
  num("accuracy % [95% CI]", (r) => estimate(r.accuracy), (r) => value(r.accuracy)),
  num("PGR % [95% CI]", (r) => estimate(r.pgr), (r) => value(r.pgr)),
  num("ECE %", (r) => estimate(r.ece), (r) => value(r.ece)),
  num("Brier", (r) => estimate(r.brier, 1, 3), (r) => value(r.brier)),
];
const RESULT_COLUMNS = [
  text("method", (r) => r.method), text("role", (r) => r.role), ...ESTIMATE_COLUMNS,
  num("AUROC", (r) => fixed(r.auroc, 1, 3), (r) => r.auroc),
  num("n items", (r) => r.accuracy.n_items, (r) => r.accuracy.n_items),
  num("seeds", (r) => r.accuracy.n_seeds, (r) => r.accuracy.n_seeds), text("note", (r) => r.note || ""),
];
const COMPARE_COLUMNS = [
  text("entry", (r) => r.dataset), text("method", (r) => r.method), text("role", (r) => r.role), ...ESTIMATE_COLUMNS,
  num("vs baseline, points [95% CI]", (r) => estimate(r.vs_baseline), (r) => value(r.vs_baseline)),
  text("note", (r) => r.note || ""),
];

const GAP_COLUMNS = [
  text("row", (r) => r.better), text("minus", (r) => r.baseline),
  num("difference, points [95% CI]", (r) => estimate(r.difference), (r) => value(r.difference)),
  text("accuracy CIs", (r) => (r.cis_overlap ? "overlap" : "separate")), text("reading", (r) => r.reading),
];

function pairedDifferences(meta, slug) {
  const gaps = meta.paired_differences || [];
  if (!gaps.length) return [];
  return [el("h3", {}, "Paired differences (same test items and seeds)"), sortableTable(GAP_COLUMNS, gaps, "gaps-table" + slug)];
}

function figures(list) {
  return el("div", { class: "plots" }, list.map((p) => el("figure", {},
    el("img", { src: "data:image/png;base64," + p.png, alt: p.name }), el("figcaption", { class: "muted" }, p.name))));
}

function warningsBlock(section) {
  const logged = (section.warnings || []).map((w) => `${w.time} ${w.logger}: ${w.message}`);
  const all = [...section.derived_warnings, ...logged];
  if (!all.length) return el("p", { class: "muted" }, "No warnings.");
  return el("div", {}, all.map((w) => el("div", { class: "warn" }, w)));
}

function summaryList(meta, section) {
  const machine = meta.machine || {};
  const facts = [
    ["experiment", meta.experiment], ["dataset", meta.dataset], ["folder", section.folder],
    ["split sizes", JSON.stringify(meta.split_sizes || {})],
    ["training seeds", (meta.training_seeds || []).join(", ")], ["debate seeds", (meta.debate_seeds || []).join(", ")],
    ["wall time of the last invocation", missing(meta.wall_seconds_this_invocation) ? "–" : `${meta.wall_seconds_this_invocation} s`],
    ["CPU", machine.cpu], ["training precision", machine.training && `${machine.training.dtype} (${machine.training.dtype_reason})`],
    ["debate engine dtype", machine.debate_engine_dtype],
  ];
  return el("table", {}, el("tbody", {}, facts.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
}

function transcriptStatsTable(stats) {
  const rows = Object.entries(stats).map(([key, s]) => ({ key, ...s }));
  const share = (r) => { const sides = Object.values(r.quotes_by_side || {}); return sides.length ? sides.map((q) => q.verified_share) : []; };
  return sortableTable([
    text("transcripts", (r) => r.key), num("items", (r) => r.items, (r) => r.items), num("failed", (r) => r.failed, (r) => r.failed),
    num("turns", (r) => r.turns, (r) => r.turns),
    num("completion tokens / turn", (r) => fixed(r.mean_completion_tokens_per_turn, 1, 1), (r) => r.mean_completion_tokens_per_turn),
    text("verified share of quotes (per side)", (r) => Object.entries(r.quotes_by_side || {})
      .map(([side, q]) => `${side}: ${fixed(q.verified_share, 100, 0)}%`).join(", ") || "–"),
  ], rows.map((r) => ({ ...r, shares: share(r) })));
}

function stagesTable(stages) {
  return sortableTable([
    text("folder", (r) => r.folder), text("kind", (r) => r.kind),
    num("training seconds", (r) => fixed(r.train_seconds, 1, 1), (r) => r.train_seconds),
    num("steps", (r) => r.steps ?? "–", (r) => r.steps), num("examples", (r) => r.examples ?? "–", (r) => r.examples),
    text("finished at", (r) => r.finished_at || "–"),
  ], stages);
}

function runSection(section) {
  const name = section.label ? ` — ${section.label}` : "";
  const slug = section.label ? "-" + section.label.replace(/[^A-Za-z0-9_-]/g, "_") : "";
  return el("section", { id: "run" + slug },
    el("h2", { id: "summary" + slug }, "Run" + name), summaryList(section.meta, section),
    el("h3", {}, "Warnings"), warningsBlock(section),
    el("h3", { id: "results" + slug }, "Results (click a column to sort)"),
    sortableTable(RESULT_COLUMNS, section.rows, "results-table" + slug), pairedDifferences(section.meta, slug),
    el("h3", { id: "plots" + slug }, "Figures"), figures(section.plots),
    el("h3", {}, "Transcripts"), transcriptStatsTable(section.transcript_stats || {}),
    el("h3", {}, "Stages and wall times"), stagesTable(section.stages || []),
    el("h3", { id: "config" + slug }, "Config"),
    el("pre", {}, section.config ? JSON.stringify(section.config, null, 2) : "config.json not found"),
    el("h3", {}, "Calibration and provenance"), el("pre", {}, JSON.stringify({ calibration: section.meta.calibration,
      models: section.meta.models, machine: section.meta.machine }, null, 2)));
}

// ---- transcript browser -------------------------------------------------------------------------------

function firstStance(r) {
  const [speaker, stance] = Object.entries(r.stances)[0] || ["?", "?"];
  return `${speaker === "consultant" ? "consultant" : "debater " + speaker} argues ${stance}`;
}
function moved(r) {
  if (missing(r.p) || missing(r.p_plain)) return null;
  return (r.p - r.p_plain) * (r.gold ? 1 : -1);
}
function movedLabel(r) {
  const m = moved(r);
  if (m === null) return "not judged";
  return m > 0.05 ? "toward the gold label" : m < -0.05 ? "away from the gold label" : "less than 5 points";
}
function quoteLabel(r) {
  if (!r.quotes) return "no quotes";
  return r.verified === r.quotes ? "only verified quotes" : r.verified ? "verified and unverified" : "only unverified quotes";
}
const FILTERS = [
  ["entry", "entry", (r) => r.entry],
  ["split", "split", (r) => r.split],
  ["protocol", "protocol", (r) => r.protocol],
  ["seed", "debate seed", (r) => String(r.seed)],
  ["stance", "first speaker", firstStance],
  ["gold", "gold label", (r) => (r.gold ? "1: answer correct" : "0: answer wrong")],
  ["verdict", "judge verdict", (r) => (r.right === null ? "not judged" : r.right ? "right" : "wrong")],
  ["moved", "transcript moved the judge", movedLabel],
  ["quotes", "quotes", quoteLabel],
  ["failed", "transcript", (r) => (r.failed ? "failed" : "finished")],
];
const SORTS = {
  "run order": null,
  "judge most confident first": (a, b) => order(-a.row.conf, -b.row.conf),
  "confidently wrong first": (a, b) => order(a.row.right === false ? -a.row.conf : 1, b.row.right === false ? -b.row.conf : 1),
  "moved most toward gold": (a, b) => order(-(moved(a.row) ?? -9), -(moved(b.row) ?? -9)),
  "moved most away from gold": (a, b) => order(moved(a.row) ?? 9, moved(b.row) ?? 9),
};

function turnBlock(turn) {
  const speaker = turn.speaker === "consultant" ? "Consultant" : "Debater " + turn.speaker;
  const body = el("p", {}, turn.segments.map(([piece, kind]) => (kind
    ? el("mark", { class: kind, title: kind === "v" ? "verified quote" : "unverified quote" }, piece) : piece)));
  return el("div", { class: "turn " + turn.stance },
    el("span", { class: "speaker" }, `${speaker} (arguing the answer is ${turn.stance})`),
    el("span", { class: "muted" }, turn.quotes ? ` — ${turn.verified}/${turn.quotes} quotes verified` : ""), body);
}

function detailBody(row, d) {
  const judges = d.judges.length ? sortableTable([
    num("training seed", (m) => m.seed, (m) => m.seed), text("judge model", (m) => m.model),
    num("P(correct) with transcript", (m) => fixed(m.p, 1, 3), (m) => m.p),
    num("P(correct) without", (m) => fixed(m.p_without, 1, 3), (m) => m.p_without),
  ], d.judges) : el("p", { class: "muted" }, "No trained judge scored this transcript's split.");
  const students = Object.entries(d.students);
  return el("div", { class: "body" },
    el("div", {}, el("strong", {}, "Question: "), d.question),
    el("div", { class: "candidate" }, el("strong", {}, "Candidate answer: "), d.answer),
    d.evidence ? el("details", { class: "passage" }, el("summary", {}, "Hidden passage (debaters only; the judge never saw it)"),
      el("p", {}, d.evidence)) : null,
    d.failed ? el("div", { class: "warn" }, "Transcript failed: " + d.failed) : null,
    d.turns.map(turnBlock),
    el("h4", {}, "Judges"), judges,
    students.length ? el("h4", {}, "Students (P(correct) on this test item, mean over training seeds)") : null,
    students.length ? el("ul", {}, students.map(([name, p]) => el("li", {}, `${name}: ${fixed(p, 1, 3)}`))) : null);
}

function itemCard(entry, state) {
  const r = entry.row;
  const verdict = r.right === null ? el("span", { class: "muted" }, "not judged")
    : el("span", { class: r.right ? "right" : "wrong" }, r.right ? "judge right" : "judge wrong");
  const m = moved(r);
  const card = el("details", { class: "item", "data-id": r.id },
    el("summary", {}, el("strong", {}, r.id), el("span", { class: "tag" }, r.split),
      el("span", { class: "tag" }, `${r.protocol} s${r.seed}`), r.entry ? el("span", { class: "tag" }, r.entry) : null,
      el("span", {}, "gold " + r.gold), el("span", {}, "P(correct) " + fixed(r.p, 1, 2)), verdict,
      m === null ? null : el("span", { class: "muted" }, `moved ${m >= 0 ? "+" : ""}${(100 * m).toFixed(0)} pts toward gold`),
      el("span", { class: "muted" }, `quotes ${r.verified}/${r.quotes} verified`), el("span", { class: "muted" }, firstStance(r))));
  card.addEventListener("toggle", async () => {
    if (!card.open || card.dataset.filled) return;
    card.dataset.filled = "1";
    const details = await chunk(Math.floor(entry.n / state.chunk));
    card.append(detailBody(r, details[entry.n % state.chunk]));
  });
  return card;
}

async function searchText(n, state) {
  if (!haystacks.has(n)) {
    const d = (await chunk(Math.floor(n / state.chunk)))[n % state.chunk];
    const turns = d.turns.map((t) => t.segments.map((s) => s[0]).join("")).join(" ");
    haystacks.set(n, [state.index[n].id, d.question, d.answer, turns].join(" ").toLowerCase());
  }
  return haystacks.get(n);
}

async function applyFilters(state, controls, list, counter, pager) {
  const chosen = Object.fromEntries(FILTERS.map(([key]) => [key, controls[key] ? controls[key].value : ""]));
  const minConf = parseFloat(controls.conf.value) || 0;
  const query = controls.search.value.trim().toLowerCase();
  let found = [];
  for (let n = 0; n < state.index.length; n++) {
    const row = state.index[n];
    if (FILTERS.some(([key, , get]) => chosen[key] && get(row) !== chosen[key])) continue;
    if (minConf > 0 && (missing(row.conf) || row.conf < minConf)) continue;
    if (query && !(await searchText(n, state)).includes(query)) continue;
    found.push({ n, row });
  }
  const sort = SORTS[controls.sort.value];
  if (sort) found = found.slice().sort(sort);
  state.found = found;
  state.page = 0;
  showPage(state, list, counter, pager);
}

function showPage(state, list, counter, pager) {
  const pages = Math.max(1, Math.ceil(state.found.length / PAGE_SIZE));
  state.page = Math.min(Math.max(state.page, 0), pages - 1);
  const start = state.page * PAGE_SIZE;
  list.replaceChildren(...state.found.slice(start, start + PAGE_SIZE).map((entry) => itemCard(entry, state)));
  counter.textContent = `${state.found.length} of ${state.index.length} transcripts`;
  pager.textContent = `page ${state.page + 1} of ${pages}`;
}

function browser(page) {
  const state = { index: page.index, chunk: page.chunk, found: [], page: 0 };
  const list = el("div", { id: "transcript-list" });
  const counter = el("span", { id: "transcript-count" });
  const pager = el("span", { id: "transcript-page" });
  const controls = {};
  let timer = null;
  const refresh = () => { clearTimeout(timer); timer = setTimeout(() => applyFilters(state, controls, list, counter, pager), 150); };
  const fields = FILTERS.map(([key, title, get]) => {
    const values = [...new Set(state.index.map(get))].sort();
    if (values.length < 2 && key !== "verdict") return null;
    controls[key] = el("select", { id: "filter-" + key, onchange: refresh }, el("option", { value: "" }, "any"),
      values.map((v) => el("option", { value: v }, v)));
    return el("label", {}, title, controls[key]);
  });
  controls.conf = el("input", { id: "filter-conf", type: "number", min: "0.5", max: "1", step: "0.05", placeholder: "0.5", oninput: refresh });
  controls.sort = el("select", { id: "sort", onchange: refresh }, Object.keys(SORTS).map((s) => el("option", { value: s }, s)));
  controls.search = el("input", { id: "search", type: "search", placeholder: "text, question or item id", oninput: refresh });
  const turn = (step) => () => { state.page += step; showPage(state, list, counter, pager); };
  applyFilters(state, controls, list, counter, pager);
  return el("section", { id: "transcripts" }, el("h2", {}, "Transcript browser"),
    el("p", { class: "legend muted" }, "Quotes: ", el("mark", { class: "v" }, "verified"), " ",
      el("mark", { class: "u" }, "unverified"), ". P(correct) is the judge's probability that the candidate answer is correct, "
      + "averaged over the judges that read the transcript; 'moved' compares it with the same judges without the transcript."),
    el("div", { class: "filters" }, fields, el("label", {}, "min judge confidence", controls.conf),
      el("label", {}, "order", controls.sort), el("label", {}, "search", controls.search)),
    el("div", { class: "pager" }, el("button", { id: "prev", onclick: turn(-1) }, "previous"), pager,
      el("button", { id: "next", onclick: turn(1) }, "next"), counter), list);
}

function compareSection(page) {
  const summary = page.compare;
  return el("section", { id: "comparison" }, el("h2", {}, "Comparison"),
    el("p", { class: "muted" }, "Baseline of the paired differences: " + summary.baseline),
    sortableTable(COMPARE_COLUMNS, summary.rows, "compare-table"), figures(page.plots));
}

async function main() {
  const page = await unpack("w2s-page");
  const app = document.getElementById("app");
  const nav = document.getElementById("nav");
  const links = [["summary", "run"], ["results", "results"], ["plots", "figures"], ["transcripts", "transcripts"], ["config", "config"]];
  const slug = page.kind === "compare" ? "-" + page.sections[0].label.replace(/[^A-Za-z0-9_-]/g, "_") : "";
  if (page.kind === "compare") nav.append(el("a", { href: "#comparison" }, "comparison"));
  for (const [anchor, title] of links) nav.append(el("a", { href: "#" + anchor + (anchor === "transcripts" ? "" : slug) }, title));
  app.replaceChildren(...[
    page.kind === "compare" ? compareSection(page) : null,
    ...page.sections.map(runSection),
    page.index.length ? browser(page) : el("p", { class: "muted", id: "transcripts" }, "This run has no transcripts."),
  ].filter(Boolean));
  document.body.dataset.ready = "1";
}

main().catch((error) => {
  (document.getElementById("status") || document.getElementById("app")).textContent = "The report could not be shown: " + error;
  console.error(error);
});
