/* Wardplan plan map: hover and click details, search by ward number or name, legend rows that zoom
 * to their area. Details HTML arrives escaped from the server (gis/maps.py); every other string from
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

  window.wardplan = {
    init: function (map, areas, wards) {
      window.wardplan.layers = { map: map, areas: areas, wards: wards }; // for checks and debugging
      bindDetails(areas);
      bindDetails(wards);
      searchControl(map, wards);
      legendZooms(map, areas);
      labelSize(map);
    },
    findWards: findWards,
  };
})();
