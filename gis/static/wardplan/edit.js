/* Wardplan plan map, edit mode (served only on signed edit links, see app/api/plan_edit_map.py):
 * click a ward, pick its new CO, and the server's check answers at once (valid, or refused with
 * the reason naming the wards) with each affected CO's figures before and after; undo; save as a
 * new plan version (the plan shown is never changed). Every string from the data or the server is
 * set with textContent, never as HTML. Needs window.wardplan.layers (map.js) and the config:
 * checkUrl, sig (the link's signature, sent as the bearer token), planId, version, organisers. */
(function () {
  "use strict";

  var T = {
    edit: "Edit plan / योजना बदलें",
    stop: "Stop editing / बदलाव बंद करें",
    help: "Click a ward, then pick its new CO / वार्ड पर क्लिक करें, फिर नया सीओ चुनें",
    pick: "— new CO / नया सीओ —",
    none: "No change yet / अभी कोई बदलाव नहीं",
    checking: "Checking… / जाँच हो रही है…",
    valid: "✓ Valid: every rule holds / मान्य",
    refused: "✗ Refused / अस्वीकृत",
    failed: "Not checked / जाँच नहीं हुई",
    undo: "Undo / पूर्ववत",
    save: "Save as new version / नए संस्करण के रूप में सहेजें",
    draft: "Keep as draft (cannot be approved) / मसौदा",
    note: "Why (optional) / कारण",
    open: "Open it in edit mode / इसे खोलें",
    head: ["CO / सीओ", "wards / वार्ड", "poor households / गरीब परिवार", "deviation / विचलन",
      "km from home / घर से किमी"],
  };
  var NUM = new Intl.NumberFormat("en-IN", { maximumFractionDigits: 0 });

  function el(tag, cls, parent, text) {
    var node = L.DomUtil.create(tag, cls || "", parent);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function colours(areas) {
    var out = {};
    areas.eachLayer(function (item) {
      out[item.feature.properties.wp_org] = item.feature.properties.colour;
    });
    return out;
  }

  function fmt(value, kind) {
    if (kind === "pct") return (value >= 0 ? "+" : "") + value.toFixed(1) + " %";
    if (kind === "km") return value.toFixed(2);
    return NUM.format(value);
  }

  function cell(row, before, after, kind) {
    var td = el("td", "", row, fmt(before, kind) + " → " + fmt(after, kind));
    td.dataset.before = String(before);
    td.dataset.after = String(after);
    if (kind === "hh") td.textContent += " (" + (after >= before ? "+" : "−") +
      NUM.format(Math.abs(after - before)) + ")";
    return td;
  }

  function Editor(config, layers) {
    this.config = config;
    this.layers = layers;
    this.colour = colours(layers.areas);
    this.owner = {};
    this.byId = {};
    var self = this;
    layers.wards.eachLayer(function (item) {
      var p = item.feature.properties;
      self.owner[p.wp_id] = p.wp_org;
      self.byId[p.wp_id] = item;
    });
    this.moves = [];    // [[ward, co], …] in the order made
    this.history = [];  // earlier lists of moves, for undo
    this.selected = null;
    this.on = false;
    this.asked = 0;     // the latest check asked (older answers are dropped)
    this.answer = null;
    this.saved = false;
  }

  /* The panel sits outside the map's container (like the legend): a focused field inside the
   * container would scroll it, shifting the whole map. */
  Editor.prototype.build = function () {
    var self = this;
    var box = el("div", "wp-edit", document.body);
    self.toggle = el("button", "wp-edit-toggle", box, T.edit);
    self.toggle.type = "button";
    self.body = el("div", "wp-edit-body", box);
    self.body.hidden = true;
    el("div", "wp-edit-title", self.body,
      "Plan " + self.config.planId + " (version " + self.config.version + ")");
    el("div", "wp-edit-help", self.body, T.help);
    self.wardLine = el("div", "wp-edit-ward", self.body);
    self.select = el("select", "wp-edit-co", self.body);
    self.select.setAttribute("aria-label", T.pick);
    el("option", "", self.select, T.pick).value = "";
    self.config.organisers.forEach(function (o) {
      el("option", "", self.select, o[1] ? o[0] + " — " + o[1] : o[0]).value = o[0];
    });
    self.select.disabled = true;
    self.list = el("ol", "wp-edit-moves", self.body);
    self.status = el("div", "wp-edit-status", self.body, T.none);
    self.breaks = el("ul", "wp-edit-breaks", self.body);
    self.deltas = el("table", "wp-edit-deltas", self.body);
    self.objective = el("div", "wp-edit-objective", self.body);
    var actions = el("div", "wp-edit-actions", self.body);
    self.undoButton = el("button", "wp-edit-undo", actions, T.undo);
    self.note = el("input", "wp-edit-note", actions);
    self.note.placeholder = T.note;
    self.note.maxLength = 500;
    self.saveButton = el("button", "wp-edit-save", actions, T.save);
    self.draftButton = el("button", "wp-edit-draft", actions, T.draft);
    self.savedLine = el("div", "wp-edit-saved", self.body);
    [self.undoButton, self.saveButton, self.draftButton].forEach(function (b) { b.type = "button"; });
    L.DomEvent.on(self.toggle, "click", function () { self.setOn(!self.on); });
    L.DomEvent.on(self.select, "change", function () { self.pick(self.select.value); });
    L.DomEvent.on(self.undoButton, "click", function () { self.undo(); });
    L.DomEvent.on(self.saveButton, "click", function () { self.save(false); });
    L.DomEvent.on(self.draftButton, "click", function () { self.save(true); });
    self.render();
    this.layers.wards.eachLayer(function (item) {
      item.on("click", function () { if (self.on) self.choose(item.feature.properties.wp_id); });
    });
  };

  /* Edit mode on: ward clicks select (their details popups are set aside until it is off). */
  Editor.prototype.setOn = function (on) {
    this.on = on;
    this.toggle.textContent = on ? T.stop : T.edit;
    this.body.hidden = !on;
    this.layers.map.closePopup();
    this.layers.wards.eachLayer(function (item) {
      if (on) item.unbindPopup();
      else item.bindPopup(item.feature.properties.popup, { maxWidth: 400 });
    });
    if (!on) this.choose(null);
  };

  Editor.prototype.current = function (ward) {
    var found = this.moves.filter(function (m) { return m[0] === ward; });
    return found.length ? found[0][1] : this.owner[ward];
  };

  Editor.prototype.choose = function (ward) {
    if (this.saved) return;
    this.selected = ward;
    this.select.value = "";
    this.select.disabled = ward === null;
    this.paint();
    if (ward === null) {
      this.wardLine.textContent = "";
      return;
    }
    var now = this.current(ward);
    Array.prototype.forEach.call(this.select.options, function (option) {
      option.disabled = option.value === now; // the ward's CO now: not a move
    });
    var p = this.byId[ward].feature.properties;
    var name = [p.wp_name, p.wp_name_hi].filter(Boolean).join(" ");
    this.wardLine.textContent = "Ward / वार्ड " + ward + (name ? " · " + name : "") + " → " +
      this.current(ward);
  };

  /* The selected ward goes to ``co``; back to its own CO, its move is dropped. */
  Editor.prototype.pick = function (co) {
    var ward = this.selected;
    if (!co || ward === null || co === this.current(ward)) return;
    this.history.push(this.moves.slice());
    this.moves = this.moves.filter(function (m) { return m[0] !== ward; });
    if (co !== this.owner[ward]) this.moves.push([ward, co]);
    this.choose(ward);
    this.check();
  };

  Editor.prototype.undo = function () {
    if (!this.history.length || this.saved) return;
    this.moves = this.history.pop();
    this.choose(this.selected);
    this.check();
  };

  Editor.prototype.paint = function () {
    var self = this;
    var moved = {};
    this.moves.forEach(function (m) { moved[m[0]] = m[1]; });
    this.layers.wards.eachLayer(function (item) {
      var id = item.feature.properties.wp_id;
      self.layers.wards.resetStyle(item);
      if (moved[id]) {
        item.setStyle({ fillColor: self.colour[moved[id]] || "#888", fillOpacity: 0.9,
          color: "#000", weight: 3, dashArray: "5 3" });
      }
      if (id === self.selected) item.setStyle({ color: "#d7191c", weight: 4, dashArray: null });
    });
  };

  Editor.prototype.payload = function (extra) {
    var out = { moves: this.moves.map(function (m) { return { ward_id: m[0], organiser_id: m[1] }; }) };
    Object.keys(extra || {}).forEach(function (k) { out[k] = extra[k]; });
    return JSON.stringify(out);
  };

  Editor.prototype.post = function (extra) {
    return fetch(this.config.checkUrl, {
      method: "POST",
      headers: { "Authorization": "Bearer " + this.config.sig, "Content-Type": "application/json" },
      body: this.payload(extra),
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  };

  Editor.prototype.check = function () {
    var self = this;
    var asked = ++this.asked;
    this.answer = null;
    if (!this.moves.length) {
      this.render();
      return Promise.resolve();
    }
    this.render(T.checking);
    return this.post({}).then(function (got) {
      if (asked !== self.asked) return;
      self.answer = got;
      self.render();
    }, function (error) {
      if (asked !== self.asked) return;
      self.answer = { ok: false, data: { detail: String(error) } };
      self.render();
    });
  };

  Editor.prototype.render = function (busy) {
    var self = this;
    this.list.textContent = "";
    this.moves.forEach(function (m) {
      el("li", "", self.list, "Ward / वार्ड " + m[0] + ": " + self.owner[m[0]] + " → " + m[1]);
    });
    this.breaks.textContent = "";
    this.deltas.textContent = "";
    this.objective.textContent = "";
    var got = this.answer;
    var valid = Boolean(got && got.ok && got.data.valid);
    this.status.className = "wp-edit-status" + (got ? (valid ? " wp-valid" : " wp-refused") : "");
    if (busy) this.status.textContent = busy;
    else if (!got) this.status.textContent = T.none;
    else if (!got.ok) this.status.textContent = T.failed + ": " + (got.data.detail || got.data.title);
    else {
      this.status.textContent = valid ? T.valid : T.refused;
      got.data.breaks.forEach(function (b) { el("li", "", self.breaks, b); });
      this.table(got.data.deltas);
      this.objective.textContent = this.objectiveText(got.data);
    }
    this.undoButton.disabled = this.saved || !this.history.length;
    this.saveButton.disabled = this.saved || !valid;
    this.draftButton.hidden = !(got && got.ok && !valid);
    this.draftButton.disabled = this.saved;
  };

  Editor.prototype.table = function (deltas) {
    var head = el("tr", "", el("thead", "", this.deltas));
    T.head.forEach(function (h) { el("th", "", head, h); });
    var body = el("tbody", "", this.deltas);
    deltas.forEach(function (d) {
      var row = el("tr", "wp-edit-delta", body);
      row.dataset.organiser = d.organiser_id;
      el("td", "", row, d.organiser_id);
      cell(row, d.before.wards, d.after.wards, "n");
      cell(row, d.before.poor_households, d.after.poor_households, "hh");
      cell(row, d.before.deviation_from_mean_pct, d.after.deviation_from_mean_pct, "pct");
      cell(row, d.before.mean_km_from_home, d.after.mean_km_from_home, "km");
    });
  };

  Editor.prototype.objectiveText = function (data) {
    var text = "Distance after the edit: " + NUM.format(data.objective) +
      " (poor households × km; plan " + this.config.planId + ": " +
      NUM.format(data.parent_objective) + "). ";
    if (data.above_parent_bound_pct === null) return text + "No bound is known for this plan.";
    return text + data.above_parent_bound_pct.toFixed(2) +
      " % above the best bound known for plan " + this.config.planId +
      " — an edited plan is not optimal.";
  };

  Editor.prototype.save = function (draft) {
    var self = this;
    if (this.saved || !this.moves.length) return Promise.resolve();
    var extra = { save: true, draft: draft };
    if (this.note.value.trim()) extra.note = this.note.value.trim();
    this.saveButton.disabled = true;
    return this.post(extra).then(function (got) {
      if (!got.ok) {
        self.answer = got;
        self.render();
        return;
      }
      self.saved = true;
      self.answer = got;
      self.render();
      self.select.disabled = true;
      self.savedLine.textContent = "Saved as version " + got.data.version + " (plan " +
        got.data.saved.id + "): " + got.data.saved.summary + " ";
      var open = el("a", "wp-edit-open", self.savedLine, T.open);
      open.href = got.data.map_url;
    });
  };

  window.wardplan.edit = {
    start: function (config) {
      var editor = new Editor(config, window.wardplan.layers);
      editor.build();
      window.wardplan.edit.editor = editor; // for checks and debugging
      return editor;
    },
  };
})();
