// The event browser of a rareml report (src/report/html.rs writes the data this reads).
// No request leaves the page: the data are the two JSON script elements above this one.
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("table-data").textContent);
  if (!T) { return; }
  var pictures = null; // parsed on the first selection (lazy)
  function picture(i) {
    if (pictures === null) {
      pictures = JSON.parse(document.getElementById("picture-data").textContent);
    }
    return pictures[i];
  }

  // Viridis at ten stops (matplotlib's colour map), interpolated into a 256-entry table.
  var STOPS = ["440154", "482878", "3e4989", "31688e", "26828e", "1f9e89", "35b779", "6ece58", "b5de2b", "fde725"];
  var LUT = new Uint8Array(256 * 3);
  (function () {
    var rgb = STOPS.map(function (h) { return [0, 2, 4].map(function (k) { return parseInt(h.substr(k, 2), 16); }); });
    for (var i = 0; i < 256; i++) {
      var t = i / 255 * (rgb.length - 1), k = Math.min(Math.floor(t), rgb.length - 2), f = t - k;
      for (var c = 0; c < 3; c++) { LUT[3 * i + c] = Math.round(rgb[k][c] * (1 - f) + rgb[k + 1][c] * f); }
    }
  })();

  function decode(b64) {
    var s = atob(b64), a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { a[i] = s.charCodeAt(i); }
    return a;
  }

  var cols = T.columns, rows = T.rows;
  var order = rows.map(function (_, i) { return i; }); // the default order: most wrong first
  var visible = order.slice(), selected = -1, sortCol = -1, sortDir = 0;
  var filters = cols.map(function () { return ""; });
  var tbody = document.querySelector("#events tbody");
  var thead = document.querySelector("#events thead");

  document.getElementById("browser-title").textContent = T.title;
  var note = T.note;
  if (T.with_pictures < T.with_picture_data) {
    note += " Pictures stored for " + T.with_pictures + " of " + rows.length +
      " events (the first in the default order; the page's picture budget is " +
      Math.round(T.budget_bytes / 1048576) + " MiB).";
  }
  document.getElementById("browser-note").textContent = note;

  function fmt(v, c) {
    if (v === null || v === undefined) { return "—"; }
    if (c.digits === null) { return String(v); }
    return Number(v).toFixed(c.digits);
  }

  // Header with sort toggles; filter menus for category columns.
  var htr = document.createElement("tr");
  var th0 = document.createElement("th"); th0.textContent = "#"; th0.title = "rank in the default order (most confidently wrong first)";
  th0.addEventListener("click", function () { sortCol = -1; sortDir = 0; apply(); });
  htr.appendChild(th0);
  cols.forEach(function (c, k) {
    var th = document.createElement("th");
    th.textContent = c.name;
    th.addEventListener("click", function () {
      if (sortCol === k) { sortDir = sortDir === 1 ? -1 : 1; } else { sortCol = k; sortDir = c.digits === null ? 1 : -1; }
      apply();
    });
    htr.appendChild(th);
    if (c.digits === null) {
      var values = {};
      rows.forEach(function (r) { values[r[k]] = true; });
      var sel = document.createElement("select");
      sel.setAttribute("data-column", c.name);
      var all = document.createElement("option"); all.value = ""; all.textContent = "all";
      sel.appendChild(all);
      Object.keys(values).sort().forEach(function (v) {
        var o = document.createElement("option"); o.value = v; o.textContent = v; sel.appendChild(o);
      });
      sel.addEventListener("change", function () { filters[k] = sel.value; apply(); });
      var lab = document.createElement("label");
      lab.textContent = c.name + " ";
      lab.appendChild(sel);
      document.getElementById("filters").appendChild(lab);
    }
  });
  thead.appendChild(htr);
  var search = document.getElementById("search");
  search.addEventListener("input", apply);

  function apply() {
    var q = search.value.trim().toLowerCase();
    visible = order.filter(function (i) {
      var r = rows[i];
      for (var k = 0; k < cols.length; k++) {
        if (filters[k] !== "" && String(r[k]) !== filters[k]) { return false; }
      }
      if (q === "") { return true; }
      return r.some(function (v, k) { return fmt(v, cols[k]).toLowerCase().indexOf(q) >= 0; });
    });
    if (sortCol >= 0) {
      var k = sortCol, d = sortDir;
      visible.sort(function (a, b) {
        var x = rows[a][k], y = rows[b][k];
        if (x === y) { return a - b; }
        if (x === null) { return 1; }
        if (y === null) { return -1; }
        return (x < y ? -1 : 1) * d;
      });
    }
    Array.prototype.forEach.call(htr.children, function (th, j) {
      th.className = j - 1 === sortCol && sortCol >= 0 ? (sortDir === 1 ? "sorted-asc" : "sorted-desc") : "";
    });
    render();
  }

  var wrongCol = cols.findIndex(function (c) { return c.name === "outcome"; });
  function render() {
    var html = [];
    for (var n = 0; n < visible.length; n++) {
      var i = visible[n], r = rows[i];
      html.push('<tr data-row="' + i + '"' + (i === selected ? ' class="selected"' : "") + "><td>" + (i + 1) + "</td>");
      for (var k = 0; k < cols.length; k++) {
        var cls = k === wrongCol && String(r[k]).indexOf("wrong") === 0 ? ' class="wrong"' : "";
        html.push("<td" + cls + ">" + escapeHtml(fmt(r[k], cols[k])) + "</td>");
      }
      html.push("</tr>");
    }
    tbody.innerHTML = html.join("");
    document.getElementById("count").textContent = visible.length + " of " + rows.length + " events listed";
  }

  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  tbody.addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr");
    if (tr) { select(Number(tr.getAttribute("data-row"))); }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.target === search || ev.target.tagName === "SELECT") { return; }
    var step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[ev.key];
    if (!step || visible.length === 0) { return; }
    ev.preventDefault();
    var pos = visible.indexOf(selected);
    pos = pos < 0 ? 0 : Math.max(0, Math.min(visible.length - 1, pos + step));
    select(visible[pos]);
  });

  function select(i) {
    selected = i;
    Array.prototype.forEach.call(tbody.querySelectorAll("tr.selected"), function (tr) { tr.className = ""; });
    var tr = tbody.querySelector('tr[data-row="' + i + '"]');
    if (tr) { tr.className = "selected"; tr.scrollIntoView({ block: "nearest" }); }
    show(i);
  }

  function show(i) {
    var view = document.getElementById("view");
    view.innerHTML = "";
    var h = document.createElement("h3");
    h.textContent = cols.map(function (c, k) { return c.name + " " + fmt(rows[i][k], c); }).join(" · ");
    view.appendChild(h);
    var p = picture(i);
    if (!p) {
      var m = document.createElement("p"); m.className = "hint";
      m.textContent = "No pictures stored for this event.";
      view.appendChild(m);
      return;
    }
    var bar = document.createElement("div"); bar.className = "colorbar";
    var cb = document.createElement("canvas"); cb.width = 160; cb.height = 12;
    var cx = cb.getContext("2d"), im = cx.createImageData(160, 12);
    for (var x = 0; x < 160; x++) {
      var l = Math.round(x / 159 * 255);
      for (var y = 0; y < 12; y++) { var o = 4 * (y * 160 + x); im.data[o] = LUT[3 * l]; im.data[o + 1] = LUT[3 * l + 1]; im.data[o + 2] = LUT[3 * l + 2]; im.data[o + 3] = 255; }
    }
    cx.putImageData(im, 0, 0);
    bar.appendChild(document.createTextNode(p.scale + ": " + p.lo.toPrecision(3)));
    bar.appendChild(cb);
    bar.appendChild(document.createTextNode(p.hi.toPrecision(3) + " (common scale)"));
    view.appendChild(bar);
    var legend = {};
    var box = document.createElement("div"); box.className = "panels";
    p.panels.forEach(function (panel) {
      var div = document.createElement("div"); div.className = "panel";
      var t = document.createElement("div");
      t.textContent = panel.title + (panel.own ? " — own scale: " + panel.own.scale + " " + panel.own.lo.toPrecision(3) + "…" + panel.own.hi.toPrecision(3) : "");
      div.appendChild(t);
      var c = panel.kind === "image" ? drawImage(panel) : drawScatter(panel);
      div.appendChild(c);
      var ax = document.createElement("div"); ax.textContent = panel.axes[0] + " → · " + panel.axes[1] + (panel.kind === "image" ? " ↓" : " ↑"); ax.className = "hint";
      div.appendChild(ax);
      panel.marks.forEach(function (m) { legend[m.label] = m.color; });
      box.appendChild(div);
    });
    view.appendChild(box);
    var lg = document.createElement("div"); lg.className = "legend";
    Object.keys(legend).forEach(function (k) {
      var s = document.createElement("span"); s.style.color = legend[k]; s.textContent = "✚ " + k; lg.appendChild(s);
    });
    if (lg.children.length > 0) { view.appendChild(lg); }
  }

  // Draws marks and the path; `tx`, `ty` map panel coordinates to canvas pixels.
  function overlay(ctx, panel, tx, ty) {
    if (panel.path.length > 1) {
      ctx.strokeStyle = "#ff4040"; ctx.lineWidth = 1.5; ctx.beginPath();
      panel.path.forEach(function (q, n) { if (n === 0) { ctx.moveTo(tx(q[0]), ty(q[1])); } else { ctx.lineTo(tx(q[0]), ty(q[1])); } });
      ctx.stroke();
    }
    panel.marks.forEach(function (m) {
      var x = tx(m.x), y = ty(m.y);
      ctx.strokeStyle = m.color; ctx.lineWidth = 2; ctx.beginPath();
      ctx.moveTo(x - 6, y); ctx.lineTo(x + 6, y); ctx.moveTo(x, y - 6); ctx.lineTo(x, y + 6); ctx.stroke();
    });
  }

  function drawImage(panel) {
    var w = panel.w, h = panel.h, data = decode(panel.data);
    // Square pixels up to 200 px a side; a long, flat image (waveforms: samples × strips) is
    // stretched vertically to at least 160 px.
    var zx = Math.max(1, Math.floor(Math.min(200 / w, 200 / h)));
    var zy = Math.max(zx, Math.floor(160 / h));
    var src = document.createElement("canvas"); src.width = w; src.height = h;
    var sctx = src.getContext("2d"), im = sctx.createImageData(w, h);
    for (var i = 0; i < w * h; i++) {
      var l = data[i];
      im.data[4 * i] = LUT[3 * l]; im.data[4 * i + 1] = LUT[3 * l + 1]; im.data[4 * i + 2] = LUT[3 * l + 2]; im.data[4 * i + 3] = 255;
    }
    sctx.putImageData(im, 0, 0);
    var c = document.createElement("canvas"); c.width = w * zx; c.height = h * zy;
    var ctx = c.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(src, 0, 0, w * zx, h * zy);
    overlay(ctx, panel, function (x) { return (x + 0.5) * zx; }, function (y) { return (y + 0.5) * zy; });
    return c;
  }

  function drawScatter(panel) {
    var data = decode(panel.data), f = new Float32Array(data.buffer, 0, 3 * panel.n);
    var xr = panel.x, yr = panel.y, W = 240, H = Math.round(W * (yr[1] - yr[0]) / (xr[1] - xr[0]));
    var c = document.createElement("canvas"); c.width = W; c.height = H;
    var ctx = c.getContext("2d");
    ctx.fillStyle = "#" + STOPS[0]; ctx.fillRect(0, 0, W, H);
    var tx = function (x) { return (x - xr[0]) / (xr[1] - xr[0]) * W; };
    var ty = function (y) { return (yr[1] - y) / (yr[1] - yr[0]) * H; };
    var side = Math.max(1.5, panel.cell / (xr[1] - xr[0]) * W);
    for (var i = 0; i < panel.n; i++) {
      var l = Math.round(f[3 * i + 2]);
      ctx.fillStyle = "rgb(" + LUT[3 * l] + "," + LUT[3 * l + 1] + "," + LUT[3 * l + 2] + ")";
      ctx.fillRect(tx(f[3 * i]) - side / 2, ty(f[3 * i + 1]) - side / 2, side, side);
    }
    overlay(ctx, panel, tx, ty);
    return c;
  }

  apply();
  window.rareml = { select: function (n) { if (visible.length > n) { select(visible[n]); } }, listed: function () { return visible.length; } };
})();
