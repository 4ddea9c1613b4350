"""The state dashboard page: a map of the state's cities and a sortable, filterable table.

Self-contained HTML (Leaflet from the app's own ``/static``; the inline script the map CSP allows);
the figures are embedded as JSON, so the page makes no further requests until a link is followed.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from typing import Any

from app.services.dashboard import CityRow, Rollup
from gis import hindi
from gis.maps import STATIC_URL

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Wardplan — __TITLE__</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="__STATIC__/leaflet/leaflet.css">
<script src="__STATIC__/leaflet/leaflet.js"></script>
<style>
body{font-family:sans-serif;margin:0 1rem;color:#222}
h1{font-size:1.3rem;margin:.6rem 0 .1rem} .hi{color:#555;margin:0 0 .4rem}
#map{height:360px;border:1px solid #bbb;margin:.4rem 0;background:#f4f4f0}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border:1px solid #ccc;padding:.2rem .4rem;text-align:right}
th{background:#eee;cursor:pointer;user-select:none} td.t,th.t{text-align:left}
tr.total td{font-weight:bold;background:#f3f0e0}
.controls{margin:.3rem 0} .controls *{margin-right:.6rem}
.legend{background:#fff;padding:.3rem;font-size:.8rem;line-height:1.3}
.legend i{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:middle}
</style></head><body>
<h1>__TITLE__: cities, COs and plans</h1>
<p class="hi">__HINDI__</p>
<div class="controls">
 <a id="csv" href="figures.csv__QUERY__">CSV</a><a id="xlsx" href="figures.xlsx__QUERY__">XLSX</a>
 <a id="pdf" href="summary.pdf__QUERY__">Printable summary (PDF)</a>
 <label>Colour by <select id="colour"><option value="status">plan status</option>
 <option value="shortfall">CO shortfall</option></select></label>
 <label>Filter <input id="filter" placeholder="city or district"></label>
 <label>Plan <select id="status"><option value="">any</option><option>none</option>
 <option>draft</option><option>approved</option></select></label>
</div>
<div id="map"></div>
<table id="cities"><thead><tr>__HEAD__</tr></thead><tbody></tbody>
<tfoot><tr class="total">__FOOT__</tr></tfoot></table>
<script id="figures" type="application/json">__DATA__</script>
<script>
(function () {
  const data = JSON.parse(document.getElementById("figures").textContent);
  const cols = data.columns, rows = data.rows;
  const text = new Set(["state", "district", "city", "name", "plan_status", "plan_date"]);
  const statusColour = {none: "#bdbdbd", draft: "#f4a582", approved: "#1b7837"};
  function shortColour(s) {
    if (s === null) return "#bdbdbd";
    return s === 0 ? "#1b7837" : s <= 2 ? "#fdae61" : "#d7191c";
  }
  const byCity = Object.fromEntries(rows.map(r => [r.city, r]));
  let key = "city", asc = true;
  const body = document.querySelector("#cities tbody");
  function fmt(v) { return v === null ? "—" : typeof v === "number" ? v.toLocaleString("en-IN") : v; }
  function cell(r, c) {
    const td = document.createElement("td");
    if (text.has(c)) td.className = "t";
    if (c === "name" && r.plan_id !== null) {
      const a = document.createElement("a");
      a.href = data.map_urls[r.city] ||
        "/cities/" + encodeURIComponent(r.city) + "/plans/" + r.plan_id + "/map";
      a.textContent = r.name; a.className = "plan-link"; td.appendChild(a);
    } else td.textContent = fmt(r[c]);
    return td;
  }
  function visible() {
    const q = document.getElementById("filter").value.trim().toLowerCase();
    const st = document.getElementById("status").value;
    return rows.filter(r => (!q || (r.city + " " + r.name + " " + r.district).toLowerCase().includes(q))
      && (!st || r.plan_status === st));
  }
  function draw() {
    const shown = visible().sort((a, b) => {
      const x = a[key], y = b[key];
      if (x === y) return 0; if (x === null) return 1; if (y === null) return -1;
      return (x < y ? -1 : 1) * (asc ? 1 : -1);
    });
    body.replaceChildren(...shown.map(r => {
      const tr = document.createElement("tr"); tr.dataset.city = r.city;
      cols.forEach(c => tr.appendChild(cell(r, c))); return tr;
    }));
    layer.setStyle(styleOf);
  }
  document.querySelectorAll("#cities thead th").forEach(th => th.addEventListener("click", () => {
    asc = key === th.dataset.key ? !asc : true; key = th.dataset.key; draw();
  }));
  ["filter", "status", "colour"].forEach(id => document.getElementById(id)
    .addEventListener("input", draw));
  const map = L.map("map", {attributionControl: false});
  function styleOf(f) {
    const r = byCity[f.properties.city]; const by = document.getElementById("colour").value;
    const shown = visible().some(v => v.city === f.properties.city);
    const fill = by === "status" ? statusColour[r.plan_status] : shortColour(r.shortfall);
    return {color: "#333", weight: 1, fillColor: fill, fillOpacity: shown ? 0.75 : 0.1};
  }
  const layer = L.geoJSON(data.outlines, {style: styleOf, onEachFeature: (f, l) => {
    const r = byCity[f.properties.city];
    l.bindTooltip(r.name + ": " + r.plan_status + ", shortfall " + fmt(r.shortfall));
  }}).addTo(map);
  if (layer.getLayers().length) map.fitBounds(layer.getBounds()); else map.setView([22, 79], 4);
  const legend = L.control({position: "bottomright"});
  legend.onAdd = () => { const d = L.DomUtil.create("div", "legend");
    d.innerHTML = "<i style='background:#1b7837'></i>approved / no shortfall<br>" +
      "<i style='background:#f4a582'></i>draft<br><i style='background:#fdae61'></i>short by 1–2<br>" +
      "<i style='background:#d7191c'></i>short by 3+<br><i style='background:#bdbdbd'></i>no plan / no layer";
    return d; };
  legend.addTo(map);
  window.wardplanState = {map: map, layer: layer, draw: draw};
  draw();
})();
</script></body></html>
"""

