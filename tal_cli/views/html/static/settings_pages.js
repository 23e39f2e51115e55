/* The pages of several settings (tal sweep --html, tal check --html) share these: the page top, the
 * settings table whose rows choose a setting, the row of setting buttons, the tiles of the embedded
 * images, and the drill-down (one image's view under one setting, zoom and selection kept when only
 * the setting changes). Loaded after common.js and the view scripts, before the page's own script. */
"use strict";

/** The title block and the summary lines (data.version, data.inputs, data.header) of a page. */
TAL.pageTop = function (title, data) {
  const h = TAL.h;
  const inputs = Object.entries(data.inputs).map(([k, v]) => `${k} ${v}`).join(" · ");
  return [TAL.headerBlock(title, [`tal ${data.version} · ${inputs}`]),
    h("div", { class: "summary" }, data.header.map((line, i) => h("p", { class: i === 0 ? "strong" : null }, line)))];
};

/** A table of text cells: `rows` are <tr>s; column c is right-aligned ("num") unless isText(c) (default: c === 0). */
TAL.grid = function (headers, rows, cls, isText) {
  const h = TAL.h, text = isText || ((c) => c === 0);
  return h("div", { class: "table-box" }, h("table", { class: `grid ${cls}` },
    h("thead", {}, h("tr", {}, headers.map((t, c) => h("th", { class: text(c) ? null : "num" }, t)))),
    h("tbody", {}, rows)));
};

/**
 * The settings table of st = {headers, cells}: row k (data-setting k) calls choose(k) on a click, Enter or Space.
 * o: choose(k), cls (the table's classes after "grid"), isText(c) (see TAL.grid).
 * Returns {el, select(k)}: select marks row k chosen (aria-selected).
 */
TAL.settingsTable = function (st, o) {
  const h = TAL.h, text = o.isText || ((c) => c === 0);
  const rows = st.cells.map((cells, k) => h("tr", { "data-setting": k, tabindex: "0", onclick: () => o.choose(k),
    onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); o.choose(k); } } },
  cells.map((v, c) => h("td", { class: text(c) ? null : "num" }, v))));
  return {
    el: TAL.grid(st.headers, rows, o.cls, text),
    select: (k) => rows.forEach((tr, i) => tr.setAttribute("aria-selected", String(i === k))),
  };
};

/** "setting:" and one toggle per label, `chosen` pressed; each button carries its index in attribute `attr`,
 * reads text(j, label) and calls pick(j). The contents of a div.setting-switch. */
TAL.settingButtons = function (labels, chosen, attr, text, pick) {
  const h = TAL.h;
  return [h("span", { class: "muted" }, "setting:"), ...labels.map((l, j) => h("button", { type: "button", class: "toggle",
    [attr]: j, "aria-pressed": String(j === chosen), onclick: () => pick(j) }, text(j, l)))];
};

/** One tile of the image list: a button (attribute `attr` = key) with the thumbnail (or the text `nothumb`),
 * the key and `count` (a node); aria-current when `current`. */
TAL.tile = function (o) {
  const h = TAL.h;
  return h("button", { type: "button", role: "listitem", [o.attr]: o.key, "aria-current": o.current ? "true" : null, onclick: o.onclick },
    o.thumb ? h("img", { src: o.thumb, alt: "" }) : h("span", { class: "nothumb" }, o.nothumb), h("span", { class: "stem" }, o.key), o.count);
};

/**
 * The drill-down: section#drill, which shows one embedded image under one setting.
 *
 * o: items [{key, image, views (a pack_views container, or absent: no picture), picture}], noun ("image",
 * "file": the close button's label), parts(item, k, root) -> the nodes under the title (root, the view's
 * element, is null for an item without views), view(root, one, picture) -> the view (a TAL.GtView) of
 * one = TAL.settingView(blob, k), onchange() after every open and close (to mark the current tile).
 * While an image opens, <html data-ready> is "0".
 */
TAL.Drill = class {
  constructor(o) {
    this.o = o;
    this.el = TAL.h("section", { id: "drill", class: "drill", hidden: true });
    this.key = null;
    this.view = null;
    this.decoded = new Map();
  }
  /** {item, blob, picture} of `key`, decoded once. */
  async decode(key) {
    if (!this.decoded.has(key)) {
      const item = this.o.items.find((x) => x.key === key);
      const [blob, picture] = item.views ? await Promise.all([TAL.decodeBlob(item.views), TAL.loadPicture(item.picture)]) : [null, null];
      this.decoded.set(key, { item, blob, picture });
    }
    return this.decoded.get(key);
  }
  /** Open `key` under setting k (keeping zoom and selection when only the setting changes); select gt `gt` if given. */
  async open(key, k, gt) {
    const h = TAL.h;
    document.documentElement.dataset.ready = "0";
    const { item, blob, picture } = await this.decode(key);
    const fresh = this.key !== key;
    const v = this.view;
    const prev = v && !fresh ? { zoom: v.zoom, ox: v.ox, oy: v.oy, selected: v.selected } : null;
    if (v) v.destroy();
    this.view = null;
    this.key = key;
    const root = blob ? h("section", { class: "image-view" }) : null;
    this.el.hidden = false;
    TAL.fill(this.el,
      h("h2", {}, item.image, h("button", { type: "button", class: "close", "aria-label": `close the ${this.o.noun}`, onclick: () => this.close() }, "×")),
      this.o.parts(item, k, root));
    if (blob) {
      this.view = this.o.view(root, TAL.settingView(blob, k), picture);
      if (prev) {
        Object.assign(this.view, { zoom: prev.zoom, ox: prev.ox, oy: prev.oy });
        if (prev.selected >= 0 && gt === undefined) this.view.select(prev.selected);
        this.view.draw();
      }
      if (gt !== undefined) {
        this.view.select(gt);
        this.view.zoomTo(gt);
      }
    }
    this.o.onchange();
    if (fresh) this.el.scrollIntoView({ block: "start" });
    await new Promise((r) => requestAnimationFrame(() => r()));
    document.documentElement.dataset.ready = "1";
  }
  close() {
    if (this.view) this.view.destroy();
    this.view = null;
    this.key = null;
    this.el.hidden = true;
    this.o.onchange();
  }
};
