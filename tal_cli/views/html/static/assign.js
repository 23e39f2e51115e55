/* tal assign --html: the page of one image. Data: views/html/assign_page.py assign_page(). */
"use strict";

(async function () {
  try {
    performance.mark("tal:start");
    const data = TAL.pageData();
    const [{ meta, cols }, picture] = await Promise.all([TAL.decodeBlob(data.view), TAL.loadPicture(data.picture)]);
    const app = document.getElementById("app");
    const inputs = Object.entries(data.inputs).map(([k, v]) => `${k} ${v}`).join(" · ");
    app.append(TAL.headerBlock(`tal assign: ${meta.image}`, [
      `tal ${data.version} · ${inputs}`,
      `input ${meta.imgsz[1]}x${meta.imgsz[0]}, strides ${meta.levels.map((l) => l[0]).join("/")}, preds layout ${meta.layout}, ` +
        `head ${meta.head}` + (meta.heads.length > 1 ? ` (file holds ${meta.heads.join(", ")})` : ""),
    ]));
    performance.mark("tal:decoded");
    const root = TAL.h("section", { class: "image-view" });
    app.append(root);
    TAL.view = new TAL.ImageView(root, { meta, cols, picture });
    if (data.selected !== null && data.selected !== undefined) TAL.view.select(data.selected); // --gt N
    performance.mark("tal:built");
    await new Promise((r) => requestAnimationFrame(() => r()));
    TAL.ready();
  } catch (err) {
    TAL.fail(err);
  }
})();
