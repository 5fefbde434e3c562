"""The fixed CSS and script of the HTML report, kept apart so the CSP hashes cover exactly them.

The script only reads ``textContent`` and moves existing rows; it never builds markup from data.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root{--fg:#1d2330;--muted:#5d6677;--bg:#fff;--line:#dde1e8;--head:#f3f5f8;--accent:#2754c5;--warn:#b3261e;--warnbg:#fdf0ef;--ok:#1b7f4b}
@media (prefers-color-scheme:dark){:root{--fg:#e4e7ed;--muted:#9aa3b2;--bg:#15181e;--line:#2c323d;--head:#1e232b;--accent:#7fa2ff;--warn:#ff8a80;--warnbg:#2e1d1d;--ok:#6fcf97}}
*{box-sizing:border-box}
body{margin:0;padding:1.5rem 2rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:110rem}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.25rem;margin:2rem 0 .25rem;padding-top:.75rem;border-top:1px solid var(--line)}
a{color:var(--accent)}
.meta,.req,.desc,.count,.note{color:var(--muted)}
.req{font-weight:600}
.desc{margin:.25rem 0 .5rem;max-width:60rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.75rem;margin:1rem 0}
.card{display:block;padding:.6rem .9rem;border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:8px;color:inherit;text-decoration:none;background:var(--head)}
.card:hover,.card:focus{border-color:var(--accent)}
.card.warn{border-left-color:var(--warn)}
.card .n,.stat .n{display:block;font-size:1.5rem;font-weight:700;line-height:1.2;font-variant-numeric:tabular-nums}
.card .l,.stat .l{display:block;color:var(--muted)}
.card .f{display:block;color:var(--warn);font-weight:600;font-size:.9em}
.card .ok{display:block;color:var(--ok);font-size:.9em}
.stats{display:flex;flex-wrap:wrap;gap:.6rem;margin:.75rem 0}
.stat{min-width:8rem;padding:.45rem .8rem;border:1px solid var(--line);border-radius:8px;background:var(--head)}
.stat.warn{border-color:var(--warn);background:var(--warnbg)}
.stat.warn .n{color:var(--warn)}
.stat.span .l{font-size:.85em;overflow-wrap:anywhere}
.toc ol{margin:.5rem 0;padding-left:1.5rem;columns:2 28rem;column-gap:2rem}
.toc li{margin:.2rem 0;break-inside:avoid}
.toc .desc{font-size:.9em}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,34rem),1fr));gap:1rem;margin:.75rem 0 1rem}
.figures figure{margin:0;padding:.5rem;border:1px solid var(--line);border-radius:8px;background:#fff;color:#1d2330;break-inside:avoid}
.figures figcaption{font-weight:600;margin:0 0 .25rem .25rem}
.figures img{display:block;width:100%;height:auto}
.note{font-style:italic}
.tools{display:flex;align-items:center;gap:1rem;margin:.5rem 0}
.tools input{padding:.3rem .5rem;min-width:16rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
.scroll{overflow:auto;max-height:75vh;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:max-content;min-width:100%}
th,td{padding:.3rem .55rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:pre-wrap;overflow-wrap:break-word;max-width:30rem}
tbody tr:nth-child(even){background:var(--head)}
thead th{position:sticky;top:0;background:var(--head);cursor:pointer;user-select:none;white-space:nowrap;box-shadow:0 1px 0 var(--line)}
thead th:hover{color:var(--accent)}
thead th[aria-sort=ascending]::after{content:" \\25B2"}
thead th[aria-sort=descending]::after{content:" \\25BC"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{cursor:default;position:static}
.empty{padding:.75rem;font-style:italic;color:var(--muted)}
@media print{
:root{--fg:#000;--muted:#444;--bg:#fff;--line:#bbb;--head:#f2f2f2;--accent:#000;--warn:#a00;--warnbg:#fff}
body{padding:0;font-size:9pt}
main{max-width:none}
.tools input{display:none}
.scroll{max-height:none;overflow:visible;border:0}
table{width:100%}
th,td{max-width:none;overflow-wrap:anywhere}
thead{display:table-header-group}
thead th{position:static;box-shadow:none}
tr,figure,.stat,.card,.toc li{break-inside:avoid}
h2{break-after:avoid}
section.data{break-before:page}
a{color:inherit;text-decoration:none}
.figures{grid-template-columns:1fr 1fr}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

SCRIPT = """
"use strict";
(function () {
  function cmp(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) { return x - y; }
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  Array.prototype.forEach.call(document.querySelectorAll("section.data"), function (section) {
    var table = section.querySelector("table.data");
    if (!table) { return; }
    var body = table.tBodies[0];
    var input = section.querySelector("input.filter");
    var count = section.querySelector(".count");
    var total = body.rows.length;
    function show(n) {
      count.textContent = (n === total ? "" : n + " of ") + total + (total === 1 ? " row" : " rows");
    }
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase(), n = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var hit = q === "" || row.textContent.toLowerCase().indexOf(q) !== -1;
        row.hidden = !hit;
        if (hit) { n += 1; }
      });
      show(n);
    });
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, i) {
      function sort() {
        var up = th.getAttribute("aria-sort") !== "ascending";
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          return cmp(a.cells[i].textContent, b.cells[i].textContent) * (up ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
      }
      th.tabIndex = 0;
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  });
})();
"""


def csp_hash(text: str) -> str:
    """The CSP source expression allowing exactly this inline element content."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CSP = "; ".join(
    (
        "default-src 'none'",
        f"style-src {csp_hash(CSS)}",
        f"script-src {csp_hash(SCRIPT)}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    )
)
"""No network at all: only our own style and script (by hash) and data: images (figures)."""
