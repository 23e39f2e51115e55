/* tal pages: the one-image view of an assignment (TAL.ImageView, on TAL.GtView of gt_view.js): the
 * anchors by stage, hover an anchor for its numbers, the selection panel with the --gt N table.
 * Data: views/html/assign_page.py image_view() -> {meta, cols}. Used by assign.js and sweep.js. */
"use strict";

(function () {
  const h = TAL.h;
  const PAIR_SELECTED = 1, PAIR_TIED = 2, PAIR_IN_BOX = 4;
  const POS_CONTESTED = 1, POS_HANDED = 2, POS_BEYOND = 4, POS_HAS_BOX = 8, POS_HAS_THIRD = 16;
  const FILL_LO = 0.28, FILL_HI = 0.9, DIM = 0.16;
  const KEYS = [
    ["n / p", "next / previous problem gt (no positives, or anchors lost)"],
    ...TAL.VIEW_KEYS,
    ["1 2 3 …", "show / hide a stride (finest first)"],
    ["?", "this list"],
  ];

  /** Everything derived once from the columns: pair -> gt and anchor, anchor -> pairs, anchor -> positive. */
  function index(meta, cols) {
    const m = meta.gts.cells.length, a = meta.anchors, p = cols.pair_s.length;
    const pairStart = new Int32Array(m + 1);
    for (let g = 0; g < m; g++) pairStart[g + 1] = pairStart[g] + cols.gt_pairs[g];
    const pairGt = new Int32Array(p), pairAnchor = new Int32Array(p);
    for (let g = 0; g < m; g++) {
      let prev = 0;
      for (let k = pairStart[g]; k < pairStart[g + 1]; k++) {
        const v = k === pairStart[g] ? cols.pair_anchor[k] : prev + cols.pair_anchor[k];
        pairGt[k] = g;
        pairAnchor[k] = v;
        prev = v;
      }
    }
    const anchorStart = new Int32Array(a + 1);
    for (let k = 0; k < p; k++) anchorStart[pairAnchor[k] + 1]++;
    for (let i = 0; i < a; i++) anchorStart[i + 1] += anchorStart[i];
    const fillAt = anchorStart.slice(0, a);
    const anchorPairs = new Int32Array(p);
    for (let k = 0; k < p; k++) anchorPairs[fillAt[pairAnchor[k]]++] = k;
    const posOf = new Int32Array(a).fill(-1);
    let maxTs = 0;
    for (let q = 0; q < cols.pos_anchor.length; q++) {
      posOf[cols.pos_anchor[q]] = q;
      maxTs = Math.max(maxTs, cols.pos_ts[q]);
    }
    const contested = new Uint8Array(a);
    for (const an of cols.contested) contested[an] = 1;
    const levels = meta.levels.map(([stride, gh, gw, start]) => ({ stride, h: gh, w: gw, start, stop: start + gh * gw }));
    const levelOf = (an) => levels.findIndex((lv) => an >= lv.start && an < lv.stop);
    const col = new Int32Array(a), row = new Int32Array(a); // each anchor's cell in its level
    for (const lv of levels) {
      for (let i = 0; i < lv.stop - lv.start; i++) {
        row[lv.start + i] = Math.floor(i / lv.w);
        col[lv.start + i] = i - row[lv.start + i] * lv.w;
      }
    }
    // Per level: its pairs and positives (drawing loops stay short).
    const byLevel = levels.map(() => ({ pairs: [], pos: [], contested: [] }));
    for (let k = 0; k < p; k++) byLevel[levelOf(pairAnchor[k])].pairs.push(k);
    for (let q = 0; q < cols.pos_anchor.length; q++) byLevel[levelOf(cols.pos_anchor[q])].pos.push(q);
    for (const an of cols.contested) byLevel[levelOf(an)].contested.push(an);
    return { m, a, p, pairStart, pairGt, pairAnchor, anchorStart, anchorPairs, posOf, maxTs, contested, levels, levelOf, byLevel, col, row };
  }

  class ImageView extends TAL.GtView {
    index() {
      return index(this.meta, this.cols);
    }
    layerNames() {
      return ["candidates", "selected", "positives", "contested", "handed", "boxes", "tags", "grid"];
    }
    keyList() {
      return KEYS;
    }
    textColumns() {
      return [1, 2, 10, 12];
    }
    emptyText() {
      return "No gts: a background image; every anchor is background.";
    }
    /** No positive: ringed, tagged "!". */
    flagged(g) {
      return !this.meta.gts.positives[g];
    }
    related(g) {
      return [...this.meta.gts.lost_to[g], ...this.meta.gts.taken_from[g]];
    }
    rowClass(g) {
      const gts = this.meta.gts;
      return gts.positives[g] ? (gts.lost_to[g].length ? "lost" : null) : "nopos";
    }

    legend() {
      const col = this.colours[0];
      const mark = (kind) => (g) => {
        g.strokeStyle = col;
        g.fillStyle = col;
        if (kind === "dot") { g.beginPath(); g.arc(9, 9, 2.5, 0, 7); g.fill(); }
        if (kind === "plus") { g.fillRect(5, 8, 8, 2); g.fillRect(8, 5, 2, 8); }
        if (kind === "hollow") { g.lineWidth = 2; g.strokeRect(4, 4, 10, 10); }
        if (kind === "fill") { g.globalAlpha = 0.8; g.fillRect(1, 1, 16, 16); g.globalAlpha = 1; g.strokeRect(1.5, 1.5, 15, 15); }
        if (kind === "cross") { g.globalAlpha = 0.8; g.fillRect(1, 1, 16, 16); g.globalAlpha = 1; cross(g, 0, 0, 18); }
        if (kind === "handed") { g.globalAlpha = 0.8; g.fillRect(1, 1, 16, 16); g.globalAlpha = 1; triangle(g, 1, 1, 8); }
        if (kind === "ring") { g.strokeStyle = "#fff"; g.strokeRect(1.5, 1.5, 15, 15); g.strokeStyle = col; g.lineWidth = 2; g.strokeRect(5, 5, 8, 8); }
      };
      return this.legendOf([["dot", "candidate (centre inside the gt)"], ["plus", "candidate only via the small-box floor"],
        ["hollow", "selected by top-k, not a positive"], ["fill", "positive, opacity = target score"],
        ["cross", "contested: chosen by several gts"], ["handed", "handed to a gt that did not choose it"],
        ["ring", "white ring, tag with !: gt without positives"]].map(([k, text]) => [mark(k), text]));
    }

    paintLevel(ctx, li, view) {
      const ix = this.ix, cols = this.cols, L = this.layers;
      const lvw = this.levelView(li, view);
      const { c0, c1, r0, r1, X, Y, cell } = lvw;
      this.paintGrid(ctx, lvw);
      const b = this.batches();
      const bylv = ix.byLevel[li];
      const colOf = ix.col, rowOf = ix.row;
      const visible = (an) => colOf[an] >= c0 && colOf[an] <= c1 && rowOf[an] >= r0 && rowOf[an] <= r1;
      if (L.positives) { // fills, opacity from the target score; then their edges
        for (const q of bylv.pos) {
          const an = cols.pos_anchor[q];
          if (!visible(an)) continue;
          const g = cols.pos_gt[q];
          const a = (FILL_LO + (FILL_HI - FILL_LO) * (ix.maxTs ? cols.pos_ts[q] / ix.maxTs : 0)) * this.gtAlpha(g);
          b.path(g, a).rect(X(colOf[an]), Y(rowOf[an]), cell, cell);
        }
        b.flush(ctx, "fill");
        if (cell >= 5) {
          for (const q of bylv.pos) {
            const an = cols.pos_anchor[q];
            if (visible(an)) b.path(cols.pos_gt[q], this.gtAlpha(cols.pos_gt[q])).rect(X(colOf[an]) + 0.5, Y(rowOf[an]) + 0.5, cell - 1, cell - 1);
          }
          b.flush(ctx, "stroke", 1);
        }
      }
      // Pairs: hollow squares (selected, not this gt's positive), dots and pluses (the other candidates).
      const rad = Math.max(1, Math.min(3, cell / 9));
      const inset = Math.max(1, Math.min(3, cell / 8));
      const dots = [];
      for (const p of bylv.pairs) {
        const an = ix.pairAnchor[p];
        if (!visible(an)) continue;
        const g = ix.pairGt[p], f = cols.pair_flags[p];
        if (ix.posOf[an] >= 0 && cols.pos_gt[ix.posOf[an]] === g) continue;
        if (f & PAIR_SELECTED) {
          if (L.selected) b.path(g, this.gtAlpha(g)).rect(X(colOf[an]) + inset, Y(rowOf[an]) + inset, cell - 2 * inset, cell - 2 * inset);
        } else if (L.candidates) dots.push(p);
      }
      b.flush(ctx, "stroke", cell >= 16 ? 2 : 1);
      for (const p of dots) {
        const an = ix.pairAnchor[p], g = ix.pairGt[p];
        const cx = X(colOf[an]) + cell / 2, cy = Y(rowOf[an]) + cell / 2;
        this.markCandidate(b.path(g, 0.85 * this.gtAlpha(g)), cx, cy, rad, cols.pair_flags[p] & PAIR_IN_BOX);
      }
      b.flush(ctx, "fill");
      // Contested crosses and handed triangles: white with a dark rim, so they read on any fill.
      const involved = (an) => {
        if (this.selected < 0) return true;
        for (let j = ix.anchorStart[an]; j < ix.anchorStart[an + 1]; j++) if (ix.pairGt[ix.anchorPairs[j]] === this.selected) return true;
        return ix.posOf[an] >= 0 && cols.pos_gt[ix.posOf[an]] === this.selected;
      };
      if (L.contested && cell >= 4) {
        const paths = [new Path2D(), new Path2D()]; // involving the selection (or all), the rest
        for (const an of bylv.contested) {
          if (visible(an)) crossPath(paths[involved(an) ? 0 : 1], X(colOf[an]), Y(rowOf[an]), cell);
        }
        paths.forEach((p, i) => strokeTwice(ctx, p, i ? DIM : 1));
      }
      if (L.handed && cell >= 4) {
        const t = Math.max(3, cell / 3);
        const paths = [new Path2D(), new Path2D()];
        for (const q of bylv.pos) {
          const an = cols.pos_anchor[q];
          if (!(cols.pos_flags[q] & POS_HANDED) || !visible(an)) continue;
          const x = X(colOf[an]) + 1, y = Y(rowOf[an]) + 1, p = paths[this.gtAlpha(cols.pos_gt[q]) === 1 ? 0 : 1];
          p.moveTo(x, y); p.lineTo(x + t, y); p.lineTo(x, y + t); p.closePath();
        }
        paths.forEach((p, i) => {
          ctx.globalAlpha = i ? DIM : 1;
          ctx.fillStyle = "#fff";
          ctx.fill(p);
          ctx.strokeStyle = "#000";
          ctx.lineWidth = 1;
          ctx.stroke(p);
        });
        ctx.globalAlpha = 1;
      }
    }

    /* ---- hover: the anchor under the pointer --------------------------------------------------- */

    onHover(e) {
      if (this.drag && this.drag.moved) return;
      const at = this.inputPoint(e);
      if (!at) return;
      const hit = this.anchorAt(at[0], at[1]);
      if (!hit) {
        this.tooltip.hide();
        return;
      }
      this.paintHover(hit);
      this.tooltip.show(this.anchorTip(hit.anchor), e.clientX, e.clientY);
      this.hovered = hit.anchor;
    }

    paintHover(hit) {
      const ix = this.ix, c = this.hoverCell(hit.level, hit.col, hit.row), gts = [];
      for (let j = ix.anchorStart[hit.anchor]; j < ix.anchorStart[hit.anchor + 1]; j++) gts.push(ix.pairGt[ix.anchorPairs[j]]);
      this.hoverBoxes(c, gts);
    }

    /** Where anchor `an` sits: [stride, col, row]. */
    cell(an) {
      const lv = this.ix.levels[this.ix.levelOf(an)];
      const loc = an - lv.start, r = Math.floor(loc / lv.w);
      return [lv.stride, loc - r * lv.w, r];
    }

    /** Gts that selected anchor `an`, ascending (the --gt N table's "choosers"). */
    choosers(an) {
      const ix = this.ix, out = [];
      for (let j = ix.anchorStart[an]; j < ix.anchorStart[an + 1]; j++) {
        const p = ix.anchorPairs[j];
        if (this.cols.pair_flags[p] & PAIR_SELECTED) out.push(ix.pairGt[p]);
      }
      return out.sort((a, b) => a - b);
    }

    holder(an) {
      const q = this.ix.posOf[an];
      return q >= 0 ? this.cols.pos_gt[q] : -1;
    }

    terms(q) {
      const cols = this.cols, d = this.meta.digits.term, f = cols.pos_flags[q];
      return [f & POS_HAS_BOX ? TAL.fmtFixed(cols.pos_box[q], d) : "-", f & POS_HAS_THIRD ? TAL.fmtFixed(cols.pos_third[q], d) : "-"];
    }

    anchorTip(an) {
      const ix = this.ix, cols = this.cols, dg = this.meta.digits, third = this.meta.third;
      const [stride, c, r] = this.cell(an);
      const q = ix.posOf[an];
      const holder = this.holder(an);
      const lines = [h("div", { class: "tip-head" }, `anchor ${an}`, h("span", { class: "muted" }, ` · stride ${stride} · cell ${c},${r}`))];
      if (q >= 0) {
        const [box, dfl] = this.terms(q);
        const f = cols.pos_flags[q];
        lines.push(h("div", {}, `positive of gt ${holder} (${this.gtName(holder)}): target score ${TAL.fmtFixed(cols.pos_ts[q], dg.target)}, ` +
          `box term ${box}, ${third} term ${dfl}` + (f & POS_BEYOND ? ", beyond the DFL reach" : "")));
      } else {
        lines.push(h("div", { class: "muted" }, "background: no gt holds it"));
      }
      const ch = this.choosers(an);
      if (ix.contested[an]) lines.push(h("div", {}, `contested: chosen by gts ${ch.join(", ")}`));
      if (q >= 0 && cols.pos_flags[q] & POS_HANDED) lines.push(h("div", {}, `handed: gt ${holder} did not choose it`));
      const rows = [];
      for (let j = ix.anchorStart[an]; j < ix.anchorStart[an + 1]; j++) {
        const p = ix.anchorPairs[j], g = ix.pairGt[p], f = cols.pair_flags[p];
        const state = [];
        state.push(f & PAIR_SELECTED ? "selected" + (f & PAIR_TIED ? " (tie)" : "") : "not selected");
        if (!(f & PAIR_IN_BOX)) state.push("floor");
        state.push(holder === g ? "positive" : holder >= 0 ? `→ gt ${holder}` : "not positive");
        if (ix.contested[an] && f & PAIR_SELECTED) state.push("contested");
        if (holder === g && cols.pos_flags[q] & POS_HANDED) state.push("handed");
        const [box, dfl] = holder === g ? this.terms(q) : ["", ""];
        rows.push([String(g), TAL.fmtFixed(cols.pair_s[p], dg.s), TAL.fmtFixed(cols.pair_u[p], dg.u),
          TAL.fmtG3(cols.pair_t_mant[p], cols.pair_t_exp[p]), String(cols.pair_rank[p]), state.join(", "),
          holder === g ? TAL.fmtFixed(cols.pos_ts[q], dg.target) : "", box, dfl]);
      }
      if (q >= 0 && !rows.some((row) => row[0] === String(holder))) { // handed from outside its box
        const [box, dfl] = this.terms(q);
        rows.push([String(holder), TAL.fmtFixed(cols.pos_s[q], dg.s), "0.0000", "0", "-", "positive, handed (not inside)",
          TAL.fmtFixed(cols.pos_ts[q], dg.target), box, dfl]);
      }
      if (rows.length) {
        lines.push(h("table", { class: "tip-table" },
          h("thead", {}, h("tr", {}, ["gt", "s", "IoU u", "metric t", "rank", "state", "target", "box", third].map((t) => h("th", {}, t)))),
          h("tbody", {}, rows.map((row) => h("tr", { "data-tip-gt": row[0] }, row.map((v, i) => h("td", { class: i === 5 ? null : "num" }, v)))))));
      } else {
        lines.push(h("div", { class: "muted" }, "a candidate of no gt"));
      }
      return lines;
    }

    /** Rows of the --gt N table: this gt's pairs and any positive handed to it from outside, best rank first. */
    candidateRows(g) {
      const ix = this.ix, cols = this.cols, rows = [];
      const mine = new Set();
      for (let p = ix.pairStart[g]; p < ix.pairStart[g + 1]; p++) {
        rows.push({ pair: p, anchor: ix.pairAnchor[p], rank: cols.pair_rank[p] });
        mine.add(ix.pairAnchor[p]);
      }
      for (let q = 0; q < cols.pos_gt.length; q++) {
        if (cols.pos_gt[q] === g && !mine.has(cols.pos_anchor[q])) rows.push({ pair: -1, pos: q, anchor: cols.pos_anchor[q], rank: null });
      }
      rows.sort((a, b) => (a.rank === null) - (b.rank === null) || (a.rank || 0) - (b.rank || 0) || a.anchor - b.anchor);
      return rows;
    }

    candidateCells(g, row) {
      const cols = this.cols, dg = this.meta.digits;
      const an = row.anchor, [stride, c, r] = this.cell(an), holder = this.holder(an), q = this.ix.posOf[an];
      const positive = holder === g;
      const [box, dfl] = positive ? this.terms(q) : ["", ""];
      const ts = positive ? TAL.fmtFixed(cols.pos_ts[q], dg.target) : "";
      if (row.pair < 0) {
        return [an, stride, `${c},${r}`, TAL.fmtFixed(cols.pos_s[q], dg.s), "0.0000", "0", "-", "no (not inside)", "yes", "", ts, box, dfl];
      }
      const p = row.pair, f = cols.pair_flags[p];
      let sel = f & PAIR_SELECTED ? "yes" : "no";
      if (f & PAIR_TIED) sel += " (tie)";
      if (!(f & PAIR_IN_BOX)) sel += " (floor)";
      const others = this.choosers(an).filter((x) => x !== g);
      return [an, stride, `${c},${r}`, TAL.fmtFixed(cols.pair_s[p], dg.s), TAL.fmtFixed(cols.pair_u[p], dg.u),
        TAL.fmtG3(cols.pair_t_mant[p], cols.pair_t_exp[p]), cols.pair_rank[p], sel,
        positive ? "yes" : holder >= 0 ? `→ gt ${holder}` : "no", others.length ? `also chosen by ${others.join(",")}` : "", ts, box, dfl];
    }

    showSelection() {
      const g = this.selected, gts = this.meta.gts;
      if (g < 0) {
        this.showNoSelection("Click a gt box on the image or a row of the table. ", "the problem gts");
        return;
      }
      const jump = (list) => list.length ? list.map((j) => h("button", { type: "button", class: "link", "data-jump": j, onclick: () => this.select(j) }, `gt ${j}`)) : [h("span", { class: "muted" }, "none")];
      const rows = this.candidateRows(g);
      const headers = ["anchor", "stride", "cell col,row", "s", "IoU u", "metric t", "rank", "selected", "positive", "contested", "target score", "box term", `${this.meta.third} term`];
      const limit = 200;
      const body = h("tbody", {});
      const fill = (n) => body.replaceChildren(...rows.slice(0, n).map((row) => {
        const cells = this.candidateCells(g, row);
        return h("tr", { class: cells[8] === "yes" ? "pos" : cells[7].startsWith("yes") ? "sel" : null, "data-anchor": row.anchor },
          cells.map((v, i) => h("td", { class: i >= 7 && i <= 9 ? null : "num" }, String(v))));
      }));
      fill(limit);
      const more = rows.length > limit
        ? h("button", { type: "button", onclick: (e) => { fill(rows.length); e.target.remove(); } }, `show all ${rows.length} rows`)
        : null;
      TAL.fill(this.selection,
        this.selectionHead(g),
        h("p", { class: "title" }, gts.title[g]),
        this.selectionTools(g),
        this.rowTable(g),
        h("p", {}, "lost anchors to: ", jump(gts.lost_to[g])),
        h("p", {}, "took anchors from: ", jump(gts.taken_from[g])),
        h("div", { class: "cand-box" }, h("table", { class: "grid cand" }, h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))), body)),
        more);
    }
  }

  /* ---- marks ------------------------------------------------------------------------------------ */

  function crossPath(p, x, y, cell) {
    const e = Math.max(1.5, cell / 5);
    p.moveTo(x + e, y + e); p.lineTo(x + cell - e, y + cell - e);
    p.moveTo(x + e, y + cell - e); p.lineTo(x + cell - e, y + e);
  }

  function strokeTwice(ctx, p, alpha) {
    ctx.globalAlpha = alpha;
    for (const [colour, w] of [["#000", 3], ["#fff", 1.5]]) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = w;
      ctx.stroke(p);
    }
    ctx.globalAlpha = 1;
  }

  function cross(ctx, x, y, cell) {
    const e = Math.max(1.5, cell / 5);
    for (const [colour, w] of [["#000", 3], ["#fff", 1.5]]) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = w;
      ctx.beginPath();
      ctx.moveTo(x + e, y + e); ctx.lineTo(x + cell - e, y + cell - e);
      ctx.moveTo(x + e, y + cell - e); ctx.lineTo(x + cell - e, y + e);
      ctx.stroke();
    }
  }

  function triangle(ctx, x, y, t) {
    ctx.beginPath();
    ctx.moveTo(x, y); ctx.lineTo(x + t, y); ctx.lineTo(x, y + t); ctx.closePath();
    ctx.fillStyle = "#fff";
    ctx.fill();
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    ctx.stroke();
  }

  TAL.ImageView = ImageView;
  TAL.imageKeys = KEYS;
})();
