/* tal pages: the one-image view of tal check (TAL.CheckView, on TAL.GtView of gt_view.js): every gt
 * coloured by its status under one setting, its candidate anchor centres per stride, hover a gt for
 * its numbers. A check reads no predictions: there are candidates here, never positives or metrics.
 * Data: views/html/check_page.py check_view() -> {meta, cols}. Used by check.js. */
"use strict";

(function () {
  const h = TAL.h;
  const NO_CANDIDATE = 0;
  const KEYS = [
    ["hover", "a gt: its line, class, size, candidates per stride and status"],
    ["n / p", "next / previous gt with a problem (no candidate, beyond the DFL reach, fewer than topk)"],
    ...TAL.VIEW_KEYS,
    ["1 2 3 …", "show / hide a stride's candidates (finest first)"],
    ["?", "this list"],
  ];

  /** Whether cell (c, r) lies in the run at `base` of a span column (first col, stop col, first row, stop row). */
  function within(span, base, c, r) {
    return c >= span[base] && c < span[base + 1] && r >= span[base + 2] && r < span[base + 3];
  }

  class CheckView extends TAL.GtView {
    index() {
      const levels = this.meta.levels.map(([stride, gh, gw, start]) => ({ stride, h: gh, w: gw, start, stop: start + gh * gw }));
      return { m: this.meta.gts.cells.length, levels };
    }
    layerNames() {
      return ["candidates", "boxes", "tags", "grid"];
    }
    keyList() {
      return KEYS;
    }
    colourList() {
      return this.meta.colours;
    }
    /** A gt's colour is its status's. */
    colourIndex(g) {
      return this.meta.gts.kind[g];
    }
    kindLabel() {
      return "status";
    }
    textColumns() {
      const headers = this.meta.gts.headers;
      return ["class", "box x1,y1,x2,y2", "w x h px", "size", "status"].map((t) => headers.indexOf(t));
    }
    emptyText() {
      return "No gts: a background image (no anchor is a candidate).";
    }
    /** No candidate at any stride: ringed, tagged "!". */
    flagged(g) {
      return this.meta.gts.kind[g] === NO_CANDIDATE;
    }
    rowClass(g) {
      return this.flagged(g) ? "nopos" : null;
    }

    legend() {
      const cols = this.cols, white = "#fff", col = this.colours[3];
      const items = this.meta.reason_kinds.map(([, words], i) => [(g) => { g.fillStyle = this.colours[i]; g.fillRect(3, 3, 12, 12); }, words])
        .filter((_, i) => this.meta.gts.kind.includes(i));
      items.push([(g) => { g.fillStyle = col; g.beginPath(); g.arc(9, 9, 2.5, 0, 7); g.fill(); }, "candidate: an anchor centre inside the gt"]);
      if (cols.in_box) items.push([(g) => { g.fillStyle = col; g.fillRect(5, 8, 8, 2); g.fillRect(8, 5, 2, 8); }, "candidate only through the small-box floor (dotted box)"]);
      if (cols.reach) items.push([(g) => { g.strokeStyle = col; g.lineWidth = 1.5; g.beginPath(); g.arc(9, 9, 3.5, 0, 7); g.stroke(); }, "candidate beyond the DFL reach"]);
      items.push([(g) => { g.strokeStyle = white; g.strokeRect(1.5, 1.5, 15, 15); g.strokeStyle = this.colours[0]; g.lineWidth = 2; g.strokeRect(5, 5, 8, 8); }, "white ring, tag with !: no candidate at any stride"]);
      return h("div", {}, this.legendOf(items),
        h("p", { class: "muted" }, "Candidates only: tal check reads no predictions, so no anchor here is a positive."));
    }

    paintLevel(ctx, li, view) {
      const lvw = this.levelView(li, view);
      const { c0, c1, r0, r1, X, Y, cell } = lvw;
      this.paintGrid(ctx, lvw);
      if (!this.layers.candidates) return;
      const cols = this.cols, L = this.ix.levels.length, span = cols.span;
      const fills = this.batches(), rings = this.batches();
      const rad = Math.max(1, Math.min(3, cell / 9));
      for (let g = 0; g < this.ix.m; g++) {
        const base = (g * L + li) * 4;
        const ca = Math.max(span[base], c0), cb = Math.min(span[base + 1] - 1, c1);
        const ra = Math.max(span[base + 2], r0), rb = Math.min(span[base + 3] - 1, r1);
        if (ca > cb || ra > rb) continue;
        const alpha = 0.9 * this.gtAlpha(g), fill = fills.path(g, alpha), ring = rings.path(g, alpha);
        for (let r = ra; r <= rb; r++) {
          for (let c = ca; c <= cb; c++) {
            const cx = X(c) + cell / 2, cy = Y(r) + cell / 2;
            if (cols.reach && !within(cols.reach, base, c, r)) {
              ring.moveTo(cx + rad + 0.5, cy);
              ring.arc(cx, cy, rad + 0.5, 0, 2 * Math.PI);
            } else {
              this.markCandidate(fill, cx, cy, rad, !cols.in_box || within(cols.in_box, base, c, r));
            }
          }
        }
      }
      fills.flush(ctx, "fill");
      rings.flush(ctx, "stroke", 1.25);
    }

    /* ---- hover: the gt under the pointer -------------------------------------------------------- */

    onHover(e) {
      if (this.drag && this.drag.moved) return;
      const at = this.inputPoint(e);
      if (!at) return;
      const g = this.gtAt(at[0], at[1]);
      this.clearHover();
      if (g < 0) {
        this.tooltip.hide();
        return;
      }
      const c = this.hover.getContext("2d");
      c.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      c.strokeStyle = "#fff";
      c.lineWidth = 1.5;
      this.hoverBoxes(c, [g]);
      this.tooltip.show(this.gtTip(g), e.clientX, e.clientY);
    }

    /** The tooltip of gt g: its status in words, then its row of the gt table. */
    gtTip(g) {
      const gts = this.meta.gts;
      return [h("div", { class: "tip-head", "data-tip-gt": g }, `gt ${g}`, h("span", { class: "muted" }, ` · line ${gts.cells[g][1]} · ${this.gtName(g)}`)),
        h("div", { class: "tip-status" }, gts.title[g]),
        h("table", { class: "tip-table" }, h("tbody", {}, gts.headers.slice(3).map((name, i) =>
          h("tr", {}, h("th", {}, name), h("td", { class: "num" }, gts.cells[g][i + 3])))))];
    }

    showSelection() {
      const g = this.selected, gts = this.meta.gts;
      if (g < 0) {
        this.showNoSelection("Hover a gt for its numbers; click it (or a row of the table) to keep them here. ", "the gts with a problem");
        return;
      }
      TAL.fill(this.selection, this.selectionHead(g), h("p", { class: "title status" }, gts.title[g]), this.selectionTools(g), this.rowTable(g));
    }
  }

  TAL.CheckView = CheckView;
  TAL.checkKeys = KEYS;
})();
