/* tal check --html: the check's summary and tables, the zero-candidate rates by size and by class,
 * the loader's verdicts, and the files most worth a look with their gts under each setting.
 * Data: views/html/check_page.py check_page(). */
"use strict";

(async function () {
  const h = TAL.h, s = TAL.s;

  try {
    const data = TAL.pageData();
    const app = document.getElementById("app");
    const tooltip = new TAL.Tooltip();
    const st = data.settings;
    const state = { chosen: 0 };

    app.append(...TAL.pageTop("tal check", data));

    /* ---- settings ----------------------------------------------------------------------------- */
    const settings = TAL.settingsTable(st, { choose, cls: "settings multiline" });
    app.append(h("h2", {}, "Settings"),
      h("p", { class: "muted" }, "Per setting, from the boxes alone: gts with no anchor centre inside at any stride can never get a positive; " +
        "fewer than topk caps their positives; beyond the DFL reach clips every box target. Click a setting: the files below are shown under it."),
      settings.el);

    /* ---- zero-candidate rates ------------------------------------------------------------------ */
    app.append(h("h2", {}, "Gts with no candidate, by size"), h("div", { class: "chart" }, chart()));
    if (data.classes.cells.length) {
      const cl = data.classes;
      app.append(h("h2", {}, "Gts with no candidate, by class"),
        TAL.grid(cl.headers, cl.cells.map((cells) => h("tr", {}, cells.map((v, c) =>
          h("td", { class: c === 0 ? null : "num" + (c > 1 && /^[1-9]/.test(v) ? " st-zero" : "") }, v)))), "multiline"));
    }

    /* ---- the loader's verdicts ------------------------------------------------------------------ */
    app.append(h("h2", {}, "ultralytics' loader"), verdicts());

    /* ---- files worth a look ------------------------------------------------------------------- */
    const picker = h("div", { class: "setting-switch", role: "group", "aria-label": "setting" });
    const fileList = h("div", { class: "worst", role: "list" });
    const fileNote = h("p", { class: "muted" });
    app.append(h("h2", {}, "Files worth a look"), fileNote, picker, fileList);
    const drill = new TAL.Drill({ items: data.files, noun: "file", parts, view: (root, one, picture) =>
      new TAL.CheckView(root, { meta: one.meta, cols: one.cols, picture }, { fitView: true }), onchange: renderFiles });
    app.append(drill.el);

    choose(0);
    document.addEventListener("keydown", (e) => {
      if (e.key === "?" && !drill.view) {
        if (!state.help) state.help = new TAL.KeyHelp([["click", "a setting row, a bar, a file"], ["?", "this list"]]);
        state.help.toggle();
      }
    });
    await new Promise((r) => requestAnimationFrame(() => r()));
    TAL.ready();

    /* ---- parts ---------------------------------------------------------------------------------- */

    function chart() {
      const rows = data.chart, rowH = 74, top = 58, label = 250, span = 420;
      const w = label + span + 260, hgt = top + rows.length * rowH + 34, x0 = label;
      const rates = rows.flatMap((r) => r.zero.map((z) => z.rate).filter((v) => v !== null));
      const topPct = TAL.niceMax(100 * Math.max(0, ...rates), 10);
      const svg = s("svg", { width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": "gts with no candidate, per setting and size" });
      svg.append(s("text", { x: x0, y: 18 }, "Gts with no candidate at any stride, % (all, small, medium, large)"));
      TAL.rateLegend(svg, x0, 28, data.size_bins);
      for (let t = 0; t <= 5; t++) {
        const x = x0 + (t / 5) * span;
        svg.append(s("line", { x1: x, x2: x, y1: top - 6, y2: top + rows.length * rowH, stroke: "#dde" }),
          s("text", { x, y: top + rows.length * rowH + 16, "text-anchor": "middle", class: "muted" }, `${+(topPct * t / 5).toFixed(1)}%`));
      }
      rows.forEach((r, i) => {
        const y = top + i * rowH;
        if (i % 2 === 0) svg.append(s("rect", { x: 0, y, width: w, height: rowH, fill: "#f3f5f8" }));
        svg.append(s("text", { x: 6, y: y + rowH / 2 + 4 }, r.label));
        TAL.rateBars(svg, tooltip, { x: x0, y, rowH, bars: r.zero, top: topPct, span, i, label: r.label, what: "gts with no candidate" });
      });
      return svg;
    }

    function verdicts() {
      const heads = ["split", "images", "kept", "backgrounds", "dropped", "duplicate rows", "files with duplicates", "JPEGs re-saved", "gts"];
      const keys = ["split", "images", "kept", "backgrounds", "dropped", "duplicates", "duplicate_files", "rewritten", "gts"];
      const rows = data.splits.map((sp) => h("tr", {}, keys.map((k, c) => h("td", { class: c === 0 ? null : "num" + (k === "dropped" && sp[k] ? " st-zero" : "") },
        k === "split" ? (sp.split === null ? "all" : sp.split) : String(sp[k])))));
      const listed = (title, items, total, id) => h("div", { id },
        h("h3", {}, `${title} (${total})`),
        items.length ? h("ul", { class: "files" }, items.map((t) => h("li", {}, t))) : h("p", { class: "muted" }, "none"),
        total > items.length ? h("p", { class: "muted" }, `… and ${total - items.length} more (tal check --json lists every file).`) : null);
      return h("div", {}, TAL.grid(heads, rows, "verdicts"),
        listed("Dropped files: ultralytics leaves them out of training", data.dropped, data.dropped_total, "dropped"),
        listed("Files with duplicate rows: ultralytics removes them and reorders the gts", data.duplicates, data.duplicates_total, "duplicates"));
    }

    /* ---- behaviour ------------------------------------------------------------------------------ */

    function choose(k) {
      state.chosen = k;
      settings.select(k);
      TAL.fill(picker, TAL.settingButtons(st.labels, k, "data-pick", (j, l) => `${j}: ${l}`, choose));
      renderFiles();
      if (drill.key) drill.open(drill.key, k);
    }

    function renderFiles() {
      const k = state.chosen, files = data.files;
      const dropped = data.dropped_total ? ` Dropped files are not here (training never sees them): they are listed above with their reasons.` : "";
      fileNote.textContent = files.length
        ? `Of the files training sees, ${TAL.plural(data.problem_files, "file")} worth a look; here the first ${TAL.plural(files.length, "file")} ` +
          "in the order tal check lists them (most gts with no candidate, duplicates), then other files. " +
          "Click one to see its gts under the setting chosen." + dropped
        : (data.html_images ? "No file that training sees: every file is dropped." : "No file embedded (--html-images 0).") + dropped;
      fileList.replaceChildren(...files.map((f) => TAL.tile({ attr: "data-file", key: f.key, current: drill.key === f.key,
        onclick: () => drill.open(f.key, state.chosen), thumb: f.thumb, nothumb: "dropped",
        count: f.verdict === "dropped" ? h("span", { class: "st-zero" }, "dropped")
          : h("span", { class: f.zero[k] ? "st-zero" : "muted" }, `${f.zero[k]} of ${f.gts} with no candidate`) })));
    }

    /** What the drill-down shows of file f under setting k: its verdict, the setting buttons and the view (root). */
    function parts(f, k, root) {
      if (!root) {
        return [h("p", { class: "verdict st-zero" }, f.text),
          h("p", { class: "muted" }, "No picture: ultralytics' loader drops this file, so training never sees its gts.")];
      }
      return [h("p", {}, f.text), h("div", { class: "setting-switch", role: "group", "aria-label": "setting of the view" },
        TAL.settingButtons(st.labels, k, "data-view-setting", (j, l) => `${j}: ${l} (${f.zero[j]} with no candidate)`, choose)), root];
    }
  } catch (err) {
    TAL.fail(err);
  }
})();
