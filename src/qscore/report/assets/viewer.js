/* qscore report: the 3D view (Mol*, vendored; see molstar.json).  Everything it needs is in the page:
   the viewer and its style sheet, the model and (optionally) the map, gzipped and base64-encoded in
   <script type="application/octet-stream"> blocks, decompressed here with DecompressionStream.  No
   network.  Colour modes are Mol* colour themes registered here; hovering shows the residue's Q, a
   click on a table row (event 'qs-residue' from report.js) focuses that residue.  window.qsViewer
   exposes the same to tests: focus(chain, num, ins), focused(), colourOf(chain, num, ins, atom), mode(name),
   label(chain, num, ins) (the hover label). */
(function () {
  "use strict";

  var root = document.getElementById("qs-viewer");
  if (!root) return;
  var status = root.querySelector(".qs-viewer-status");
  function say(text) { status.textContent = text; }

  function hasWebGL() {
    try {
      var c = document.createElement("canvas");
      return !!(c.getContext("webgl2") || c.getContext("webgl"));
    } catch (e) {
      return false;
    }
  }

  async function gunzip(id, text) {
    var b64 = document.getElementById(id).textContent.trim();
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    var response = new Response(stream);
    return text ? response.text() : new Uint8Array(await response.arrayBuffer());
  }

  function hex(c) { return "#" + ("000000" + c.toString(16)).slice(-6); }
  function rgb(h) { return parseInt(h.slice(1), 16); }
  function mix(a, b, t) {
    var out = 0;
    for (var s = 16; s >= 0; s -= 8) {
      var x = (a >> s) & 255, y = (b >> s) & 255;
      out = (out << 8) | Math.round(x + (y - x) * t);
    }
    return out;
  }

  function paletteColour(q, p) {
    if (q === null || q === undefined || !isFinite(q)) return rgb(p.none);
    if (q <= p.low) return rgb(p.colours[0]);
    if (q <= p.peak) return mix(rgb(p.colours[0]), rgb(p.colours[1]), (q - p.low) / (p.peak - p.low));
    if (q >= p.high) return rgb(p.colours[2]);
    return mix(rgb(p.colours[1]), rgb(p.colours[2]), (q - p.peak) / (p.high - p.peak));
  }

  async function start() {
    if (!hasWebGL()) {
      root.classList.add("qs-no-webgl");
      say("This browser cannot draw WebGL, so the 3D view is not shown; everything else in the report works " +
          "without it.");
      return;
    }
    if (typeof DecompressionStream === "undefined") {
      say("This browser lacks DecompressionStream (Chrome 80+, Firefox 113+, Safari 16.4+), so the 3D view " +
          "cannot be unpacked; everything else in the report works without it.");
      return;
    }
    say("Loading the 3D view\u2026");
    var style = document.createElement("style");
    style.textContent = await gunzip("qs-molstar-css", true);
    document.head.appendChild(style);
    var script = document.createElement("script");
    script.textContent = await gunzip("qs-molstar-js", true);
    document.head.appendChild(script);
    var data = JSON.parse(await gunzip("qs-viewer-data", true));
    var model = await gunzip("qs-viewer-model", true);
    var lib = molstar.lib.structure, SP = lib.StructureProperties, SE = lib.StructureElement;
    var viewer = await molstar.Viewer.create(root.querySelector(".qs-viewer-canvas"), {
      layoutIsExpanded: false, layoutShowControls: false, layoutShowRemoteState: false, layoutShowSequence: true,
      layoutShowLog: false, layoutShowLeftPanel: false, collapseLeftPanel: true, viewportShowExpand: true,
      viewportShowSelectionMode: false, viewportShowAnimation: false, viewportShowTrajectoryControls: false,
      pdbProvider: "rcsb", emdbProvider: "rcsb", volumeStreamingDisabled: true,
      preferWebgl1: false
    });
    var plugin = viewer.plugin;

    var residues = {}, atoms = data.atoms || {};
    data.residues.forEach(function (r) { residues[r[0] + "|" + r[1] + "|" + r[2]] = r; });
    function residueKey(loc) {
      var ins = SP.residue.pdbx_PDB_ins_code(loc);
      return SP.chain.auth_asym_id(loc) + "|" + SP.residue.auth_seq_id(loc) + "|" + (ins === "?" ? "" : ins);
    }
    function element(loc) {
      if (SE.Location.is(loc)) return loc;
      if (lib.Bond.isLocation(loc)) return SE.Location.create(loc.aStructure, loc.aUnit, loc.aUnit.elements[loc.aIndex]);
      return null;
    }
    var p = data.palette, FLAG = data.flag_colours, READ = data.reading_colours || {};
    var modes = {
      "qscore-residue": function (loc) { var r = residues[residueKey(loc)]; return paletteColour(r ? r[4] : null, p); },
      "qscore-atom": function (loc) {
        var alt = SP.atom.label_alt_id(loc);
        var q = atoms[residueKey(loc) + "|" + SP.atom.auth_atom_id(loc) + "|" + (alt === "." ? "" : alt)];
        return paletteColour(q === undefined ? null : q, p);
      },
      "qscore-flag": function (loc) { var r = residues[residueKey(loc)]; return rgb(FLAG[r && r[7] ? r[7] : "none"] || p.none); },
      "qscore-reading": function (loc) { var r = residues[residueKey(loc)]; return rgb(READ[r && r[8] ? r[8] : ""] || p.none); }
    };
    (data.extra || []).forEach(function (x) {  // further per-residue values (a comparison's ΔQ), each a mode
      var values = {};
      x.values.forEach(function (v) { values[v[0] + "|" + v[1] + "|" + v[2]] = v[3]; });
      modes["qscore-" + x.key] = function (loc) { var v = values[residueKey(loc)]; return paletteColour(v, x.palette); };
    });
    Object.keys(modes).forEach(function (name) {
      var colour = modes[name];
      var provider = {
        name: name, label: name.replace("qscore-", "Q-score: "), category: "Q-score",
        factory: function (ctx, props) {
          return {factory: provider.factory, granularity: "group", props: props, description: provider.label,
                  color: function (loc) { var e = element(loc); return e ? colour(e) : rgb(p.none); }};
        },
        getParams: function () { return {}; }, defaultValues: {}, isApplicable: function () { return true; }
      };
      plugin.representation.structure.themes.colorThemeRegistry.add(provider);
    });

    await viewer.loadStructureFromData(model, data.format, false);
    function structure() { return plugin.managers.structure.hierarchy.current.structures[0].cell.obj.data; }
    var current = "qscore-residue";
    async function mode(name) {
      var components = plugin.managers.structure.hierarchy.current.structures[0].components;
      await plugin.managers.structure.component.updateRepresentationsTheme(components, {color: name});
      current = name;
      root.querySelectorAll(".qs-key").forEach(function (k) { k.hidden = k.getAttribute("data-mode") !== name; });
    }
    await mode(data.start_mode || "qscore-residue");
    root.querySelector(".qs-viewer-mode").value = data.start_mode || "qscore-residue";

    var hoverLabel = {
      label: function (loci) {
        if (!SE.Loci.is(loci) || SE.Loci.isEmpty(loci)) return undefined;
        var loc = SE.Loci.getFirstLocation(loci), r = residues[residueKey(loc)];
        if (!r) return undefined;
        var f = function (v) { return v === null || v === undefined ? "\u2013" : v.toFixed(3); };
        return "<b>" + r[0] + " " + r[3] + " " + r[1] + r[2] + "</b> Q " + f(r[4]) + " (backbone " + f(r[5]) +
          ", side chain " + f(r[6]) + ")" + (r[7] ? " \u00b7 " + r[7] : "") + (r[8] ? " \u00b7 " + r[8] : "");
      },
      group: function (label) { return "qscore:" + label; }, priority: 100
    };
    plugin.managers.lociLabels.addProvider(hoverLabel);

    function lociOf(chain, num, ins) {
      var schema = {auth_asym_id: String(chain), auth_seq_id: Number(num)};
      if (ins) schema.pdbx_PDB_ins_code = String(ins);
      return SE.Schema.toLoci(structure(), schema);
    }
    function focus(chain, num, ins) {
      var loci = lociOf(chain, num, ins);
      if (SE.Loci.isEmpty(loci)) return false;
      plugin.managers.structure.focus.setFromLoci(loci);
      plugin.managers.camera.focusLoci(loci);
      return true;
    }
    function focused() {
      var f = plugin.managers.structure.focus.current;
      if (!f) return null;
      var loc = SE.Loci.getFirstLocation(f.loci), ins = SP.residue.pdbx_PDB_ins_code(loc);
      return {chain: SP.chain.auth_asym_id(loc), num: SP.residue.auth_seq_id(loc), ins: ins === "?" ? "" : ins};
    }
    function colourOf(chain, num, ins, atomName) {
      var loci = lociOf(chain, num, ins);
      if (SE.Loci.isEmpty(loci)) return null;
      var loc = SE.Loci.getFirstLocation(loci);
      if (atomName) {
        var found = null;
        SE.Loci.forEachLocation(loci, function (l) {
          if (!found && SP.atom.auth_atom_id(l) === atomName) found = SE.Location.clone(l);
        });
        loc = found || loc;
      }
      var theme = plugin.representation.structure.themes.colorThemeRegistry.get(current)
        .factory({structure: structure()}, {});
      return hex(theme.color(loc, false));
    }
    document.addEventListener("qs-residue", function (e) {
      if (focus(e.detail.chain, e.detail.num, e.detail.ins)) root.scrollIntoView({behavior: "smooth", block: "nearest"});
    });
    var select = root.querySelector(".qs-viewer-mode");
    select.addEventListener("change", function () { mode(select.value); });
    if (data.map) await loadMap(viewer, plugin, data);
    window.qsViewer = {focus: focus, focused: focused, colourOf: colourOf, mode: mode, plugin: plugin,
                       label: function (chain, num, ins) { return hoverLabel.label(lociOf(chain, num, ins)); },
                       current: function () { return current; }};
    say(data.note || "");
    root.setAttribute("data-ready", "1");
  }

  async function loadMap(viewer, plugin, data) {
    var bytes = await gunzip("qs-viewer-map", false);
    var url = URL.createObjectURL(new Blob([bytes]));
    var slider = root.querySelector(".qs-contour");
    var level = Number(slider.value);
    await viewer.loadVolumeFromUrl({url: url, format: "ccp4", isBinary: true},
                                   [{type: "relative", value: level, color: 0x3377aa, alpha: 0.35}]);
    var label = root.querySelector(".qs-contour-value");
    slider.addEventListener("change", async function () {
      label.textContent = Number(slider.value).toFixed(1) + " \u03c3";
      var volumes = plugin.managers.volume.hierarchy.current.volumes;
      for (var v = 0; v < volumes.length; v++) {
        var reprs = volumes[v].representations;
        for (var k = 0; k < reprs.length; k++) {
          await plugin.build().to(reprs[k].cell.transform.ref).update(function (old) {
            old.type.params.isoValue = {kind: "relative", relativeValue: Number(slider.value)};
          }).commit();
        }
      }
    });
  }

  start().catch(function (err) {
    say("The 3D view could not be drawn (" + (err && err.message ? err.message : err) + "); everything else in " +
        "the report works without it.");
    root.setAttribute("data-ready", "failed");
  });
}());
