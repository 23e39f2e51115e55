/* tal pages: shared helpers (decoding, exact number formatting, DOM, sortable virtualised table,
 * tooltip, key help). Plain ES2020, no library; inlined into every page by views/html/assets.py. */
"use strict";

const TAL = (window.TAL = window.TAL || {});

/* ---- decoding: the container of views/html/encode.py --------------------------------------- */

TAL.TYPED = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
};

/** Bytes of a base64 string. */
TAL.base64Bytes = function (text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

/** {meta, cols} of a pack() string: deflate (zlib) via DecompressionStream, then the columns as typed arrays. */
TAL.decodeBlob = async function (text) {
  const stream = new Blob([TAL.base64Bytes(text)]).stream().pipeThrough(new DecompressionStream("deflate"));
  const buf = await new Response(stream).arrayBuffer();
  const view = new DataView(buf);
  const magic = String.fromCharCode(...new Uint8Array(buf, 0, 4));
  if (magic !== "TAL1") throw new Error("not a tal page container");
  const n = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
  const base = 8 + n;
  const cols = {};
  for (const [name, dtype, offset, length] of header.columns) {
    cols[name] = new TAL.TYPED[dtype](buf, base + offset, length);
  }
  return { meta: header.meta, cols };
};

/* ---- numbers exactly as Python prints them ------------------------------------------------ */

/** The text of format(x, ".{d}f") from the integer n its digits spell (encode.fixed_digits). */
TAL.fmtFixed = function (n, d) {
  const neg = n < 0;
  let s = String(Math.abs(n));
  if (d > 0) {
    s = s.padStart(d + 1, "0");
    s = s.slice(0, -d) + "." + s.slice(-d);
  }
  return (neg ? "-" : "") + s;
};

/** The text of format(x, ".3g") from its 3-digit mantissa and exponent (encode.g3_digits). */
TAL.fmtG3 = function (m, e) {
  if (m === 0) return "0";
  const neg = m < 0;
  const digits = String(Math.abs(m));
  const strip = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  let out;
  if (e < -4 || e >= 3) {
    out = strip(digits[0] + "." + digits.slice(1)) + "e" + (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
  } else {
    out = strip(TAL.fmtFixed(Math.abs(m), 2 - e));
  }
  return (neg ? "-" : "") + out;
};

/* ---- DOM ------------------------------------------------------------------------------------ */

/** h("div", {class: "x", onclick: f}, child, "text", ...) -> element. */
TAL.h = function (tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
};

/** el.replaceChildren(...) without the null / false entries (optional parts). */
TAL.fill = function (el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
};

TAL.plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Black or white, whichever reads better on the colour "#rrggbb". */
TAL.textOn = function (hex) {
  const n = parseInt(hex.slice(1), 16);
  const lum = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
  return lum > 140 ? "#000" : "#fff";
};

/** A toggle button (aria-pressed) that calls onchange(pressed). */
TAL.toggle = function (label, pressed, onchange, attrs) {
  const b = TAL.h("button", Object.assign({ type: "button", class: "toggle", "aria-pressed": String(pressed) }, attrs || {}), label);
  b.addEventListener("click", () => {
    const now = b.getAttribute("aria-pressed") !== "true";
    b.setAttribute("aria-pressed", String(now));
    onchange(now);
  });
  return b;
};

/* ---- tooltip ---------------------------------------------------------------------------------- */

TAL.Tooltip = class {
  constructor() {
    this.el = document.getElementById("tooltip");
    if (!this.el) {
      this.el = TAL.h("div", { id: "tooltip", role: "tooltip", hidden: true });
      document.body.append(this.el);
    }
  }
  /** Show `content` (nodes) near the client point (x, y), kept inside the window. */
  show(content, x, y) {
    const el = this.el;
    el.replaceChildren(...content);
    el.hidden = false;
    const w = el.offsetWidth, hgt = el.offsetHeight;
    let left = x + 16, top = y + 16;
    if (left + w > window.innerWidth - 4) left = Math.max(4, x - w - 16);
    if (top + hgt > window.innerHeight - 4) top = Math.max(4, y - hgt - 16);
    el.style.left = left + "px";
    el.style.top = top + "px";
  }
  hide() {
    this.el.hidden = true;
  }
};

/* ---- key help ------------------------------------------------------------------------------- */

/** The `?` dialog listing keys: [[key, what], ...]. */
TAL.KeyHelp = class {
  constructor(keys) {
    this.el = TAL.h("div", { id: "keys", class: "keys", role: "dialog", "aria-label": "keyboard keys", hidden: true },
      TAL.h("h2", {}, "Keys"),
      TAL.h("table", {}, TAL.h("tbody", {}, keys.map(([k, what]) => TAL.h("tr", {}, TAL.h("td", {}, TAL.h("kbd", {}, k)), TAL.h("td", {}, what))))),
      TAL.h("p", { class: "muted" }, "Press ? or Esc to close."));
    document.body.append(this.el);
  }
  toggle(show) {
    this.el.hidden = show === undefined ? !this.el.hidden : !show;
  }
  get open() {
    return !this.el.hidden;
  }
  remove() {
    this.el.remove();
  }
};

/* ---- a sortable table, virtualised when long ------------------------------------------------- */

/**
 * options: headers [text], rows (count), cell(i, c) -> text, key(i, c) -> number|string,
 * rowAttrs(i) -> {attr: value}, onRowClick(i), virtualiseAbove (rows), height (px, of the scroll box),
 * numeric [bool per column], caption.
 */
TAL.Table = class {
  constructor(options) {
    this.o = Object.assign({ virtualiseAbove: 400, rowHeight: 24, height: 420 }, options);
    this.order = Array.from({ length: this.o.rows }, (_, i) => i);
    this.shown = this.order;
    this.sort = null; // [column, +1 | -1]
    this.selected = -1;
    this.el = TAL.h("div", { class: "table-box", tabindex: "-1" });
    this.table = TAL.h("table", { class: "grid" });
    if (this.o.caption) this.table.append(TAL.h("caption", {}, this.o.caption));
    this.ths = this.o.headers.map((text, c) =>
      TAL.h("th", { scope: "col", "aria-sort": "none", class: this.o.numeric && this.o.numeric[c] ? "num" : null },
        TAL.h("button", { type: "button", onclick: () => this.toggleSort(c) }, text)));
    this.table.append(TAL.h("thead", {}, TAL.h("tr", {}, this.ths)));
    this.tbody = TAL.h("tbody", {});
    this.table.append(this.tbody);
    this.el.append(this.table);
    this.virtual = this.o.rows > this.o.virtualiseAbove;
    if (this.virtual) {
      this.el.classList.add("virtual");
      this.el.style.height = this.o.height + "px";
      let pending = false;
      this.el.addEventListener("scroll", () => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          this.render();
        });
      });
    }
    this.render();
  }
  /** Show these row indices (filtered), in the current sort order. */
  setShown(indices) {
    this.filtered = indices;
    this.applySort();
  }
  toggleSort(c) {
    const dir = this.sort && this.sort[0] === c ? -this.sort[1] : 1;
    this.sort = [c, dir];
    this.ths.forEach((th, k) => th.setAttribute("aria-sort", k === c ? (dir > 0 ? "ascending" : "descending") : "none"));
    this.applySort();
  }
  applySort() {
    const base = (this.filtered || this.order).slice();
    if (this.sort) {
      const [c, dir] = this.sort;
      const key = this.o.key;
      base.sort((a, b) => {
        const ka = key(a, c), kb = key(b, c);
        const r = typeof ka === "string" ? ka.localeCompare(kb) : ka - kb;
        return r !== 0 ? dir * r : a - b;
      });
    }
    this.shown = base;
    if (this.virtual) this.el.scrollTop = Math.min(this.el.scrollTop, Math.max(0, this.shown.length * this.o.rowHeight));
    this.render();
  }
  row(i) {
    const attrs = Object.assign({}, this.o.rowAttrs ? this.o.rowAttrs(i) : {});
    if (i === this.selected) attrs["aria-selected"] = "true";
    const tr = TAL.h("tr", attrs, this.o.headers.map((_, c) =>
      TAL.h("td", { class: this.o.numeric && this.o.numeric[c] ? "num" : null }, this.o.cell(i, c))));
    if (this.o.onRowClick) tr.addEventListener("click", () => this.o.onRowClick(i));
    return tr;
  }
  render() {
    const rows = this.shown;
    if (!this.virtual) {
      this.tbody.replaceChildren(...rows.map((i) => this.row(i)));
      return;
    }
    const rh = this.o.rowHeight;
    const headH = this.table.tHead ? this.table.tHead.offsetHeight : rh;
    const top = Math.max(0, Math.floor((this.el.scrollTop - headH) / rh) - 10);
    const count = Math.ceil(this.o.height / rh) + 20;
    const end = Math.min(rows.length, top + count);
    const spacer = (n) => TAL.h("tr", { class: "spacer", "aria-hidden": "true", style: `height:${n * rh}px` });
    const out = [];
    if (top > 0) out.push(spacer(top));
    for (let k = top; k < end; k++) out.push(this.row(rows[k]));
    if (end < rows.length) out.push(spacer(rows.length - end));
    this.tbody.replaceChildren(...out);
  }
  /** Mark row i selected and scroll it into view (rendering it first when virtualised). */
  select(i) {
    this.selected = i;
    const pos = this.shown.indexOf(i);
    if (pos >= 0 && this.virtual) {
      const rh = this.o.rowHeight;
      const y = pos * rh;
      if (y < this.el.scrollTop || y > this.el.scrollTop + this.o.height - 3 * rh) this.el.scrollTop = Math.max(0, y - 3 * rh);
    }
    this.render();
    const tr = this.tbody.querySelector('tr[aria-selected="true"]');
    if (tr && !this.virtual) {
      const box = this.el.getBoundingClientRect(), r = tr.getBoundingClientRect();
      if (r.top < box.top || r.bottom > box.bottom) this.el.scrollTop += r.top - box.top - 2 * r.height;
    }
  }
};

