/* tal pages: what every one-image view shares (TAL.GtView): the letterboxed network input on a
 * canvas, zoom and pan, the gt boxes and their tags, click a gt, keys, the gt table with its filter
 * chips and the selection. A page's view extends it with its marks per stride, its hover, legend and
 * selection panel: TAL.ImageView (image_view.js, an assignment), TAL.CheckView (check_view.js, the
 * candidates of tal check). */
"use strict";

(function () {
  const h = TAL.h;
  const DIM = 0.16;
  /** Grey of the letterbox padding (ultralytics pads with 114). */
  const PAD = "rgb(114,114,114)";

  /** The keys every view answers (gt_view.js onKey), after a view's own first lines and before its "1 2 3". */
  const VIEW_KEYS = [
    ["click", "a gt box (its border, or the smallest box under the pointer) or a table row selects it"],
    ["wheel / drag", "zoom / pan the image"],
    ["+ / -", "zoom in / out"],
    ["Esc", "reset zoom and pan (and close this list)"],
    ["z", "zoom to the selected gt"],
    ["c", "clear the selection"],
  ];

  class GtView {
    /**
     * root: element to fill. data: {meta, cols, picture (drawable: HTMLImageElement or ImageBitmap)}.
     * meta: imgsz [H, W], summary [lines], gts {headers, cells, keys, box, cand_box, cls, size, kind,
     * problems}, size_bins, reason_kinds, names; placement [left, top, w, h] when the picture is the
     * resized image without its padding (else it is the whole network input).
     * options: {onSelect(g), fitView (size the image to the screen below the view's own top)}.
     */
    constructor(root, data, options) {
      this.root = root;
      this.meta = data.meta;
      this.cols = data.cols;
      this.picture = data.picture;
      this.names = data.meta.names || {};
      this.options = options || {};
      this.ix = this.index();
      this.colours = this.colourList();
      this.W = this.meta.imgsz[1];
      this.H = this.meta.imgsz[0];
      this.zoom = 1;
      this.ox = 0;
      this.oy = 0;
      this.selected = -1;
      this.levelOn = this.ix.levels.map(() => true);
      this.layers = Object.fromEntries(this.layerNames().map((name) => [name, true]));
      this.filters = { kind: new Set(), size: new Set(), cls: new Set() };
      this.pass = new Uint8Array(this.ix.m).fill(1);
      this.tooltip = new TAL.Tooltip();
      this.help = new TAL.KeyHelp(this.keyList());
      this.listeners = [];
      this.build();
      this.resize();
      this.draw();
    }

    /* ---- what a view defines ---------------------------------------------------------------- */
    // index() -> {m, levels: [{stride, h, w, start, stop}], ...}; layerNames(); keyList(); legend();
    // paintLevel(ctx, li, view); onHover(event); showSelection(); flagged(g) (ringed, tagged "!");
    // rowClass(g); textColumns() (gt table columns that are not numbers).

    /** Colours boxes are drawn in; colourIndex(g) picks one. */
    colourList() {
      return this.meta.palette;
    }
    colourIndex(g) {
      return g % this.colours.length;
    }
    colourOf(g) {
      return this.colours[this.colourIndex(g)];
    }
    /** Gts shown with the selected one (their tags too). */
    related() {
      return [];
    }
    /** The filter group of meta.reason_kinds. */
    kindLabel() {
      return "why no positive";
    }
    emptyText() {
      return "No gts.";
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
        ...(this.ix.m ? [this.chips(), this.count, this.table.el] : [h("p", { class: "muted" }, this.emptyText())]));
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

    /** A legend of [draw(g2d, colour) on an 18 px swatch, text] items. */
    legendOf(items) {
      const sw = (paint) => {
        const c = h("canvas", { width: 18, height: 18, class: "swatch", "aria-hidden": "true" });
        const g = c.getContext("2d");
        g.fillStyle = "#444";
        g.fillRect(0, 0, 18, 18);
        paint(g);
        return c;
      };
      return h("ul", { class: "legend" }, items.map(([paint, text]) => h("li", {}, sw(paint), text)));
    }

    resize() {
      const avail = Math.max(240, this.stage.parentElement.clientWidth || 640);
      // Fit the first screen (a page of one image), or the screen from the view's top (opened in a list).
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
      if (g < 0 || !this.meta.gts.box[g]) return;
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

    /** The network input dimmed and desaturated once, at its own resolution (drawing it is then a plain
     * copy): the picture, or the resized image placed in its letterbox padding. */
    backdrop() {
      if (!this.dimmed) {
        const c = document.createElement("canvas");
        c.width = this.W;
        c.height = this.H;
        const g = c.getContext("2d");
        g.filter = "grayscale(55%) brightness(58%)";
        const at = this.meta.placement;
        if (at) {
          g.fillStyle = PAD;
          g.fillRect(0, 0, this.W, this.H);
          if (this.picture) g.drawImage(this.picture, at[0], at[1], at[2], at[3]);
        } else {
          g.drawImage(this.picture, 0, 0, this.W, this.H);
        }
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

    /** The cells of level li in view: {c0, c1, r0, r1} (inclusive), X(col), Y(row) screen px, cell size. */
    levelView(li, view) {
      const lv = this.ix.levels[li], s = lv.stride, k = this.k, ox = this.ox, oy = this.oy;
      return {
        lv, s, cell: s * k,
        c0: Math.max(0, Math.floor(view[0] / s)), c1: Math.min(lv.w - 1, Math.floor(view[2] / s)),
        r0: Math.max(0, Math.floor(view[1] / s)), r1: Math.min(lv.h - 1, Math.floor(view[3] / s)),
        X: (c) => (c * s - ox) * k, Y: (r) => (r * s - oy) * k,
      };
    }

    /** Faint cell borders of a level once its cells are large enough to see. */
    paintGrid(ctx, lvw) {
      const { c0, c1, r0, r1, X, Y } = lvw;
      if (!this.layers.grid || lvw.cell < 7) return;
      ctx.strokeStyle = "rgba(255,255,255,0.09)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let c = c0; c <= c1 + 1; c++) { const x = Math.round(X(c)) + 0.5; ctx.moveTo(x, Y(r0)); ctx.lineTo(x, Y(r1 + 1)); }
      for (let r = r0; r <= r1 + 1; r++) { const y = Math.round(Y(r)) + 0.5; ctx.moveTo(X(c0), y); ctx.lineTo(X(c1 + 1), y); }
      ctx.stroke();
    }

    /** A candidate's mark at (cx, cy) on path p: a dot (centre inside the gt's own box), else a plus (only through the small-box floor). */
    markCandidate(p, cx, cy, rad, inBox) {
      if (inBox) {
        p.moveTo(cx + rad, cy);
        p.arc(cx, cy, rad, 0, 2 * Math.PI);
      } else {
        const e = rad + 1;
        p.rect(cx - e, cy - 0.6, 2 * e, 1.2);
        p.rect(cx - 0.6, cy - e, 1.2, 2 * e);
      }
    }

    /** Paths grouped by (colour, alpha): one fill or stroke call per group. */
    batches() {
      const map = new Map();
      const colours = this.colours;
      return {
        path: (g, alpha) => {
          const key = this.colourIndex(g) * 64 + Math.round(alpha * 40);
          let p = map.get(key);
          if (!p) map.set(key, (p = new Path2D()));
          return p;
        },
        flush: (ctx, mode, width) => {
          for (const [key, p] of map) {
            ctx.globalAlpha = (key % 64) / 40;
            const colour = colours[Math.floor(key / 64)];
            if (mode === "fill") { ctx.fillStyle = colour; ctx.fill(p); } else { ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.stroke(p); }
          }
          map.clear();
          ctx.globalAlpha = 1;
        },
      };
    }

    paintBoxes(ctx, view) {
      const gts = this.meta.gts, k = this.k, ox = this.ox, oy = this.oy, m = this.ix.m;
      const rect = (bx) => [(bx[0] - ox) * k, (bx[1] - oy) * k, (bx[2] - bx[0]) * k, (bx[3] - bx[1]) * k];
      const shown = [];
      for (let g = 0; g < m; g++) {
        const bx = gts.box[g];
        if (bx && g !== this.selected && bx[2] >= view[0] && bx[0] <= view[2] && bx[3] >= view[1] && bx[1] <= view[3]) shown.push(g);
      }
      // Dotted: the box the small-box floor widened; dark rims; white rings (flagged gts); then the colours.
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
          if (this.flagged(g)) rings.rect(r[0] - w - 2, r[1] - w - 2, r[2] + 2 * w + 4, r[3] + 2 * w + 4);
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
      if (this.selected >= 0 && gts.box[this.selected]) {
        const r = rect(gts.box[this.selected]);
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 5;
        ctx.strokeRect(r[0] - 1, r[1] - 1, r[2] + 2, r[3] + 2);
        ctx.strokeStyle = "rgba(0,0,0,0.6)";
        ctx.lineWidth = 4.5;
        ctx.strokeRect(r[0], r[1], r[2], r[3]);
        ctx.strokeStyle = this.colourOf(this.selected);
        ctx.lineWidth = 2.5;
        ctx.strokeRect(r[0], r[1], r[2], r[3]);
        if (this.flagged(this.selected)) {
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
      return `${g}:${this.gtName(g)}` + (this.flagged(g) ? " !" : "");
    }

    paintTags(ctx, view, rect) {
      const gts = this.meta.gts;
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "top";
      const order = [];
      if (this.selected >= 0) { // the selected gt and those related to it
        order.push(this.selected, ...this.related(this.selected));
      } else {
        for (let g = 0; g < this.ix.m; g++) if (this.flagged(g)) order.push(g);
        for (let g = 0; g < this.ix.m; g++) if (!this.flagged(g)) order.push(g);
      }
      const placed = [];
      // Flagged gts: every tag that fits; the others: all on a sparse image, else more as you zoom in.
      const limit = this.ix.m <= 60 ? this.ix.m : Math.round(20 * (this.zoom - 1) * Math.min(this.zoom, 4));
      let others = 0;
      for (const g of order) {
        if (!this.flagged(g) && g !== this.selected && others >= limit) break;
        const b = gts.box[g];
        if (!b || b[2] < view[0] || b[0] > view[2] || b[3] < view[1] || b[1] > view[3]) continue;
        if (this.selected < 0 && !this.pass[g]) continue;
        const r = rect(b);
        const text = this.tagText(g);
        const tw = ctx.measureText(text).width + 4, th = 13;
        const tx = Math.min(Math.max(0, r[0]), this.cw - tw);
        for (const [x, y] of [[tx, r[1] - th - 1], [tx, r[1] + r[3] + 2]]) {
          if (y < 0 || y + th > this.ch) continue;
          if (placed.some((p) => x < p[2] && p[0] < x + tw && y < p[3] && p[1] < y + th)) continue;
          const colour = this.colourOf(g);
          ctx.globalAlpha = this.selected >= 0 && g !== this.selected ? 0.5 : 0.92;
          ctx.fillStyle = colour;
          ctx.fillRect(x, y, tw, th);
          ctx.globalAlpha = 1;
          ctx.fillStyle = TAL.textOn(colour);
          ctx.fillText(text, x + 2, y + 1);
          placed.push([x, y, x + tw, y + th]);
          if (!this.flagged(g)) others++;
          break;
        }
      }
    }

    clearHover() {
      const c = this.hover.getContext("2d");
      c.setTransform(1, 0, 0, 1, 0, 0);
      c.clearRect(0, 0, this.hover.width, this.hover.height);
    }

    /** Outline cell (col, row) of level li on the hover layer (and return its context for more marks). */
    hoverCell(li, col, r) {
      this.clearHover();
      const c = this.hover.getContext("2d"), lv = this.ix.levels[li], k = this.k;
      c.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      const x = (col * lv.stride - this.ox) * k, y = (r * lv.stride - this.oy) * k, s = lv.stride * k;
      c.lineWidth = 3;
      c.strokeStyle = "rgba(0,0,0,0.8)";
      c.strokeRect(x - 1, y - 1, s + 2, s + 2);
      c.lineWidth = 1.5;
      c.strokeStyle = "#fff";
      c.strokeRect(x - 1, y - 1, s + 2, s + 2);
      return c;
    }

    /** Dashed white outlines of these gts' boxes on the hover layer. */
    hoverBoxes(c, gts) {
      const k = this.k;
      c.setLineDash([4, 3]);
      for (const g of gts) {
        const b = this.meta.gts.box[g];
        if (b) c.strokeRect((b[0] - this.ox) * k, (b[1] - this.oy) * k, (b[2] - b[0]) * k, (b[3] - b[1]) * k);
      }
      c.setLineDash([]);
    }

    /** The anchor under input point (x, y), among the shown strides: a coarser stride's anchor when the
     * point is within a few screen px of its centre (zoom in to reach them easily), else the finest
     * shown stride's cell holding the point. Robust to the pointer's whole-pixel rounding.
     * Returns {anchor, level, col, row} or null. */
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
        if (d <= reach) return { anchor: lv.start + r * lv.w + c, level: i, col: c, row: r };
      }
      const [lv, i] = shown[0];
      const [c, r] = cellAt(lv);
      return { anchor: lv.start + r * lv.w + c, level: i, col: c, row: r };
    }

    /** The input point under a pointer event, or null outside the network input. */
    inputPoint(e) {
      const [x, y] = this.toInput(e);
      if (x < 0 || y < 0 || x >= this.W || y >= this.H) {
        this.tooltip.hide();
        this.clearHover();
        return null;
      }
      return [x, y];
    }

    gtName(g) {
      const cls = this.meta.gts.cls[g];
      return this.names[cls] !== undefined ? this.names[cls] : String(cls);
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
        if (!boxes[g]) continue;
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

    /** Select the next (dir 1) or previous problem gt, in meta.gts.problems order. */
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

    /** The panel with nothing selected: "Selection", how to select (`hint`), n / p over the problem gts (`what`). */
    showNoSelection(hint, what) {
      this.selection.replaceChildren(h("h2", {}, "Selection"),
        h("p", { class: "muted" }, hint, `n / p step through ${what} (`, TAL.plural(this.meta.gts.problems.length, "gt"), "); ? lists the keys."));
    }

    /** The panel's head: "gt N" with a close button; then the selected gt's table row as key/value rows. */
    selectionHead(g) {
      return h("h2", {}, `gt ${g}`, h("button", { type: "button", class: "close", onclick: () => this.select(-1), "aria-label": "clear the selection" }, "×"));
    }
    rowTable(g) {
      const gts = this.meta.gts;
      return h("table", { class: "kv" }, h("tbody", {}, gts.headers.map((name, c) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, gts.cells[g][c])))));
    }
    /** Buttons: zoom to the selection, previous and next problem gt. */
    selectionTools(g) {
      return h("p", { class: "controls" },
        h("button", { type: "button", onclick: () => this.zoomTo(g), title: "z" }, "zoom to it (z)"),
        h("button", { type: "button", onclick: () => this.step(-1), title: "p" }, "◀ previous problem (p)"),
        h("button", { type: "button", onclick: () => this.step(1), title: "n" }, "next problem (n) ▶"));
    }

    /* ---- gt table and filters ----------------------------------------------------------------------- */

    buildTable() {
      const gts = this.meta.gts, text = this.textColumns();
      return new TAL.Table({
        headers: gts.headers,
        rows: this.ix.m,
        numeric: gts.headers.map((_, c) => !text.includes(c)),
        cell: (i, c) => gts.cells[i][c],
        key: (i, c) => gts.keys[i][c],
        rowAttrs: (i) => ({ "data-gt": i, class: this.rowClass(i) }),
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
        values.filter(([v]) => count(gts[name], v) > 0).map(([v, text]) =>
          TAL.toggle(`${text} (${count(gts[name], v)})`, false, (on) => {
            if (on) this.filters[name].add(v); else this.filters[name].delete(v);
            this.applyFilters();
          }, { "data-filter": `${name}:${v}` })));
      const classes = [...new Set(gts.cls)].sort((a, b) => a - b);
      return h("div", { class: "filters" },
        group(this.kindLabel(), "kind", this.meta.reason_kinds.map(([, text], i) => [i, text])),
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

  TAL.GtView = GtView;
  TAL.VIEW_KEYS = VIEW_KEYS;
})();
