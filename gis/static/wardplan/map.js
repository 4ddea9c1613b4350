/* Wardplan plan map: hover and click details, search by ward number or name, legend rows that zoom
 * to their area, and labels placed clear of the home markers and of each other. Details HTML arrives escaped from the server (gis/maps.py); every other string from
 * the data (ward names in search results) is set with textContent, never as HTML. */
(function () {
  "use strict";

  var NO_MATCH = "No ward matches / कोई वार्ड नहीं मिला";
  var MAX_RESULTS = 8;

  function norm(text) {
    return String(text || "").trim().toLowerCase();
  }

  function bindDetails(layer) {
    layer.eachLayer(function (item) {
      var props = item.feature.properties;
      item.bindTooltip(props.tip, { sticky: true });
      item.bindPopup(props.popup, { maxWidth: 400 });
    });
  }

  /* Wards whose number equals the query first, then wards whose name contains it. */
  function findWards(wards, query) {
    var q = norm(query);
    var exact = [];
    var named = [];
    if (!q) return [];
    wards.eachLayer(function (item) {
      var p = item.feature.properties;
      if (norm(p.wp_id) === q) exact.push(item);
      else if (norm(p.wp_name).indexOf(q) >= 0 || norm(p.wp_name_hi).indexOf(q) >= 0) named.push(item);
    });
    return exact.concat(named);
  }

  function describe(item) {
    var p = item.feature.properties;
    var name = [p.wp_name, p.wp_name_hi].filter(Boolean).join(" ");
    return p.wp_id + (name ? " · " + name : "") + " → " + p.wp_org;
  }

  function searchControl(map, wards) {
    var selected = null;
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "wp-search leaflet-bar");
      var input = L.DomUtil.create("input", "wp-search-input", box);
      var results = L.DomUtil.create("div", "wp-search-results", box);
      input.type = "search";
      input.placeholder = "Ward no. or name / वार्ड संख्या या नाम";
      input.setAttribute("aria-label", input.placeholder);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);

      function show(item) {
        if (selected) wards.resetStyle(selected);
        selected = item;
        item.setStyle({ color: "#d7191c", weight: 4 });
        item.bringToFront();
        map.fitBounds(item.getBounds(), { maxZoom: 15 });
        item.openPopup(item.getBounds().getCenter());
      }

      function list(found) {
        results.textContent = "";
        if (!norm(input.value)) return;
        if (!found.length) {
          L.DomUtil.create("div", "wp-search-note", results).textContent = NO_MATCH;
          return;
        }
        found.slice(0, MAX_RESULTS).forEach(function (item) {
          var button = L.DomUtil.create("button", "wp-search-hit", results);
          button.type = "button";
          button.textContent = describe(item);
          L.DomEvent.on(button, "click", function () { show(item); });
        });
        if (found.length > MAX_RESULTS) {
          L.DomUtil.create("div", "wp-search-note", results).textContent =
            "+" + (found.length - MAX_RESULTS) + " more / और";
        }
      }

      L.DomEvent.on(input, "input", function () { list(findWards(wards, input.value)); });
      L.DomEvent.on(input, "keydown", function (event) {
        if (event.key !== "Enter") return;
        var found = findWards(wards, input.value);
        list(found);
        if (found.length) show(found[0]);
      });
      return box;
    };
    control.addTo(map);
  }

  function legendZooms(map, areas) {
    var byOrganiser = {};
    areas.eachLayer(function (item) { byOrganiser[item.feature.properties.wp_org] = item; });
    document.querySelectorAll(".wp-legend-row").forEach(function (row) {
      row.addEventListener("click", function () {
        var item = byOrganiser[row.dataset.organiser];
        if (!item) return;
        map.fitBounds(item.getBounds());
        item.openPopup(item.getBounds().getCenter());
      });
    });
  }

  function labelSize(map) {
    function update() {
      map.getContainer().classList.toggle("wp-zoomed-out", map.getZoom() < 12);
    }
    map.on("zoomend", update);
    update();
  }


  /* Label placement. Each label (CO ids first, then ward numbers) carries its candidate spots,
   * best first (data-at: [[lat, lng], …], from gis/labels.py). At every zoom, each label takes the
   * first spot, or a small shift of it, whose box overlaps no marker (CO homes, community centres)
   * and no label already placed; a label with no free spot is hidden at that zoom (it shows when
   * zoomed in, and its ward's tooltip and search still give it). */
  var LABEL_SELECTOR = ".wp-co-label, .wp-ward-label";
  var MARKER_CLASSES = ["wp-home", "wp-centre"];
  var GAP = 1; // px kept free around every box

  function overlaps(a, b) {
    return a.left < b.right + GAP && b.left < a.right + GAP &&
      a.top < b.bottom + GAP && b.top < a.bottom + GAP;
  }

  function markerBoxes(map) {
    var boxes = [];
    map.eachLayer(function (layer) {
      if (!(layer instanceof L.CircleMarker)) return;
      var cls = String(layer.options.className || "");
      if (!MARKER_CLASSES.some(function (c) { return cls.indexOf(c) >= 0; })) return;
      var p = map.latLngToContainerPoint(layer.getLatLng());
      var r = layer.getRadius() + (layer.options.weight || 0);
      boxes.push({ left: p.x - r, right: p.x + r, top: p.y - r, bottom: p.y + r });
    });
    return boxes;
  }

  function labelItems(map) {
    var items = [];
    map.eachLayer(function (layer) {
      if (!(layer instanceof L.Marker) || !layer.getElement()) return;
      var el = layer.getElement().querySelector(LABEL_SELECTOR);
      if (el) items.push({ marker: layer, el: el, co: el.classList.contains("wp-co-label") });
    });
    items.sort(function (a, b) { return (b.co ? 1 : 0) - (a.co ? 1 : 0); });
    return items;
  }

  function tries(map, item, base, w, h) {
    var spots = JSON.parse(item.el.dataset.at || "[]");
    var shifts = [[0, 0], [0, -h], [0, h], [w * 0.6, 0], [-w * 0.6, 0]];
    var out = [];
    (spots.length ? spots : [[item.marker.getLatLng().lat, item.marker.getLatLng().lng]])
      .forEach(function (spot) {
        var p = map.latLngToContainerPoint(spot);
        shifts.forEach(function (s) { out.push([p.x - base.x + s[0], p.y - base.y + s[1]]); });
      });
    return out;
  }

  function placeLabels(map) {
    var taken = markerBoxes(map);
    labelItems(map).forEach(function (item) {
      item.el.style.transform = "";
      item.el.classList.remove("wp-label-hidden");
      // The label's box where its marker belongs now (the element may not have moved yet at the
      // end of a zoom): its offset inside the icon, from the icon's anchor at the marker's point.
      var r = item.el.getBoundingClientRect();
      var icon = item.marker.getElement().getBoundingClientRect();
      var anchor = L.point(item.marker.options.icon.options.iconAnchor || [0, 0]);
      var base = map.latLngToContainerPoint(item.marker.getLatLng());
      var left = base.x - anchor.x + (r.left - icon.left);
      var top = base.y - anchor.y + (r.top - icon.top);
      var box0 = { left: left, right: left + r.width, top: top, bottom: top + r.height };
      var chosen = null;
      tries(map, item, base, r.width, r.height).some(function (d) {
        var box = { left: box0.left + d[0], right: box0.right + d[0],
          top: box0.top + d[1], bottom: box0.bottom + d[1] };
        if (taken.some(function (t) { return overlaps(box, t); })) return false;
        chosen = { d: d, box: box };
        return true;
      });
      if (!chosen) {
        item.el.classList.add("wp-label-hidden");
        return;
      }
      taken.push(chosen.box);
      item.el.style.transform = "translate(" + chosen.d[0] + "px," + chosen.d[1] + "px)";
    });
  }

  function labelPlacement(map) {
    function update() { placeLabels(map); }
    map.on("moveend overlayadd overlayremove resize", update);
    update();
  }

  /* A re-plan's moved wards (gis/moved_layer.py) lie over the wards: each shows its move on hover,
   * and passes a click on to the ward below (its details; the edit mode's choice). */
  function bindMoved(moved, wards) {
    var byId = {};
    wards.eachLayer(function (item) { byId[item.feature.properties.wp_id] = item; });
    moved.eachLayer(function (item) {
      item.bindTooltip(item.feature.properties.tip, { sticky: true });
      item.on("click", function (e) {
        var ward = byId[item.feature.properties.wp_id];
        if (ward) ward.fire("click", { latlng: e.latlng, originalEvent: e.originalEvent });
      });
    });
  }

  window.wardplan = {
    init: function (map, areas, wards, moved) {
      // for checks and debugging
      window.wardplan.layers = { map: map, areas: areas, wards: wards, moved: moved || null };
      bindDetails(areas);
      bindDetails(wards);
      if (moved) bindMoved(moved, wards);
      searchControl(map, wards);
      legendZooms(map, areas);
      labelSize(map);
      labelPlacement(map);
    },
    placeLabels: placeLabels,
    findWards: findWards,
  };
})();
