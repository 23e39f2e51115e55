/* tal train-report --html: a training run's record per branch over its epochs (charts with every epoch's
 * numbers on hover, the terminal's tables, and the classes and worst images of the epoch picked).
 * Data: views/html/train_page.py train_page(). */
"use strict";

(async function () {
  const h = TAL.h;
  const s = TAL.s;
  const niceMax = TAL.niceMax;
  /** Sort key of a printed cell: its number ("24.4%" -> 24.4), -1 for "-", else the text. */
  const cellKey = (text) => {
    if (text === "-") return -1;
    const n = parseFloat(text);
    return Number.isNaN(n) ? text : n;
  };

  try {
    const data = TAL.pageData();
    const app = document.getElementById("app");
    const tooltip = new TAL.Tooltip();
    const state = { epoch: data.selected, branches: [] };

    app.append(TAL.headerBlock(data.title, [`tal ${data.version} · record ${data.record}`]));
    app.append(h("div", { class: "summary" }, data.header.map((line, i) => h("p", { class: i === 0 ? "strong" : null }, line))));
    if (!data.epochs.length) {
      app.append(h("p", { class: "muted", id: "no-epochs" }, "No epoch recorded yet: the files are written at the end of each epoch."));
      TAL.ready();
      return;
    }

    const picker = h("select", { id: "epoch", "aria-label": "epoch", onchange: () => choose(Number(picker.value)) },
      data.epochs.map((e) => h("option", { value: e }, String(e))));
    const step = (d) => {
      const k = data.epochs.indexOf(state.epoch) + d;
      if (k >= 0 && k < data.epochs.length) choose(data.epochs[k]);
    };
    app.append(h("div", { class: "controls epoch-bar" },
      h("label", { for: "epoch" }, "Epoch"), picker,
      h("button", { type: "button", "aria-label": "previous epoch", onclick: () => step(-1) }, "◀"),
      h("button", { type: "button", "aria-label": "next epoch", onclick: () => step(1) }, "▶"),
      h("span", { class: "muted" }, `${TAL.plural(data.epochs.length, "epoch")} recorded. The epoch picked here (or by clicking a table row or a chart) ` +
        "chooses the classes and worst images below; hover a chart for an epoch's numbers.")));

    for (const b of data.branches) state.branches.push(await branchSection(b));

    document.addEventListener("keydown", (e) => {
      if (e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement) return;
      if (e.key === "[" ) step(-1);
      else if (e.key === "]") step(1);
      else if (e.key === "?") {
        if (!state.help) state.help = new TAL.KeyHelp([["[ / ]", "previous / next epoch"], ["← / →", "on a focused chart: move through the epochs"], ["?", "this list"]]);
        state.help.toggle();
      } else if (e.key === "Escape" && state.help && state.help.open) state.help.toggle(false);
    });
    choose(state.epoch);
    performance.mark("tal:built");
    await new Promise((r) => requestAnimationFrame(() => r()));
    TAL.ready();

    /* ---- behaviour ------------------------------------------------------------------------------ */

    function choose(epoch) {
      state.epoch = epoch;
      picker.value = String(epoch);
      for (const b of state.branches) b.show(epoch);
    }

    async function branchSection(b) {
      const sec = h("section", { class: "branch", id: `branch-${b.name}`, "data-branch": b.name });
      app.append(sec);
      const classes = await TAL.decodeBlob(b.classes);
      sec.append(h("h2", {}, b.name), h("p", { class: "muted" }, b.settings));
      const rateNames = Object.keys(b.rates);
      const charts = [
        lineChart(b, "rates", `${b.name}: gts without positives, %`, rateNames.map((k) => [k, data.labels[k], b.rates[k], data.colours[k]]), 10, "%"),
        lineChart(b, "per-gt", `${b.name}: positives per gt`, [["mean", "mean", b.per_gt.mean, data.colours.mean], ["median", "median", b.per_gt.median, data.colours.median]], 1, ""),
      ];
      sec.append(h("div", { class: "train-charts" }, charts.map((c) => h("div", { class: "chart" }, c.svg))));

      const tables = b.tables.map((t) => epochTable(t));
      sec.append(h("div", { class: "train-tables" }, tables.map((t, k) => h("div", {}, h("h3", {}, b.tables[k].title), t.el))));

      const epochHead = h("h3", {});
      const classBox = h("div", {});
      const worstHead = h("h3", {});
      const worstBox = h("div", {});
      sec.append(h("div", { class: "train-epoch" },
        h("div", {}, epochHead, classBox),
        h("div", {}, worstHead, worstBox)));

      function show(epoch) {
        const i = b.epochs.indexOf(epoch);
        for (const c of charts) c.mark(i);
        for (const t of tables) t.mark(epoch);
        epochHead.textContent = `${b.name}, epoch ${epoch}: by class`;
        worstHead.textContent = `${b.name}, epoch ${epoch}: worst images`;
        if (i < 0) {
          TAL.fill(classBox, h("p", { class: "muted" }, `${b.name} has no record of epoch ${epoch}.`));
          TAL.fill(worstBox);
          return;
        }
        TAL.fill(classBox, classTable(b, classes, i));
        TAL.fill(worstBox, worstTable(b, i));
      }
      return { show };
    }

    /** A per-epoch table of the terminal (cells as printed), sortable; a row click picks its epoch. */
    function epochTable(t) {
      const table = new TAL.Table({
        headers: t.headers, rows: t.cells.length, numeric: t.headers.map(() => true),
        cell: (i, c) => t.cells[i][c], key: (i, c) => cellKey(t.cells[i][c]),
        rowAttrs: (i) => ({ class: t.marked[i] ? "marked" : null, "data-epoch": t.epochs[i] }),
        onRowClick: (i) => choose(t.epochs[i]), height: 320, virtualiseAbove: 120,
      });
      return {
        el: table.el,
        mark: (epoch) => {
          const i = t.epochs.indexOf(epoch);
          if (i === table.selected) return;
          if (table.virtual) return table.select(i); // renders the rows in view only
          // every row is in the DOM: move the mark instead of rebuilding the rows
          table.selected = i;
          for (const tr of table.tbody.querySelectorAll('tr[aria-selected="true"]')) tr.removeAttribute("aria-selected");
          const tr = i < 0 ? null : table.tbody.querySelector(`tr[data-epoch="${t.epochs[i]}"]`);
          if (!tr) return;
          tr.setAttribute("aria-selected", "true");
          const box = table.el.getBoundingClientRect(), r = tr.getBoundingClientRect();
          if (r.top < box.top || r.bottom > box.bottom) table.el.scrollTop += r.top - box.top - 2 * r.height;
        },
      };
    }

    function classTable(b, classes, i) {
      const { meta, cols } = classes;
      const rows = [];
      for (let k = 0; k < cols.epoch.length; k++) if (cols.epoch[k] === i) rows.push(k);
      if (!rows.length) return h("p", { class: "muted" }, "No gts this epoch.");
      const cells = rows.map((k) => [meta.names[cols.cls[k]], String(cols.gts[k]), String(cols.without[k]), TAL.fmtFixed(cols.share[k], 1) + "%"]);
      const keys = rows.map((k) => [cols.cls[k], cols.gts[k], cols.without[k], cols.share[k]]);
      const table = new TAL.Table({
        headers: b.class_headers, rows: rows.length, numeric: [false, true, true, true], height: 360,
        cell: (r, c) => cells[r][c], key: (r, c) => keys[r][c],
        rowAttrs: (r) => ({ class: keys[r][2] ? "marked" : null, "data-class": keys[r][0] }),
      });
      table.el.classList.add("class-table");
      return table.el;
    }

    function worstTable(b, i) {
      const rows = b.worst[i];
      const reasons = b.reasons[i];
      const note = h("p", { class: "muted note" },
        "The record keeps each worst image's path and counts, not why its gts got no positive, and no pixels (no pictures here): " +
        "open the file, or run tal assign on it. " +
        (reasons ? "Why, over every gt of this epoch's re-run (tal's assigner): " + reasons.map(([k, v]) => `${k} ${v}`).join(", ") + "."
          : "This epoch was not re-run, so no reasons were recorded."));
      if (!rows.length) return [h("p", { class: "muted" }, "No worst image recorded this epoch."), note];
      const table = h("table", { class: "grid worst-table" },
        h("thead", {}, h("tr", {}, b.worst_headers.map((t, c) => h("th", { class: c ? "num" : null }, t)))),
        h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((v, c) => h("td", { class: c ? "num" : "path" }, v))))));
      return [h("div", { class: "table-box" }, table), note];
    }

    /**
     * A line chart over the branch's epochs: series [[key, label, values (null: no point), colour]], y from 0 to a
     * round maximum (at least `floor`). Hover or focus + arrow keys: the epoch's numbers; click: pick the epoch.
     */
    function lineChart(b, id, title, series, floor, unit) {
      const W = 600, H = 270, L = 50, R = 16, T = 44, B = 34;
      const pw = W - L - R, ph = H - T - B;
      const n = b.epochs.length;
      const first = b.epochs[0], last = b.epochs[n - 1];
      const X = (e) => (last === first ? L + pw / 2 : L + ((e - first) / (last - first)) * pw);
      const top = niceMax(Math.max(0, ...series.flatMap(([, , v]) => v.filter((x) => x !== null))), floor);
      const Y = (v) => T + ph - (v / top) * ph;
      const svg = s("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", tabindex: "0", "data-chart": id,
        "aria-label": `${title}, per epoch; hover or use the arrow keys for an epoch's numbers` });
      svg.append(s("text", { x: L, y: 15, class: "chart-title" }, title));
      let lx = L;
      for (const [, label, , colour] of series) {
        svg.append(s("line", { x1: lx, x2: lx + 16, y1: 29, y2: 29, stroke: colour, "stroke-width": 2.5 }),
          s("text", { x: lx + 20, y: 33, class: "muted" }, label));
        lx += 34 + label.length * 7;
      }
      for (let t = 0; t <= 5; t++) {
        const v = (top * t) / 5, y = Y(v);
        svg.append(s("line", { x1: L, x2: L + pw, y1: y, y2: y, stroke: "#e3e6ea" }),
          s("text", { x: L - 6, y: y + 4, "text-anchor": "end", class: "muted" }, `${+v.toFixed(2)}${unit}`));
      }
      for (const e of epochTicks(first, last)) {
        svg.append(s("text", { x: X(e), y: T + ph + 16, "text-anchor": "middle", class: "muted" }, String(e)));
      }
      svg.append(s("text", { x: L + pw / 2, y: H - 2, "text-anchor": "middle", class: "muted" }, "epoch"));
      const picked = s("line", { class: "picked", y1: T, y2: T + ph, visibility: "hidden" });
      const guide = s("line", { class: "guide", y1: T, y2: T + ph, visibility: "hidden" });
      svg.append(picked, guide);
      const dots = [];
      for (const [key, , values, colour] of series) {
        let d = "";
        values.forEach((v, i) => {
          if (v === null) return;
          d += `${d && values[i - 1] !== null && values[i - 1] !== undefined ? "L" : "M"}${X(b.epochs[i]).toFixed(1)},${Y(v).toFixed(1)}`;
        });
        svg.append(s("path", { d, fill: "none", stroke: colour, "stroke-width": 2, "data-series": key }));
        values.forEach((v, i) => {
          if (v === null) return;
          const dot = s("circle", { cx: X(b.epochs[i]), cy: Y(v), r: n > 60 ? 2 : 3.5, fill: colour, "data-series": key, "data-epoch": b.epochs[i] });
          dots.push([i, dot]);
          svg.append(dot);
        });
      }
      const hit = s("rect", { x: L - 8, y: T, width: pw + 16, height: ph, fill: "transparent", class: "hit" });
      svg.append(hit);
      let hovered = -1;
      const nearest = (clientX) => {
        const box = svg.getBoundingClientRect();
        const x = ((clientX - box.left) / box.width) * W;
        let best = 0;
        for (let i = 1; i < n; i++) if (Math.abs(X(b.epochs[i]) - x) < Math.abs(X(b.epochs[best]) - x)) best = i;
        return best;
      };
      const hover = (i, cx, cy) => {
        hovered = i;
        const x = X(b.epochs[i]);
        guide.setAttribute("x1", x);
        guide.setAttribute("x2", x);
        guide.setAttribute("visibility", "visible");
        for (const [k, dot] of dots) dot.classList.toggle("active", k === i);
        tooltip.show([h("div", { class: "tip-head" }, `epoch ${b.epochs[i]} · ${b.name}`),
          h("table", { class: "kv tip-kv" }, h("tbody", {}, b.tips[i].map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))))], cx, cy);
      };
      const leave = () => {
        hovered = -1;
        guide.setAttribute("visibility", "hidden");
        for (const [, dot] of dots) dot.classList.remove("active");
        tooltip.hide();
      };
      hit.addEventListener("mousemove", (e) => hover(nearest(e.clientX), e.clientX, e.clientY));
      hit.addEventListener("mouseleave", leave);
      hit.addEventListener("click", (e) => choose(b.epochs[nearest(e.clientX)]));
      const anchor = (i) => {
        const box = svg.getBoundingClientRect();
        return [box.left + (X(b.epochs[i]) / W) * box.width, box.top + (T / H) * box.height];
      };
      svg.addEventListener("keydown", (e) => {
        let i = hovered < 0 ? Math.max(0, b.epochs.indexOf(state.epoch)) : hovered;
        if (e.key === "ArrowLeft") i = Math.max(0, i - 1);
        else if (e.key === "ArrowRight") i = Math.min(n - 1, i + 1);
        else if (e.key === "Enter" || e.key === " ") {
          if (hovered >= 0) choose(b.epochs[hovered]);
          e.preventDefault();
          return;
        } else return;
        e.preventDefault();
        hover(i, ...anchor(i));
      });
      svg.addEventListener("blur", leave);
      return {
        svg,
        mark: (i) => {
          if (i < 0) return picked.setAttribute("visibility", "hidden");
          picked.setAttribute("x1", X(b.epochs[i]));
          picked.setAttribute("x2", X(b.epochs[i]));
          picked.setAttribute("visibility", "visible");
        },
      };
    }

    /** Integer epochs to label: first, multiples of a round step, last (about 10 at most; as the PNG chart). */
    function epochTicks(first, last) {
      const span = last - first;
      if (span <= 0) return [first];
      let stepE = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((v) => span / v <= 9);
      if (stepE === undefined) stepE = Math.pow(10, Math.ceil(Math.log10(span)));
      const inner = [];
      for (let e = first + 1; e < last; e++) if (e % stepE === 0 && e - first >= stepE / 2 && last - e >= stepE / 2) inner.push(e);
      return [first, ...inner, last];
    }
  } catch (err) {
    TAL.fail(err);
  }
})();
