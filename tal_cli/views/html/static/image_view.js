/* tal pages: the one-image view (TAL.ImageView): the letterboxed network input on a canvas with
 * the anchors by stage, hover an anchor, click a gt, the gt table with filters, the selection panel.
 * Data: views/html/assign_page.py image_view() -> {meta, cols}. Used by assign.js and sweep.js. */
"use strict";

(function () {
  const h = TAL.h;
  const PAIR_SELECTED = 1, PAIR_TIED = 2, PAIR_IN_BOX = 4;
  const POS_CONTESTED = 1, POS_HANDED = 2, POS_BEYOND = 4, POS_HAS_BOX = 8, POS_HAS_THIRD = 16;
  const FILL_LO = 0.28, FILL_HI = 0.9, DIM = 0.16;
  const KEYS = [
    ["n / p", "next / previous problem gt (no positives, or anchors lost)"],
    ["click", "a gt box (its border, or the smallest box under the pointer) or a table row selects it"],
    ["wheel / drag", "zoom / pan the image"],
    ["+ / -", "zoom in / out"],
    ["Esc", "reset zoom and pan (and close this list)"],
    ["z", "zoom to the selected gt"],
    ["c", "clear the selection"],
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

  class ImageView {
    /**
     * root: element to fill. data: {meta, cols, picture (drawable: HTMLImageElement or ImageBitmap), names,
     * palette}. options: {onSelect(g), fitView (size the image to the screen below the view's own top)}.
     */
    constructor(root, data, options) {
      this.root = root;
      this.meta = data.meta;
      this.cols = data.cols;
      this.picture = data.picture;
      this.names = data.meta.names || {};
      this.palette = data.meta.palette;
      this.options = options || {};
      this.ix = index(this.meta, this.cols);
      this.W = this.meta.imgsz[1];
      this.H = this.meta.imgsz[0];
      this.zoom = 1;
      this.ox = 0;
      this.oy = 0;
      this.selected = -1;
      this.levelOn = this.ix.levels.map(() => true);
      this.layers = { candidates: true, selected: true, positives: true, contested: true, handed: true, boxes: true, tags: true, grid: true };
      this.filters = { kind: new Set(), size: new Set(), cls: new Set() };
      this.pass = new Uint8Array(this.ix.m).fill(1);
      this.tooltip = new TAL.Tooltip();
      this.help = new TAL.KeyHelp(KEYS);
      this.listeners = [];
      this.build();
      this.resize();
      this.draw();
    }

    /* ---- layout ---------------------------------------------------------------------------- */

    build() {
      const meta = this.meta, ix = this.ix;
      this.canvas = h("canvas", { id: "view", role: "img", tabindex: "0",
        "aria-label": `network input ${this.W}x${this.H} with ${ix.m} gts and their anchors; hover an anchor, click a gt` });
      this.hover = h("canvas", { class: "hover-layer", "aria-hidden": "true" });
      this.stage = h("div", { class: "stage" }, this.canvas, this.hover);
      const strideButtons = ix.levels.map((lv, i) =>
        TAL.toggle(`stride ${lv.stride}`, true, (on) => { this.levelOn[i] = on; this.draw(); }, { "data-stride": lv.stride }));
      this.strideButtons = strideButtons;
      const layerButtons = Object.keys(this.layers).map((name) =>
        TAL.toggle(name, true, (on) => { this.layers[name] = on; this.draw(); }, { "data-layer": name }));
      const tools = h("div", { class: "toolbar", role: "toolbar", "aria-label": "view" },
        h("span", { class: "group" }, strideButtons),
        h("span", { class: "group" }, layerButtons),
        h("span", { class: "group" },
          h("button", { type: "button", onclick: () => this.resetZoom(), title: "Esc" }, "reset zoom"),
          h("button", { type: "button", onclick: () => this.help.toggle(), title: "?" }, "keys ?")));
      this.selection = h("aside", { id: "selection", class: "side", "aria-live": "polite" });
      this.showSelection();
      const left = h("div", { class: "left" }, tools, this.stage, this.legend());
      const summary = h("div", { class: "summary" }, meta.summary.map((line, i) => h("p", { class: i === 0 ? "strong" : null }, line)));
      this.table = this.buildTable();
      this.count = h("p", { class: "muted count" });
      this.root.replaceChildren(
        summary,
        h("div", { class: "main" }, left, this.selection),
        h("h2", {}, "Gts"),
        ...(this.ix.m ? [this.chips(), this.count, this.table.el] : [h("p", { class: "muted" }, "No gts: a background image; every anchor is background.")]));
      this.applyFilters();
      this.listen(this.canvas, "mousemove", (e) => this.onHover(e));
      this.listen(this.canvas, "mouseleave", () => { this.tooltip.hide(); this.clearHover(); });
      this.listen(this.canvas, "wheel", (e) => this.onWheel(e), { passive: false });
      this.listen(this.canvas, "pointerdown", (e) => this.onDown(e));
      this.listen(window, "pointermove", (e) => this.onDrag(e));
      this.listen(window, "pointerup", (e) => this.onUp(e));
      this.listen(window, "resize", () => { this.resize(); this.draw(); });
      this.listen(document, "keydown", (e) => this.onKey(e));
    }

    listen(target, type, fn, opts) {
      target.addEventListener(type, fn, opts);
      this.listeners.push([target, type, fn, opts]);
    }

    destroy() {
      for (const [t, type, fn, opts] of this.listeners) t.removeEventListener(type, fn, opts);
      this.tooltip.hide();
      this.help.remove();
      this.root.replaceChildren();
    }

    legend() {
      const sw = (kind) => {
        const c = h("canvas", { width: 18, height: 18, class: "swatch", "aria-hidden": "true" });
        const g = c.getContext("2d");
        g.fillStyle = "#444";
        g.fillRect(0, 0, 18, 18);
        const col = this.palette[0];
        g.strokeStyle = col;
        g.fillStyle = col;
        if (kind === "dot") { g.beginPath(); g.arc(9, 9, 2.5, 0, 7); g.fill(); }
        if (kind === "plus") { g.fillRect(5, 8, 8, 2); g.fillRect(8, 5, 2, 8); }
        if (kind === "hollow") { g.lineWidth = 2; g.strokeRect(4, 4, 10, 10); }
        if (kind === "fill") { g.globalAlpha = 0.8; g.fillRect(1, 1, 16, 16); g.globalAlpha = 1; g.strokeRect(1.5, 1.5, 15, 15); }
        if (kind === "cross") { g.globalAlpha = 0.8; g.fillRect(1, 1, 16, 16); g.globalAlpha = 1; cross(g, 0, 0, 18); }
        if (kind === "handed") { g.globalAlpha = 0.8; g.fillRect(1, 1, 16, 16); g.globalAlpha = 1; triangle(g, 1, 1, 8); }
        if (kind === "ring") { g.strokeStyle = "#fff"; g.strokeRect(1.5, 1.5, 15, 15); g.strokeStyle = col; g.lineWidth = 2; g.strokeRect(5, 5, 8, 8); }
        return c;
      };
      const items = [["dot", "candidate (centre inside the gt)"], ["plus", "candidate only via the small-box floor"],
        ["hollow", "selected by top-k, not a positive"], ["fill", "positive, opacity = target score"],
        ["cross", "contested: chosen by several gts"], ["handed", "handed to a gt that did not choose it"],
        ["ring", "white ring, tag with !: gt without positives"]];
      return h("ul", { class: "legend" }, items.map(([k, text]) => h("li", {}, sw(k), text)));
    }

    resize() {
      const avail = Math.max(240, this.stage.parentElement.clientWidth || 640);
      // Fit the first screen (a page of one image), or the screen from the view's top (opened in a sweep page).
      const top = this.options.fitView ? this.stage.getBoundingClientRect().top - this.root.getBoundingClientRect().top
        : this.stage.getBoundingClientRect().top + window.scrollY;
      const maxH = Math.max(360, Math.min(window.innerHeight - Math.min(top, window.innerHeight / 2) - 60, 1100));
      this.scale = Math.min(avail / this.W, maxH / this.H);
      const cw = Math.round(this.W * this.scale), ch = Math.round(this.H * this.scale);
      this.scale = cw / this.W;
      const dpr = window.devicePixelRatio || 1;
      for (const c of [this.canvas, this.hover]) {
        c.style.width = cw + "px";
        c.style.height = ch + "px";
        c.width = Math.round(cw * dpr);
        c.height = Math.round(ch * dpr);
      }
      this.stage.style.width = cw + "px";
      this.stage.style.height = ch + "px";
      this.cw = cw;
      this.ch = ch;
      this.dpr = dpr;
    }

    /* ---- coordinates --------------------------------------------------------------------------- */

    get k() {
      return this.scale * this.zoom;
    }
    toInput(e) {
      const r = this.canvas.getBoundingClientRect();
      return [(e.clientX - r.left) / this.k + this.ox, (e.clientY - r.top) / this.k + this.oy];
    }
    clampPan() {
      this.ox = Math.min(Math.max(0, this.ox), this.W - this.W / this.zoom);
      this.oy = Math.min(Math.max(0, this.oy), this.H - this.H / this.zoom);
    }
    zoomAt(factor, x, y) {
      const z = Math.min(64, Math.max(1, this.zoom * factor));
      const k0 = this.k;
      const sx = (x - this.ox) * k0, sy = (y - this.oy) * k0;
      this.zoom = z;
      this.ox = x - sx / this.k;
      this.oy = y - sy / this.k;
      this.clampPan();
      this.draw(true);
    }
    /** Zoom so that gt g fills about a third of the view (at least 4x its size in cells of the finest stride). */
    zoomTo(g) {
      if (g < 0) return;
      const [x1, y1, x2, y2] = this.meta.gts.box[g];
      const side = Math.max(x2 - x1, y2 - y1, 4 * this.ix.levels[0].stride) * 3;
      this.zoom = Math.min(64, Math.max(1, Math.min(this.W, this.H) / side));
      this.ox = (x1 + x2) / 2 - this.W / this.zoom / 2;
      this.oy = (y1 + y2) / 2 - this.H / this.zoom / 2;
      this.clampPan();
      this.draw();
    }

    resetZoom() {
      this.zoom = 1;
      this.ox = this.oy = 0;
      this.draw();
    }

    /* ---- drawing ------------------------------------------------------------------------------ */

    gtAlpha(g) {
      if (this.selected >= 0) return g === this.selected ? 1 : DIM;
      return this.pass[g] ? 1 : DIM;
    }

    /** Repaint on the next frame. `fast` (wheel, drag): move the last full frame now and paint
     * it afresh once the pointer rests, so zoom and pan stay smooth on crowded images. */
    draw(fast) {
      clearTimeout(this.settle);
      if (fast && this.snapshot) {
        this.settle = setTimeout(() => this.draw(), 140);
        if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.paintFast(); });
        return;
      }
      if (this.frame) cancelAnimationFrame(this.frame);
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.paint();
      });
    }

    paintFast() {
      const ctx = this.canvas.getContext("2d"), snap = this.snapshot, k = this.k;
      ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      ctx.fillStyle = "#111";
      ctx.fillRect(0, 0, this.cw, this.ch);
      ctx.drawImage(this.backdrop(), -this.ox * k, -this.oy * k, this.W * k, this.H * k);
      const f = k / snap.k;
      ctx.drawImage(snap.canvas, (snap.ox - this.ox) * k, (snap.oy - this.oy) * k, this.cw * f, this.ch * f);
      this.clearHover();
    }

    /** The photo dimmed and desaturated once, at its own resolution (drawing it is then a plain copy). */
    backdrop() {
      if (!this.dimmed) {
        const c = document.createElement("canvas");
        c.width = this.W;
        c.height = this.H;
        const g = c.getContext("2d");
        g.filter = "grayscale(55%) brightness(58%)";
        g.drawImage(this.picture, 0, 0, this.W, this.H);
        this.dimmed = c;
      }
      return this.dimmed;
    }

    paint() {
      const ctx = this.canvas.getContext("2d");
      const { dpr, cw, ch } = this;
      const k = this.k, ox = this.ox, oy = this.oy;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.fillStyle = "#111";
      ctx.fillRect(0, 0, cw, ch);
      ctx.imageSmoothingEnabled = this.zoom < 4;
      ctx.drawImage(this.backdrop(), -ox * k, -oy * k, this.W * k, this.H * k);
      const view = [ox, oy, ox + cw / k, oy + ch / k];
      const order = this.ix.levels.map((_, i) => i).reverse(); // coarse first, fine on top
      for (const li of order) if (this.levelOn[li]) this.paintLevel(ctx, li, view);
      if (this.layers.boxes) this.paintBoxes(ctx, view);
      this.clearHover();
      if (!this.snapshot) this.snapshot = { canvas: document.createElement("canvas") };
      const snap = this.snapshot;
      snap.canvas.width = this.canvas.width;
      snap.canvas.height = this.canvas.height;
      snap.canvas.getContext("2d").drawImage(this.canvas, 0, 0);
      Object.assign(snap, { k, ox, oy });
    }

    /** Paths grouped by (palette colour, alpha): one fill or stroke call per group. */
    batches() {
      const map = new Map();
      const palette = this.palette, n = palette.length;
      return {
        path: (g, alpha) => {
          const key = (g % n) * 64 + Math.round(alpha * 40);
          let p = map.get(key);
          if (!p) map.set(key, (p = new Path2D()));
          return p;
        },
        flush: (ctx, mode, width) => {
          for (const [key, p] of map) {
            ctx.globalAlpha = (key % 64) / 40;
            const colour = palette[Math.floor(key / 64)];
            if (mode === "fill") { ctx.fillStyle = colour; ctx.fill(p); } else { ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.stroke(p); }
          }
          map.clear();
          ctx.globalAlpha = 1;
        },
      };
    }

    paintLevel(ctx, li, view) {
      const ix = this.ix, cols = this.cols, lv = ix.levels[li], L = this.layers;
      const k = this.k, ox = this.ox, oy = this.oy, s = lv.stride, cell = s * k;
      const c0 = Math.max(0, Math.floor(view[0] / s)), c1 = Math.min(lv.w - 1, Math.floor(view[2] / s));
      const r0 = Math.max(0, Math.floor(view[1] / s)), r1 = Math.min(lv.h - 1, Math.floor(view[3] / s));
      const X = (c) => (c * s - ox) * k, Y = (r) => (r * s - oy) * k;
      if (L.grid && cell >= 7) {
        ctx.strokeStyle = "rgba(255,255,255,0.09)";
        ctx.lineWidth = 1;
        ctx.beginPath();
        for (let c = c0; c <= c1 + 1; c++) { const x = Math.round(X(c)) + 0.5; ctx.moveTo(x, Y(r0)); ctx.lineTo(x, Y(r1 + 1)); }
        for (let r = r0; r <= r1 + 1; r++) { const y = Math.round(Y(r)) + 0.5; ctx.moveTo(X(c0), y); ctx.lineTo(X(c1 + 1), y); }
        ctx.stroke();
      }
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
        const pp = b.path(g, 0.85 * this.gtAlpha(g));
        if (cols.pair_flags[p] & PAIR_IN_BOX) {
          pp.moveTo(cx + rad, cy);
          pp.arc(cx, cy, rad, 0, 2 * Math.PI);
        } else {
          const e = rad + 1;
          pp.rect(cx - e, cy - 0.6, 2 * e, 1.2);
          pp.rect(cx - 0.6, cy - e, 1.2, 2 * e);
        }
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

    paintBoxes(ctx, view) {
      const gts = this.meta.gts, k = this.k, ox = this.ox, oy = this.oy, m = this.ix.m;
      const rect = (bx) => [(bx[0] - ox) * k, (bx[1] - oy) * k, (bx[2] - bx[0]) * k, (bx[3] - bx[1]) * k];
      const shown = [];
      for (let g = 0; g < m; g++) {
        const bx = gts.box[g];
        if (g !== this.selected && bx[2] >= view[0] && bx[0] <= view[2] && bx[3] >= view[1] && bx[1] <= view[3]) shown.push(g);
      }
      // Dotted: the box the small-box floor widened; dark rims; white rings (no positive); then the colours.
      const b = this.batches();
      for (const g of shown) {
        const cb = gts.cand_box[g];
        if (cb) b.path(g, this.gtAlpha(g)).rect(...rect(cb));
      }
      ctx.setLineDash([3, 3]);
      b.flush(ctx, "stroke", 1);
      ctx.setLineDash([]);
      ctx.lineJoin = "miter";
      const width = (r) => (Math.min(r[2], r[3]) >= 12 ? 2 : 1.25);
      for (const alpha of [DIM, 1]) {
        const rims = [new Path2D(), new Path2D()], rings = new Path2D();
        let any = false;
        for (const g of shown) {
          if (this.gtAlpha(g) !== alpha) continue;
          any = true;
          const r = rect(gts.box[g]), w = width(r);
          rims[w > 1.5 ? 1 : 0].rect(r[0], r[1], r[2], r[3]);
          if (!gts.positives[g]) rings.rect(r[0] - w - 2, r[1] - w - 2, r[2] + 2 * w + 4, r[3] + 2 * w + 4);
        }
        if (!any) continue;
        ctx.globalAlpha = alpha;
        ctx.strokeStyle = "rgba(0,0,0,0.6)";
        ctx.lineWidth = 3.25;
        ctx.stroke(rims[0]);
        ctx.lineWidth = 4;
        ctx.stroke(rims[1]);
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 1;
        ctx.stroke(rings);
      }
      ctx.globalAlpha = 1;
      for (const thick of [false, true]) {
        for (const g of shown) {
          const r = rect(gts.box[g]);
          if ((width(r) > 1.5) === thick) b.path(g, this.gtAlpha(g)).rect(r[0], r[1], r[2], r[3]);
        }
        b.flush(ctx, "stroke", thick ? 2 : 1.25);
      }
      if (this.selected >= 0) {
        const r = rect(gts.box[this.selected]);
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 5;
        ctx.strokeRect(r[0] - 1, r[1] - 1, r[2] + 2, r[3] + 2);
        ctx.strokeStyle = "rgba(0,0,0,0.6)";
        ctx.lineWidth = 4.5;
        ctx.strokeRect(r[0], r[1], r[2], r[3]);
        ctx.strokeStyle = this.palette[this.selected % this.palette.length];
        ctx.lineWidth = 2.5;
        ctx.strokeRect(r[0], r[1], r[2], r[3]);
        if (!gts.positives[this.selected]) {
          ctx.strokeStyle = "#fff";
          ctx.lineWidth = 1;
          ctx.strokeRect(r[0] - 5, r[1] - 5, r[2] + 10, r[3] + 10);
        }
        if (Math.max(r[2], r[3]) < 24) { // a beacon: small boxes stay findable
          ctx.strokeStyle = "#fff";
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.arc(r[0] + r[2] / 2, r[1] + r[3] / 2, 22, 0, 2 * Math.PI);
          ctx.stroke();
        }
      }
      if (this.layers.tags) this.paintTags(ctx, view, rect);
      ctx.globalAlpha = 1;
    }

    tagText(g) {
      const cls = this.meta.gts.cls[g];
      return `${g}:${this.names[cls] !== undefined ? this.names[cls] : cls}` + (this.meta.gts.positives[g] ? "" : " !");
    }

    paintTags(ctx, view, rect) {
      const gts = this.meta.gts;
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "top";
      const order = [];
      if (this.selected >= 0) { // the selected gt and those it lost anchors to or took them from
        order.push(this.selected, ...gts.lost_to[this.selected], ...gts.taken_from[this.selected]);
      } else {
        for (let g = 0; g < this.ix.m; g++) if (!gts.positives[g]) order.push(g);
        for (let g = 0; g < this.ix.m; g++) if (gts.positives[g]) order.push(g);
      }
      const placed = [];
      // Problem gts: every tag that fits; the others: all on a sparse image, else more as you zoom in.
      const limit = this.ix.m <= 60 ? this.ix.m : Math.round(20 * (this.zoom - 1) * Math.min(this.zoom, 4));
      let others = 0;
      for (const g of order) {
        if (gts.positives[g] && g !== this.selected && others >= limit) break;
        const b = gts.box[g];
        if (b[2] < view[0] || b[0] > view[2] || b[3] < view[1] || b[1] > view[3]) continue;
        if (this.selected < 0 && !this.pass[g]) continue;
        const r = rect(b);
        const text = this.tagText(g);
        const tw = ctx.measureText(text).width + 4, th = 13;
        const tx = Math.min(Math.max(0, r[0]), this.cw - tw);
        for (const [x, y] of [[tx, r[1] - th - 1], [tx, r[1] + r[3] + 2]]) {
          if (y < 0 || y + th > this.ch) continue;
          if (placed.some((p) => x < p[2] && p[0] < x + tw && y < p[3] && p[1] < y + th)) continue;
          const colour = this.palette[g % this.palette.length];
          ctx.globalAlpha = this.selected >= 0 && g !== this.selected ? 0.5 : 0.92;
          ctx.fillStyle = colour;
          ctx.fillRect(x, y, tw, th);
          ctx.globalAlpha = 1;
          ctx.fillStyle = textOn(colour);
          ctx.fillText(text, x + 2, y + 1);
          placed.push([x, y, x + tw, y + th]);
          if (gts.positives[g]) others++;
          break;
        }
      }
    }

    /* ---- hover: the anchor under the pointer --------------------------------------------------- */

    /** The anchor under input point (x, y), among the shown strides: a coarser stride's anchor when the
     * point is within a few screen px of its centre (zoom in to reach them easily), else the finest
     * shown stride's cell holding the point. Robust to the pointer's whole-pixel rounding. */
    anchorAt(x, y) {
      const shown = this.ix.levels.map((lv, i) => [lv, i]).filter(([, i]) => this.levelOn[i]);
      if (!shown.length) return null;
      const cellAt = (lv) => {
        const s = lv.stride;
        const c = Math.min(lv.w - 1, Math.max(0, Math.floor(x / s))), r = Math.min(lv.h - 1, Math.max(0, Math.floor(y / s)));
        return [c, r, Math.hypot(x - (c + 0.5) * s, y - (r + 0.5) * s)];
      };
      const reach = Math.min(3, 0.35 * shown[0][0].stride * this.k) / this.k; // input px
      for (let n = shown.length - 1; n >= 1; n--) { // coarsest first
        const [lv, i] = shown[n];
        const [c, r, d] = cellAt(lv);
        if (d <= reach) return { anchor: lv.start + r * lv.w + c, level: i };
      }
      const [lv, i] = shown[0];
      const [c, r] = cellAt(lv);
      return { anchor: lv.start + r * lv.w + c, level: i };
    }

    onHover(e) {
      if (this.drag && this.drag.moved) return;
      const [x, y] = this.toInput(e);
      if (x < 0 || y < 0 || x >= this.W || y >= this.H) {
        this.tooltip.hide();
        this.clearHover();
        return;
      }
      const hit = this.anchorAt(x, y);
      if (!hit) {
        this.tooltip.hide();
        return;
      }
      this.paintHover(hit);
      this.tooltip.show(this.anchorTip(hit.anchor), e.clientX, e.clientY);
      this.hovered = hit.anchor;
    }

    clearHover() {
      const c = this.hover.getContext("2d");
      c.setTransform(1, 0, 0, 1, 0, 0);
      c.clearRect(0, 0, this.hover.width, this.hover.height);
    }

    paintHover(hit) {
      this.clearHover();
      const c = this.hover.getContext("2d"), ix = this.ix, lv = ix.levels[hit.level], k = this.k;
      c.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      const loc = hit.anchor - lv.start, r = Math.floor(loc / lv.w), col = loc - r * lv.w;
      const x = (col * lv.stride - this.ox) * k, y = (r * lv.stride - this.oy) * k, s = lv.stride * k;
      c.lineWidth = 3;
      c.strokeStyle = "rgba(0,0,0,0.8)";
      c.strokeRect(x - 1, y - 1, s + 2, s + 2);
      c.lineWidth = 1.5;
      c.strokeStyle = "#fff";
      c.strokeRect(x - 1, y - 1, s + 2, s + 2);
      c.setLineDash([4, 3]);
      for (let j = ix.anchorStart[hit.anchor]; j < ix.anchorStart[hit.anchor + 1]; j++) {
        const b = this.meta.gts.box[ix.pairGt[ix.anchorPairs[j]]];
        c.strokeRect((b[0] - this.ox) * k, (b[1] - this.oy) * k, (b[2] - b[0]) * k, (b[3] - b[1]) * k);
      }
      c.setLineDash([]);
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

    gtName(g) {
      const cls = this.meta.gts.cls[g];
      return this.names[cls] !== undefined ? this.names[cls] : String(cls);
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

    /* ---- pointer: zoom, pan, click ------------------------------------------------------------ */

    onWheel(e) {
      e.preventDefault();
      const [x, y] = this.toInput(e);
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), x, y);
    }

    onDown(e) {
      if (e.button !== 0) return;
      this.drag = { x: e.clientX, y: e.clientY, ox: this.ox, oy: this.oy, moved: false };
    }

    onDrag(e) {
      const d = this.drag;
      if (!d) return;
      const dx = e.clientX - d.x, dy = e.clientY - d.y;
      if (!d.moved && Math.hypot(dx, dy) < 4) return;
      d.moved = true;
      this.tooltip.hide();
      this.ox = d.ox - dx / this.k;
      this.oy = d.oy - dy / this.k;
      this.clampPan();
      this.draw(true);
    }

    onUp(e) {
      const d = this.drag;
      this.drag = null;
      if (!d || d.moved || e.target !== this.canvas) return;
      const [x, y] = this.toInput(e);
      this.select(this.gtAt(x, y));
    }

    /** The gt a click at input point (x, y) means: a box whose border is within 4 screen px, else the smallest box containing it. */
    gtAt(x, y) {
      const boxes = this.meta.gts.box, tol = 4 / this.k;
      let border = -1, borderD = Infinity, borderA = Infinity, inside = -1, insideA = Infinity;
      for (let g = 0; g < boxes.length; g++) {
        const [x1, y1, x2, y2] = boxes[g];
        if (x < x1 - tol || x > x2 + tol || y < y1 - tol || y > y2 + tol) continue;
        const area = (x2 - x1) * (y2 - y1);
        const dEdge = Math.min(Math.abs(x - x1), Math.abs(x - x2), Math.abs(y - y1), Math.abs(y - y2));
        if (dEdge <= tol && (dEdge < borderD - 1e-9 || (Math.abs(dEdge - borderD) <= 1e-9 && area < borderA))) {
          border = g;
          borderD = dEdge;
          borderA = area;
        }
        if (x >= x1 && x <= x2 && y >= y1 && y <= y2 && area < insideA) {
          inside = g;
          insideA = area;
        }
      }
      return border >= 0 ? border : inside;
    }

    /* ---- keys ----------------------------------------------------------------------------------- */

    onKey(e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const tag = (e.target && e.target.tagName) || "";
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
      const key = e.key;
      if (key === "?") this.help.toggle();
      else if (key === "Escape") { this.help.toggle(false); this.resetZoom(); }
      else if (key === "n" || key === "p") this.step(key === "n" ? 1 : -1);
      else if (key === "c") this.select(-1);
      else if (key === "z") this.zoomTo(this.selected);
      else if (key === "+" || key === "=") this.zoomAt(1.5, this.ox + this.cw / this.k / 2, this.oy + this.ch / this.k / 2);
      else if (key === "-") this.zoomAt(1 / 1.5, this.ox + this.cw / this.k / 2, this.oy + this.ch / this.k / 2);
      else if (/^[1-9]$/.test(key) && +key <= this.strideButtons.length) this.strideButtons[+key - 1].click();
      else return;
      e.preventDefault();
    }

    /** Select the next (dir 1) or previous problem gt, in the table's "problems first" order. */
    step(dir) {
      const list = this.meta.gts.problems;
      if (!list.length) return;
      const at = list.indexOf(this.selected);
      const next = at < 0 ? (dir > 0 ? 0 : list.length - 1) : (at + dir + list.length) % list.length;
      this.select(list[next]);
    }

    /* ---- selection -------------------------------------------------------------------------------- */

    select(g) {
      this.selected = g;
      this.table.select(g);
      this.showSelection();
      this.draw();
      if (this.options.onSelect) this.options.onSelect(g);
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
        this.selection.replaceChildren(h("h2", {}, "Selection"),
          h("p", { class: "muted" }, "Click a gt box on the image or a row of the table. ",
            "n / p step through the problem gts (", TAL.plural(gts.problems.length, "gt"), "); ? lists the keys."));
        return;
      }
      const jump = (list) => list.length ? list.map((j) => h("button", { type: "button", class: "link", "data-jump": j, onclick: () => this.select(j) }, `gt ${j}`)) : [h("span", { class: "muted" }, "none")];
      const tools = h("p", { class: "controls" },
        h("button", { type: "button", onclick: () => this.zoomTo(g), title: "z" }, "zoom to it (z)"),
        h("button", { type: "button", onclick: () => this.step(-1), title: "p" }, "◀ previous problem (p)"),
        h("button", { type: "button", onclick: () => this.step(1), title: "n" }, "next problem (n) ▶"));
      const dl = h("table", { class: "kv" }, h("tbody", {}, gts.headers.map((name, c) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, gts.cells[g][c])))));
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
        h("h2", {}, `gt ${g}`, h("button", { type: "button", class: "close", onclick: () => this.select(-1), "aria-label": "clear the selection" }, "×")),
        h("p", { class: "title" }, gts.title[g]),
        tools,
        dl,
        h("p", {}, "lost anchors to: ", jump(gts.lost_to[g])),
        h("p", {}, "took anchors from: ", jump(gts.taken_from[g])),
        h("div", { class: "cand-box" }, h("table", { class: "grid cand" }, h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))), body)),
        more);
    }

    /* ---- gt table and filters ----------------------------------------------------------------------- */

    buildTable() {
      const gts = this.meta.gts;
      const numeric = gts.headers.map((_, c) => ![1, 2, 10, 12].includes(c));
      return new TAL.Table({
        headers: gts.headers,
        rows: this.ix.m,
        numeric,
        cell: (i, c) => gts.cells[i][c],
        key: (i, c) => gts.keys[i][c],
        rowAttrs: (i) => ({ "data-gt": i, class: gts.positives[i] ? (gts.lost_to[i].length ? "lost" : null) : "nopos" }),
        onRowClick: (i) => this.select(i === this.selected ? -1 : i),
        virtualiseAbove: 400,
        height: 440,
      });
    }

    chips() {
      const gts = this.meta.gts;
      const count = (arr, v) => arr.reduce((n, x) => n + (x === v), 0);
      const group = (label, name, values) => h("div", { class: "chips", role: "group", "aria-label": label },
        h("span", { class: "chips-label" }, label + ":"),
        values.filter(([v]) => count(gts[name === "kind" ? "kind" : name], v) > 0).map(([v, text]) =>
          TAL.toggle(`${text} (${count(gts[name], v)})`, false, (on) => {
            if (on) this.filters[name].add(v); else this.filters[name].delete(v);
            this.applyFilters();
          }, { "data-filter": `${name}:${v}` })));
      const classes = [...new Set(gts.cls)].sort((a, b) => a - b);
      return h("div", { class: "filters" },
        group("why no positive", "kind", this.meta.reason_kinds.map(([, text], i) => [i, text])),
        group("size", "size", this.meta.size_bins.map((name, i) => [i, name])),
        group("class", "cls", classes.map((c) => [c, this.names[c] !== undefined ? this.names[c] : String(c)])));
    }

    applyFilters() {
      const gts = this.meta.gts, f = this.filters, shown = [];
      for (let g = 0; g < this.ix.m; g++) {
        const ok = (!f.kind.size || f.kind.has(gts.kind[g])) && (!f.size.size || f.size.has(gts.size[g])) && (!f.cls.size || f.cls.has(gts.cls[g]));
        this.pass[g] = ok ? 1 : 0;
        if (ok) shown.push(g);
      }
      this.table.setShown(shown);
      this.count.textContent = shown.length === this.ix.m ? `${TAL.plural(this.ix.m, "gt")}; click a column to sort` : `showing ${shown.length} of ${TAL.plural(this.ix.m, "gt")}`;
      this.draw();
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

  function textOn(hex) {
    const n = parseInt(hex.slice(1), 16);
    const lum = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
    return lum > 140 ? "#000" : "#fff";
  }

  TAL.ImageView = ImageView;
  TAL.imageKeys = KEYS;
})();