/* ---- misc --------------------------------------------------------------------------------------- */

/** The JSON the page was built with. */
TAL.pageData = () => JSON.parse(document.getElementById("tal-data").textContent);

/** Header lines: version, inputs. */
TAL.headerBlock = function (title, lines) {
  return TAL.h("header", { class: "page-head" }, TAL.h("h1", {}, title), lines.map((l) => TAL.h("p", { class: "muted" }, l)));
};

/** An <img> of a data: URL, once decoded. */
TAL.loadPicture = function (url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the embedded picture could not be decoded"));
    img.src = url;
  });
};

/** Mark the page interactive (the tests' hook). */
TAL.ready = function () {
  document.documentElement.dataset.ready = "1";
};

/** Show an error in the page instead of leaving it blank. */
TAL.fail = function (err) {
  const app = document.getElementById("app");
  app.append(TAL.h("p", { class: "error" }, "This page could not be shown: " + (err && err.message ? err.message : err)));
  document.documentElement.dataset.ready = "error";
  console.error(err);
};

/* ---- charts (SVG) and setting views, shared by the sweep, check and train pages ---------------------- */

TAL.SVG = "http://www.w3.org/2000/svg";
/** s("rect", {x: 1}, child, "text") -> an SVG element. */
TAL.s = function (tag, attrs, ...children) {
  const el = document.createElementNS(TAL.SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
};

/** The first of 1, 2, 2.5, 5, 10 x a power of ten at or above max(v, floor): an axis' end. */
TAL.niceMax = function (v, floor) {
  v = Math.max(v, floor);
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * e >= v - 1e-12) return step * e;
  return 10 * e;
};