HEADINGS = {
    "district": "District",
    "name": "City",
    "population": "Population",
    "poor_households_25": "Poor HH 25 %",
    "poor_households_chosen": "Poor HH (chosen)",
    "poor_households_30": "Poor HH 30 %",
    "cos_required_chosen": "COs required",
    "cos_in_post": "COs in post",
    "shortfall": "Shortfall",
    "plan_status": "Plan",
    "plan_date": "Plan date",
    "tightest_balance_pct": "Tightest balance ±%",
    "mean_km_from_home": "Mean km from home",
}


def page(
    title: str,
    rows: list[CityRow],
    total: Rollup | None,
    outlines: dict[str, Any],
    *,
    query: str = "",
    map_urls: dict[str, str] | None = None,
) -> str:
    """The page for ``rows`` (one state's cities), with the state's total in the footer.

    ``query``: appended to the download links (a signed link's, so they open without a key);
    ``map_urls``: each planned city's signed plan-map link, followed from the table."""
    head = "".join(
        f'<th data-key="{k}" class="{"t" if k in ("district", "name", "plan_status") else ""}">'
        f"{html.escape(v)}</th>"
        for k, v in HEADINGS.items()
    )
    sums = total.sums if total is not None else {}
    foot = "".join(
        f"<td>{sums[k]:,}</td>"
        if k in sums
        else ("<td class='t'>Total</td>" if k == "name" else "<td></td>")
        for k in HEADINGS
    )
    data = {
        "columns": list(HEADINGS),
        "rows": [asdict(r) for r in rows],
        "outlines": outlines,
        "map_urls": map_urls or {},
    }
    embedded = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return (
        TEMPLATE.replace("__STATIC__", STATIC_URL)
        .replace("__TITLE__", html.escape(title))
        .replace("__HINDI__", html.escape(f"{title}: शहर, {hindi.CO} (CO) और योजनाएँ"))
        .replace("__QUERY__", html.escape(f"?{query}" if query else ""))
        .replace("__HEAD__", head)
        .replace("__FOOT__", foot)
        .replace("__DATA__", embedded)
    )
