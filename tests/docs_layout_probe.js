// Injected into a copy of a built page by tests/test_docs_browser.py: once the page has loaded and MathJax (where the
// page has formulas) has typeset them, it records in the body's data-layout attribute what sticks out of the content
// column at the window's width: every table whose right edge passes the column's (a table must wrap, not scroll), and
// every other element that does so outside a box that scrolls on its own (a code block may scroll inside its box);
// and how many formulas the page has and how many MathJax rendered.
const measure = () => {
  const column = document.querySelector("div[itemprop=articleBody]") || document.querySelector(".rst-content");
  const style = getComputedStyle(column);
  const box = column.getBoundingClientRect();
  const edge = box.right - parseFloat(style.paddingRight);
  const insideScrollBox = (element) => {
    for (let e = element.parentElement; e && e !== column; e = e.parentElement) {
      const overflow = getComputedStyle(e).overflowX;
      if (overflow === "auto" || overflow === "scroll") return true;
    }
    return false;
  };
  const describe = (element) => (element.innerText || element.outerHTML).trim().slice(0, 60);
  const report = { columnWidth: Math.round(edge - box.left - parseFloat(style.paddingLeft)), tables: [], overflowing: [] };
  for (const table of column.querySelectorAll("table")) {
    const r = table.getBoundingClientRect();
    if (r.right > edge + 1) report.tables.push({ width: Math.round(r.width), text: describe(table) });
  }
  for (const element of column.querySelectorAll("*")) {
    const r = element.getBoundingClientRect();
    if (r.width > 0 && r.right > edge + 1 && !element.closest("table") && !insideScrollBox(element)) {
      report.overflowing.push({ tag: element.tagName, past: Math.round(r.right - edge), text: describe(element) });
    }
  }
  report.formulas = column.querySelectorAll(".math").length;
  report.rendered = column.querySelectorAll(".math mjx-container").length;
  document.body.setAttribute("data-layout", JSON.stringify(report));
};
window.addEventListener("load", () => {
  const typeset = window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : Promise.resolve();
  typeset.then(measure, measure);
});