/** Colours of the rate bars (all gts, then the size buckets), as the --plot charts draw them. */
TAL.RATE_COLOURS = { all: "#be2d2d", small: "#e6783c", medium: "#e1af32", large: "#78a05a" };

/** An SVG bar that shows `tip` in `tooltip` on hover and focus. */
TAL.chartBar = function (tooltip, attrs, tip) {
  const r = TAL.s("rect", Object.assign({ class: "bar", tabindex: "0" }, attrs), TAL.s("title", {}, tip));
  const show = (e) => { r.classList.add("active"); const b = r.getBoundingClientRect(); tooltip.show([TAL.h("div", {}, tip)], e.clientX || b.right, e.clientY || b.top); };
  r.addEventListener("mousemove", show);
  r.addEventListener("focus", show);
  for (const ev of ["mouseleave", "blur"]) r.addEventListener(ev, () => { r.classList.remove("active"); tooltip.hide(); });
  return r;
};

/** The legend of the rate bars at (x, y): a swatch and the name of "all" and each size bucket. */
TAL.rateLegend = function (svg, x, y, sizeBins) {
  for (const name of ["all", ...sizeBins]) {
    svg.append(TAL.s("rect", { x, y, width: 12, height: 10, fill: TAL.RATE_COLOURS[name] }), TAL.s("text", { x: x + 16, y: y + 9, class: "muted" }, name));
    x += 32 + name.length * 8;
  }
};

/** One setting's rate bars (sweep_page.rate_bars: [{name, rate, text}]) stacked in a row from (x, y) of height
 * rowH; `span` px is `top` percent; `what` starts each bar's tooltip; data-bar "i:name". */
TAL.rateBars = function (svg, tooltip, o) {
  const bh = 12, bg = 3;
  let by = o.y + (o.rowH - (o.bars.length * bh + (o.bars.length - 1) * bg)) / 2;
  for (const z of o.bars) {
    if (z.rate === null) {
      svg.append(TAL.s("text", { x: o.x + 4, y: by + 10, class: "muted" }, `${z.name}: no gts`));
    } else {
      const xe = o.x + (100 * z.rate / o.top) * o.span;
      svg.append(TAL.chartBar(tooltip, { x: o.x, y: by, width: Math.max(1, xe - o.x), height: bh, fill: TAL.RATE_COLOURS[z.name], "data-bar": `${o.i}:${z.name}` },
        `${o.label}: ${o.what}, ${z.text}`),
      TAL.s("text", { x: xe + 6, y: by + 10, class: z.name === "all" ? null : "muted" }, z.text));
    }
    by += bh + bg;
  }
};

/** Setting k's {meta, cols} of a pack_views container (columns named "k/name"). */
TAL.settingView = function (blob, k) {
  const prefix = `${k}/`, cols = {};
  for (const [name, arr] of Object.entries(blob.cols)) if (name.startsWith(prefix)) cols[name.slice(prefix.length)] = arr;
  return { meta: blob.meta.views[k], cols };
};
