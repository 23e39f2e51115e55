/* tal sweep --html: settings, charts, what changed between settings, the worst images and their
 * one-image view under each setting. Data: views/html/sweep_page.py sweep_page(). */
"use strict";

(async function () {
  const h = TAL.h;
  const s = TAL.s;

  try {
    const data = TAL.pageData();
    const app = document.getElementById("app");
    const tooltip = new TAL.Tooltip();
    const names = data.names;
    const nameOf = (c) => (names[c] !== undefined ? names[c] : String(c));
    const nSet = data.settings.labels.length;
    /* chosen: the setting of the table (the worst images' ranking, "what changed" to); from: "what changed" from */
    const state = { chosen: 0, from: 0 };
    const status = await TAL.decodeBlob(data.status);

    app.append(...TAL.pageTop("tal sweep", data));

    /* ---- settings table -------------------------------------------------------------------- */
    const st = data.settings;
    const settings = TAL.settingsTable(st, { choose, cls: "settings", isText: (c) => st.headers[c] === "variant" });
    app.append(h("h2", {}, "Settings"),
      h("p", { class: "muted" }, "Click a setting: the worst images are ranked under it, and what changed compares it with the setting chosen below."),
      settings.el);

    /* ---- charts ------------------------------------------------------------------------------ */
    app.append(h("h2", {}, "Positives per gt, and gts without positives"), h("div", { class: "chart" }, chart()));

    /* ---- what changed -------------------------------------------------------------------------- */
    const changes = h("div", {});
    app.append(h("h2", {}, "What changed between settings"), patternsTable(), changes);

    /* ---- worst images ------------------------------------------------------------------------ */
    const worstList = h("div", { class: "worst", role: "list" });
    const worstNote = h("p", { class: "muted" });
    app.append(h("h2", {}, "Worst images"), worstNote, worstList);
    const drill = new TAL.Drill({ items: data.worst, noun: "image", parts, onchange: renderWorst, view: (root, one, picture) =>
      new TAL.ImageView(root, { meta: Object.assign({}, one.meta, { palette: data.palette }), cols: one.cols, picture }, { fitView: true }) });
    app.append(drill.el);

    choose(0);
    document.addEventListener("keydown", (e) => {
      if (e.key === "?" && !drill.view) {
        if (!state.help) state.help = new TAL.KeyHelp([["click", "a setting row, a bar, a worst image, a gt of the changes"], ["?", "this list"]]);
        state.help.toggle();
      }
    });
    await new Promise((r) => requestAnimationFrame(() => r()));
    TAL.ready();

    /* ---- behaviour ------------------------------------------------------------------------------ */

    function choose(k) {
      state.chosen = k;
      settings.select(k);
      renderChanges();
      renderWorst();
    }

    function chart() {
      const rows = data.chart, rowH = 74, top = 58, label = 250, span = 300, gap = 215;
      const w = label + 2 * (span + gap), hgt = top + rows.length * rowH + 34;
      const x1 = label, x2 = label + span + gap;
      const nice = TAL.niceMax;
      const top1 = nice(Math.max(1, ...rows.map((r) => r.max || 0)), 1);
      const rates = rows.flatMap((r) => r.zero.map((z) => z.rate).filter((v) => v !== null));
      const top2 = nice(100 * Math.max(0, ...rates), 10);
      const svg = s("svg", { width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": "positives per gt and gts without positives, per setting" });
      svg.append(s("text", { x: x1, y: 18 }, "Positives per gt (mean bar, median tick, max whisker)"),
        s("text", { x: x2, y: 18 }, "Gts without positives, % (all, small, medium, large)"));
      TAL.rateLegend(svg, x2, 28, data.size_bins);
      for (let t = 0; t <= 5; t++) {
        for (const [x0, topv, pct] of [[x1, top1, ""], [x2, top2, "%"]]) {
          const x = x0 + (t / 5) * span;
          svg.append(s("line", { x1: x, x2: x, y1: top - 6, y2: top + rows.length * rowH, stroke: "#dde" }),
            s("text", { x, y: top + rows.length * rowH + 16, "text-anchor": "middle", class: "muted" }, `${+(topv * t / 5).toFixed(1)}${pct}`));
        }
      }
      const bar = (attrs, tip) => TAL.chartBar(tooltip, attrs, tip);
      rows.forEach((r, i) => {
        const y = top + i * rowH, cy = y + rowH / 2;
        if (i % 2 === 0) svg.append(s("rect", { x: 0, y, width: w, height: rowH, fill: "#f3f5f8" }));
        svg.append(s("text", { x: 6, y: cy + 4 }, r.label));
        if (r.mean === null) {
          svg.append(s("text", { x: x1 + 4, y: cy + 4, class: "muted" }, "no gts"));
        } else {
          const X = (v) => x1 + (v / top1) * span;
          svg.append(s("line", { x1: x1, x2: X(r.max), y1: cy, y2: cy, stroke: "#7896b9", "stroke-width": 2 }),
            s("line", { x1: X(r.max), x2: X(r.max), y1: cy - 9, y2: cy + 9, stroke: "#7896b9", "stroke-width": 2 }),
            bar({ x: x1, y: cy - 13, width: Math.max(1, X(r.mean) - x1), height: 26, fill: "#3a6ea5", "data-bar": `${i}:positives` },
              `${r.label}: positives per gt ${r.text}`),
            s("line", { x1: X(r.median), x2: X(r.median), y1: cy - 17, y2: cy + 17, stroke: "#1e1e1e", "stroke-width": 3 }),
            s("text", { x: Math.max(X(r.mean), X(r.max), X(r.median)) + 8, y: cy + 4 }, r.text));
        }
        TAL.rateBars(svg, tooltip, { x: x2, y, rowH, bars: r.zero, top: top2, span, i, label: r.label, what: "gts without positives" });
      });
      return svg;
    }

    function patternsTable() {
      const meta = status.meta;
      const mark = (on) => h("span", { class: on ? null : "st-zero", title: on ? "has positives" : "no positive" }, on ? "✓" : "✗ 0");
      return h("div", {},
        h("p", {}, `Each gt has positives (✓) or none (✗) under each setting. ${meta.changed} of ${TAL.plural(meta.gts, "gt")} change between settings.`),
        h("table", { class: "patterns" },
          h("thead", {}, h("tr", {}, st.labels.map((l, k) => h("th", { title: l }, `setting ${k}`)), h("th", {}, "gts"))),
          h("tbody", {}, meta.patterns.map(([bits, n]) => h("tr", {}, bits.map((b) => h("td", {}, mark(b))), h("td", {}, n))))),
        h("p", { class: "muted" }, st.labels.map((l, k) => `setting ${k}: ${l}`).join(" · ")));
    }

    function renderChanges() {
      const cols = status.cols, meta = status.meta, n = meta.listed;
      const b = state.chosen;
      const a = state.from === b ? (b === 0 ? Math.min(1, nSet - 1) : 0) : state.from;
      const select = h("select", { "aria-label": "compare with", onchange: (e) => { state.from = +e.target.value; renderChanges(); } },
        st.labels.map((l, k) => h("option", { value: k, selected: k === a ? true : null }, `setting ${k}: ${l}`)));
      const lose = [], gain = [];
      for (let i = 0; i < n; i++) {
        const pa = cols.positives[a * n + i], pb = cols.positives[b * n + i];
        if (pa > 0 && pb === 0) lose.push(i);
        else if (pa === 0 && pb > 0) gain.push(i);
      }
      const embedded = new Set(data.worst.map((w) => w.key));
      const group = (list) => {
        const groups = new Map();
        for (const i of list) {
          const key = `${data.size_bins[cols.size[i]]} · ${nameOf(cols.cls[i])}`;
          if (!groups.has(key)) groups.set(key, { size: cols.size[i], cls: cols.cls[i], items: [] });
          groups.get(key).items.push(i);
        }
        return [...groups.entries()].sort((x, y) => x[1].size - y[1].size || x[1].cls - y[1].cls);
      };
      const column = (title, list) => h("div", {}, h("h3", {}, `${title} (${list.length})`),
        list.length ? group(list).map(([key, g]) => h("div", { class: "change-group" },
          h("h3", {}, `${key}: ${TAL.plural(g.items.length, "gt")}`),
          g.items.slice(0, 300).map((i) => {
            const img = meta.images[cols.image[i]], slot = cols.slot[i];
            const counts = Array.from({ length: nSet }, (_, k) => cols.positives[k * n + i]).join("/");
            const can = embedded.has(img);
            return h("button", { type: "button", class: "gt-chip", "data-change": `${img}:${slot}`, disabled: can ? null : true,
              title: `positives per setting ${counts}` + (can ? "; click to open" : "; not among the worst images embedded"),
              onclick: () => drill.open(img, b, slot) }, `${img} gt ${slot} (${cols.w[i]}x${cols.h[i]}) ${counts}`);
          }),
          g.items.length > 300 ? h("span", { class: "muted" }, ` … ${g.items.length - 300} more`) : null))
          : h("p", { class: "muted" }, "none"));
      TAL.fill(changes,
        h("p", { class: "controls" }, `From `, select, ` to setting ${b}: ${st.labels[b]} (click a setting row to change).`),
        h("div", { class: "changes" }, column("lose all their positives", lose), column("gain positives", gain)),
        meta.listed < meta.changed ? h("p", { class: "muted" }, `Only the first ${meta.listed} of ${meta.changed} changing gts are listed.`) : null);
    }

    function renderWorst() {
      const k = state.chosen;
      const list = data.worst.slice().sort((x, y) => y.zero[k] - x.zero[k] || y.gts - x.gts);
      worstNote.textContent = list.length
        ? `${TAL.plural(list.length, "image")} with the most gts without positives, ranked under setting ${k} (${st.labels[k]}). Click one to open it.`
        : "No image embedded (--html-images 0).";
      worstList.replaceChildren(...list.map((w) => TAL.tile({ attr: "data-image", key: w.key, current: drill.key === w.key,
        onclick: () => drill.open(w.key, state.chosen), thumb: w.thumb,
        count: h("span", { class: w.zero[k] ? "st-zero" : "muted" }, `${w.zero[k]} of ${w.gts} without`) })));
    }

    /** What the drill-down shows of worst image w under setting k: the setting buttons (each reopens w) and the view (root). */
    function parts(w, k, root) {
      return [h("div", { class: "setting-switch", role: "group", "aria-label": "setting" },
        TAL.settingButtons(st.labels, k, "data-view-setting", (j, l) => `${j}: ${l} (${w.zero[j]} without)`, (j) => drill.open(w.key, j))), root];
    }
  } catch (err) {
    TAL.fail(err);
  }
})();
