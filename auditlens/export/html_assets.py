"""The fixed CSS and script of the HTML report, kept apart so the CSP hashes cover exactly them.

The script only reads ``textContent`` and moves existing rows; it never builds markup from data.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root{--fg:#1d2330;--muted:#5d6677;--bg:#fff;--line:#dde1e8;--head:#f3f5f8;--accent:#2754c5}
@media (prefers-color-scheme:dark){:root{--fg:#e4e7ed;--muted:#9aa3b2;--bg:#15181e;--line:#2c323d;--head:#1e232b;--accent:#7fa2ff}}
*{box-sizing:border-box}
body{margin:0;padding:1.5rem 2rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.25rem;margin:2rem 0 .25rem;padding-top:.5rem;border-top:1px solid var(--line)}
.meta,.req,.desc,.count{color:var(--muted)}
.req{font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}
.card{display:block;min-width:9rem;padding:.6rem .9rem;border:1px solid var(--line);border-radius:8px;color:inherit;text-decoration:none;background:var(--head)}
.card:hover{border-color:var(--accent)}
.card .n{display:block;font-size:1.5rem;font-weight:700}
.card .l{display:block;color:var(--muted)}
.figures{display:flex;flex-wrap:wrap;gap:1rem;margin:.75rem 0}
.figures figure{margin:0}
.figures img{max-width:100%;height:auto}
.tools{display:flex;align-items:center;gap:1rem;margin:.5rem 0}
.tools input{padding:.3rem .5rem;min-width:16rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
.scroll{overflow:auto;max-height:75vh;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{padding:.3rem .55rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:pre-wrap;overflow-wrap:anywhere}
thead th{position:sticky;top:0;background:var(--head);cursor:pointer;user-select:none;white-space:nowrap}
thead th[aria-sort=ascending]::after{content:" \\25B2"}
thead th[aria-sort=descending]::after{content:" \\25BC"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{cursor:default;position:static}
.empty{padding:.75rem;font-style:italic;color:var(--muted)}
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
