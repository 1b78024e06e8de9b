/* qscore report: sortable, filterable, paginated tables built from the JSON embedded in the page.
   Vanilla JavaScript, no libraries, no network.  Each <script type="application/json"
   class="qs-table-data" data-target="ID"> holds {columns: [{key, label, type, digits, title}],
   rows: [[...]] (a 'link' column holds a relative address), flag: column index or null, pageSize: n, residue: [chain, number, ins] column indices or
   absent}; the table is drawn into #ID.  A click on a row that names a residue sends the event
   'qs-residue' ({chain, num, ins}), which the 3D view (viewer.js) answers by focusing it. */
(function () {
  "use strict";

  function isEmpty(v) {
    return v === null || v === undefined || v === "";
  }

  function format(v, col) {
    if (isEmpty(v)) return "\u2013";
    if (col.type === "num" && typeof v === "number" && col.digits !== undefined) return v.toFixed(col.digits);
    return String(v);
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  var FLAG_TEXT = {below: "\u25BC below", above: "\u25B2 above", within: "within"};

  function QsTable(root, spec) {
    this.root = root;
    this.spec = spec;
    this.rows = spec.rows;
    this.view = spec.rows.slice();
    this.sortCol = null;
    this.sortDir = 1;
    this.page = 0;
    this.pageSize = spec.pageSize || 50;
    this.query = "";
    this.flag = "";
    this.build();
    this.refresh();
  }

  QsTable.prototype.build = function () {
    var self = this, spec = this.spec;
    var controls = el("div", {"class": "qs-controls"});
    var search = el("input", {type: "search", placeholder: "Filter: chain, residue name or number\u2026",
                              "aria-label": "Filter rows"});
    search.addEventListener("input", function () { self.query = search.value.trim().toLowerCase(); self.page = 0; self.refresh(); });
    controls.appendChild(search);
    if (spec.flag !== null && spec.flag !== undefined) {
      var sel = el("select", {"aria-label": "Show rows by flag", "class": "qs-flag-filter"});
      [["", "all rows"], ["below", "below the 95% band"], ["above", "above the 95% band"],
       ["outside", "outside the band"], ["within", "within the band"]].forEach(function (o) {
        var opt = el("option", {value: o[0]}, o[1]);
        sel.appendChild(opt);
      });
      sel.addEventListener("change", function () { self.flag = sel.value; self.page = 0; self.refresh(); });
      controls.appendChild(sel);
    }
    var sizeLabel = el("label", null, "Rows per page ");
    var size = el("select", {"aria-label": "Rows per page", "class": "qs-page-size"});
    [25, 50, 100, 500].forEach(function (n) {
      var opt = el("option", {value: String(n)}, String(n));
      if (n === self.pageSize) opt.selected = true;
      size.appendChild(opt);
    });
    size.addEventListener("change", function () { self.pageSize = parseInt(size.value, 10); self.page = 0; self.refresh(); });
    sizeLabel.appendChild(size);
    controls.appendChild(sizeLabel);
    this.count = el("span", {"class": "qs-count", "aria-live": "polite"});
    controls.appendChild(this.count);
    this.root.appendChild(controls);

    var wrap = el("div", {"class": "qs-scroll"});
    var table = el("table", {"class": "qs-table"});
    var thead = el("thead");
    var tr = el("tr");
    this.headers = spec.columns.map(function (col, i) {
      var th = el("th", {scope: "col", "aria-sort": "none", "data-col": String(i)});
      if (col.type === "num") th.className = "num";
      var b = el("button", {type: "button", title: col.title || ("Sort by " + col.label)}, col.label);
      b.addEventListener("click", function () { self.sortBy(i); });
      th.appendChild(b);
      tr.appendChild(th);
      return th;
    });
    thead.appendChild(tr);
    table.appendChild(thead);
    this.tbody = el("tbody");
    table.appendChild(this.tbody);
    wrap.appendChild(table);
    this.root.appendChild(wrap);

    var pager = el("div", {"class": "qs-pager"});
    this.prev = el("button", {type: "button", "class": "qs-prev"}, "\u2039 Previous");
    this.next = el("button", {type: "button", "class": "qs-next"}, "Next \u203A");
    this.pageText = el("span", {"class": "qs-page"});
    this.prev.addEventListener("click", function () { if (self.page > 0) { self.page -= 1; self.render(); } });
    this.next.addEventListener("click", function () {
      if ((self.page + 1) * self.pageSize < self.view.length) { self.page += 1; self.render(); }
    });
    pager.appendChild(this.prev);
    pager.appendChild(this.pageText);
    pager.appendChild(this.next);
    this.root.appendChild(pager);
  };

  QsTable.prototype.matches = function (row) {
    var spec = this.spec;
    if (this.flag) {
      var f = row[spec.flag];
      if (this.flag === "outside") {
        if (f !== "below" && f !== "above") return false;
      } else if (f !== this.flag) {
        return false;
      }
    }
    if (!this.query) return true;
    var q = this.query;
    for (var i = 0; i < spec.columns.length; i++) {
      if (!spec.columns[i].search) continue;
      var v = row[i];
      if (!isEmpty(v) && String(v).toLowerCase().indexOf(q) !== -1) return true;
    }
    return false;
  };

  QsTable.prototype.refresh = function () {
    var self = this;
    this.view = this.rows.filter(function (r) { return self.matches(r); });
    if (this.sortCol !== null) this.sortView();
    this.render();
  };

  QsTable.prototype.sortBy = function (i) {
    if (this.sortCol === i) {
      this.sortDir = -this.sortDir;
    } else {
      this.sortCol = i;
      this.sortDir = 1;
    }
    this.headers.forEach(function (th) {
      th.setAttribute("aria-sort", "none");
      th.classList.remove("asc", "desc");
    });
    var th = this.headers[i];
    th.setAttribute("aria-sort", this.sortDir > 0 ? "ascending" : "descending");
    th.classList.add(this.sortDir > 0 ? "asc" : "desc");
    this.page = 0;
    this.sortView();
    this.render();
  };

  QsTable.prototype.sortView = function () {
    var i = this.sortCol, dir = this.sortDir, num = this.spec.columns[i].type === "num";
    var indexed = this.view.map(function (r, k) { return [r, k]; });
    indexed.sort(function (a, b) {
      var x = a[0][i], y = b[0][i], ex = isEmpty(x), ey = isEmpty(y);
      if (ex || ey) return ex === ey ? a[1] - b[1] : (ex ? 1 : -1);  // empty cells last, either way
      var c = num ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
      return c !== 0 ? c * dir : a[1] - b[1];
    });
    this.view = indexed.map(function (p) { return p[0]; });
  };

  QsTable.prototype.render = function () {
    var spec = this.spec, tbody = this.tbody;
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    var start = this.page * this.pageSize;
    var end = Math.min(start + this.pageSize, this.view.length);
    var frag = document.createDocumentFragment();
    for (var k = start; k < end; k++) {
      var row = this.view[k];
      var tr = document.createElement("tr");
      if (spec.flag !== null && spec.flag !== undefined) {
        var f = row[spec.flag];
        if (f === "below" || f === "above") tr.className = "flag-" + f;
      }
      if (spec.residue) {
        tr.classList.add("qs-residue-row");
        tr.setAttribute("data-residue", JSON.stringify([row[spec.residue[0]], row[spec.residue[1]],
                                                        spec.residue[2] === null ? "" : (row[spec.residue[2]] || "")]));
      }
      for (var i = 0; i < spec.columns.length; i++) {
        var col = spec.columns[i];
        var td = document.createElement("td");
        if (col.type === "num") td.className = "num";
        if (col.type === "link") {
          if (!isEmpty(row[i])) td.appendChild(el("a", {href: encodeURI(row[i])}, col.text || "open"));
        } else {
          td.textContent = (i === spec.flag && FLAG_TEXT[row[i]]) ? FLAG_TEXT[row[i]] : format(row[i], col);
        }
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    }
    tbody.appendChild(frag);
    var total = this.rows.length, shown = this.view.length;
    this.count.textContent = shown === 0 ? "no rows match" :
      ("rows " + (start + 1) + "\u2013" + end + " of " + shown + (shown < total ? " (filtered from " + total + ")" : ""));
    var pages = Math.max(1, Math.ceil(shown / this.pageSize));
    this.pageText.textContent = "page " + (this.page + 1) + " of " + pages;
    this.prev.disabled = this.page === 0;
    this.next.disabled = end >= shown;
  };

  document.addEventListener("click", function (e) {
    var tr = e.target.closest ? e.target.closest("[data-residue]") : null;
    if (!tr) return;
    var r = JSON.parse(tr.getAttribute("data-residue"));
    document.dispatchEvent(new CustomEvent("qs-residue", {detail: {chain: r[0], num: r[1], ins: r[2]}}));
  });

  function init() {
    var blocks = document.querySelectorAll("script.qs-table-data");
    for (var b = 0; b < blocks.length; b++) {
      var spec = JSON.parse(blocks[b].textContent);
      var root = document.getElementById(blocks[b].getAttribute("data-target"));
      if (root) root.qsTable = new QsTable(root, spec);
    }
    document.documentElement.classList.add("js");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
