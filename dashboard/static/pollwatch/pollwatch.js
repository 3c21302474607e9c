/*
 * Pollwatch map helpers, loaded once with the base map (served by the app, no CDN).
 *
 * - text(), popupTable(), label(): feed values reach the page only through textContent,
 *   so a description like <img src=x onerror=...> shows as text and never runs.
 * - pollwatch.pointCloud(options): a Leaflet layer for many points (180,000 stations).
 *   Its data is columnar JSON, either inline or fetched once per URL (the browser caches
 *   it; a filter change sends only the filter). Above `clusterAbove` points it groups
 *   them with Supercluster and draws only what is in view; points get a tooltip and a
 *   popup built from their properties.
 * - pollwatch.layers[name]: the live layers, with stats() for tests and for people.
 * - pollwatch.featureLayer(options) and pollwatch.legend(sections): the small GeoJSON
 *   layers (areas, routes, patrol discs, convoys) and the map's legend.
 * - overlays the user switched off stay off when a rerun re-creates the layer control.
 *
 * The payload format (columnar sets, chunks, patches, overlays, details) is written by
 * layers/map/payload.py; `load`, `joined`, `patched` and `laidOver` below read it.
 * The page asks for this file with ?v=<hash of its content>, so a new version is fetched.
 */
(function () {
    "use strict";
    var pollwatch = window.pollwatch = window.pollwatch || {};
    pollwatch.layers = pollwatch.layers || {};
    pollwatch.loading = pollwatch.loading || 0;  // datasets being fetched and parsed
    var datasets = {};  // url -> Promise of the parsed dataset
    var urlsByLayer = {};  // layer name -> url last used, to forget superseded versions

    function text(value) {
        return (value === null || value === undefined) ? "" : String(value);
    }

    function popupTable(pairs, get) {
        var table = document.createElement("table");
        table.className = "pollwatch-popup";
        pairs.forEach(function (pair) {
            var value = text(get(pair[1]));
            if (value === "") { return; }
            var row = table.insertRow();
            var th = document.createElement("th");
            th.style.cssText = "text-align:left;padding-right:8px;font-weight:600";
            th.textContent = pair[0];
            row.appendChild(th);
            row.insertCell().textContent = value;
        });
        return table;
    }

    function label(value) {
        var span = document.createElement("span");
        span.textContent = text(value);
        return span;
    }

    // A source is a dataset, its URL, {chunks: [sources]} (rows of one dataset in parts,
    // joined: a growing feed sends only its newest rows) or {patch: [base, change]} (a
    // base overlay and the rows of it that changed since: {at: [row], s: [...],
    // columns: {name: [...]}}).
    function load(name, source) {
        if (source && source.chunks) {
            return Promise.all(source.chunks.map(function (part, k) {
                return load(name + ":chunk" + k, part);
            })).then(joined);
        }
        if (source && source.patch) {
            return Promise.all([load(name + ":base", source.patch[0]),
                                load(name + ":patch", source.patch[1])]).then(function (parts) {
                return patched(parts[0], parts[1]);
            });
        }
        if (typeof source !== "string") { return Promise.resolve(source); }
        var previous = urlsByLayer[name];
        if (previous && previous !== source) { delete datasets[previous]; }
        urlsByLayer[name] = source;
        if (!datasets[source]) {
            pollwatch.loading += 1;  // a map drawn as a picture waits for none left
            // Fetched already as the frame opened (prefetch.js), or now.
            var early = pollwatch.prefetched && pollwatch.prefetched[source];
            if (early) { delete pollwatch.prefetched[source]; }
            datasets[source] = (early || fetch(source).then(function (response) {
                if (!response.ok) { throw new Error(source + ": HTTP " + response.status); }
                return response.json();
            })).finally(function () { pollwatch.loading -= 1; });
        }
        return datasets[source];
    }

    // The rows of columnar datasets one after the other. Labelled columns share their
    // labels; a column plain in any part is written out in full.
    function joined(parts) {
        if (parts.length === 1) { return parts[0]; }
        var out = {n: 0, columns: {}};
        parts.forEach(function (p) { out.n += p.n; });
        ["s", "x", "y", "t", "r"].forEach(function (k) {
            if (parts[0][k]) { out[k] = [].concat.apply([], parts.map(function (p) { return p[k]; })); }
        });
        Object.keys(parts[0].columns).forEach(function (name) {
            var columns = parts.map(function (p) { return p.columns[name]; });
            var labelled = columns.every(function (c) { return c && !Array.isArray(c); });
            if (labelled) {
                var labels = [], place = new Map(), codes = [];
                columns.forEach(function (c) {
                    var remap = c.labels.map(function (l) {
                        if (!place.has(l)) { place.set(l, labels.length); labels.push(l); }
                        return place.get(l);
                    });
                    c.codes.forEach(function (k) { codes.push(k < 0 ? -1 : remap[k]); });
                });
                out.columns[name] = {labels: labels, codes: codes};
                return;
            }
            var values = [];
            parts.forEach(function (p, k) {
                for (var i = 0; i < p.n; i++) { values.push(value(p, name, i)); }
            });
            out.columns[name] = values;
        });
        return out;
    }

    // A base overlay with the rows that changed since laid over a copy of it.
    function patched(base, change) {
        var out = L.extend({}, base);
        if (change.s) {
            out.s = base.s.slice();
            change.at.forEach(function (row, k) { out.s[row] = change.s[k]; });
        }
        if (change.columns) {
            out.columns = L.extend({}, base.columns);
            Object.keys(change.columns).forEach(function (name) {
                var column = base.columns[name].slice();
                change.at.forEach(function (row, k) { column[row] = change.columns[name][k]; });
                out.columns[name] = column;
            });
        }
        return out;
    }

    // GeoJSON features, fetched once when given as a URL, with a rerun's overlay (style
    // index per feature, -1 hides it, and columns) laid over copies of their properties.
    pollwatch.drawnFeatures = pollwatch.drawnFeatures || {};  // name -> features drawn
    pollwatch.features = function (name, source, overlay) {
        return load(name, source).then(function (data) {
            if (!overlay) { return data; }
            var columns = overlay.columns || {};
            return {type: "FeatureCollection", features: data.features.map(function (f, i) {
                var props = L.extend({}, f.properties);
                if (overlay.s) { props._s = overlay.s[i]; }
                Object.keys(columns).forEach(function (c) { props[c] = columns[c][i]; });
                return {type: "Feature", geometry: f.geometry, properties: props};
            })};
        });
    };

    // Hand-over on a live update. streamlit-folium removes every layer of the map and adds
    // the new ones in the same task, and a new layer draws only once its data is fetched:
    // left alone, the map would be empty in between. So a removed layer's drawing stays on
    // the map (its "ghost") until the layer of the same name that replaced it has drawn.
    // A layer removed and not replaced in that task (switched off by the user) goes at once.
    // Every drawn item carries its layer's name (`pollwatchLayer`), ghosts included.
    pollwatch.ghosts = pollwatch.ghosts || {};
    function unclaimedGoes(name, entry) {
        setTimeout(function () { if (!entry.claimed) { release(name, entry); } }, 0);
    }
    function retire(name, map, items, claimed) {
        if (!items.length && claimed) {  // removed before it drew: its ghost passes on
            claimed.claimed = false;
            pollwatch.ghosts[name] = claimed;
            unclaimedGoes(name, claimed);
            return;
        }
        release(name, claimed);
        release(name, pollwatch.ghosts[name]);
        if (!items.length) { return; }
        var entry = {group: L.layerGroup(items).addTo(map), claimed: false};
        pollwatch.ghosts[name] = entry;
        unclaimedGoes(name, entry);
    }
    function claim(name) {
        var entry = pollwatch.ghosts[name] || null;
        if (entry) { entry.claimed = true; }
        return entry;
    }
    function release(name, entry) {
        if (!entry) { return; }
        if (entry.group._map) { entry.group._map.removeLayer(entry.group); }
        if (pollwatch.ghosts[name] === entry) { delete pollwatch.ghosts[name]; }
    }
    // What the map shows now, per layer name: drawn items, ghosts included (for tests and
    // for a person looking at the console).
    pollwatch.onMap = function (map) {
        var out = {};
        map.eachLayer(function (l) {
            if (l.pollwatchLayer) { out[l.pollwatchLayer] = (out[l.pollwatchLayer] || 0) + 1; }
        });
        return out;
    };

    // GeoJSON features styled from `styles` by each feature's `_s` index, with a text-only
    // tooltip (`tooltip`: a property) and popup (`popup`: [label, property] pairs). `data`:
    // a FeatureCollection or its URL; `overlay`: see pollwatch.features.
    pollwatch.featureLayer = function (options) {
        var styles = options.styles, popup = options.popup || [], tooltip = options.tooltip;
        var layer = L.geoJSON(null, {
            filter: function (feature) { return (feature.properties._s || 0) >= 0; },
            pointToLayer: function (feature, latlng) {
                return L.circleMarker(latlng, styles[feature.properties._s || 0]);
            },
            style: function (feature) { return styles[feature.properties._s || 0]; },
            onEachFeature: function (feature, item) {
                var props = feature.properties;
                item.pollwatchLayer = options.name;
                if (tooltip) { item.bindTooltip(label(props[tooltip]), {sticky: true}); }
                if (popup.length) {
                    item.bindPopup(function () {
                        return popupTable(popup, function (c) { return props[c]; });
                    }, {maxWidth: 360});
                }
            }
        });
        layer.ghost = null;
        // Fetched when first on the map: a layer off until switched on costs the first
        // drawing nothing.
        var asked = false;
        function fetchOnce() {
            if (asked) { return; }
            asked = true;
            pollwatch.features(options.name, options.data, options.overlay).then(function (d) {
                layer.addData(d);
                layer.drawn = true;
                pollwatch.drawnFeatures[options.name] = layer.getLayers().length;
            }).finally(function () {
                release(options.name, layer.ghost);
                layer.ghost = null;
            });
        }
        layer.onAdd = function (map) {
            L.GeoJSON.prototype.onAdd.call(this, map);
            if (!this.drawn) { this.ghost = claim(options.name); }
            fetchOnce();
        };
        layer.onRemove = function (map) {
            L.GeoJSON.prototype.onRemove.call(this, map);
            retire(options.name, map, this.getLayers(), this.ghost);
            this.ghost = null;
        };
        return layer;
    };

    // The offline basemap (layers/map/offline.py): land, lakes, rivers, admin-1 lines,
    // country borders and towns in panes under the tiles, so that tiles cover it where a
    // tile server answers and it shows where none does. Town names are set as text; the larger towns are named from
    // further out. `urls`: {part: URL} of its GeoJSON parts.
    // `dark`: the palette of a dimmed control room.
    pollwatch.basemap = function (map, urls, dark) {
        if (map.pollwatchBasemap) { return; }
        map.pollwatchBasemap = true;
        var sea = dark ? "#0e1a24" : "#cfe3ef";
        map.getContainer().style.background = sea;
        [["pollwatchBase", 150], ["pollwatchBaseLabels", 160]].forEach(function (p) {
            map.createPane(p[0]).style.zIndex = p[1];
            map.getPane(p[0]).style.pointerEvents = "none";
        });
        var renderer = L.canvas({pane: "pollwatchBase"});
        var styles = {
            land: {stroke: false, fillColor: dark ? "#1f2328" : "#f2efe6", fillOpacity: 1},
            lakes: {stroke: false, fillColor: sea, fillOpacity: 1},
            rivers: {color: dark ? "#2c4a63" : "#8cb6d6", weight: 1, opacity: 0.9},
            admin1: {color: dark ? "#4b4f5c" : "#a99bb5", weight: 1, opacity: 0.9, dashArray: "3 3"},
            borders: {color: dark ? "#6f6a80" : "#8f7f9f", weight: 1.5, opacity: 0.9, dashArray: "6 3"}
        };
        var ink = dark ? "color:#b8bcc4;text-shadow:0 0 2px #000,0 0 2px #000" :
            "color:#444;text-shadow:0 0 2px #fff,0 0 2px #fff";
        var towns = [];  // largest first, as the file lists them
        ["land", "lakes", "rivers", "admin1", "borders", "towns"].forEach(function (part) {
            if (!urls[part]) { return; }
            load("basemap:" + part, urls[part]).then(function (data) {
                if (part === "towns") {
                    data.features.forEach(function (f) {
                        var c = f.geometry.coordinates, p = f.properties;
                        var at = L.latLng(c[1], c[0]);
                        var text = document.createElement("span");
                        text.textContent = p.name;
                        text.style.cssText = "font:11px/1 sans-serif;white-space:nowrap;" + ink;
                        towns.push({
                            at: at, population: p.population, width: 6 * String(p.name).length + 8,
                            dot: L.circleMarker(at, {
                                pane: "pollwatchBaseLabels", renderer: renderer, radius: 2,
                                color: "#555", weight: 1, fillColor: "#fff", fillOpacity: 1,
                                interactive: false
                            }),
                            name: L.marker(at, {
                                pane: "pollwatchBaseLabels", interactive: false, keyboard: false,
                                icon: L.divIcon({className: "pollwatch-town", html: text,
                                                 iconSize: null, iconAnchor: [-4, 6]})
                            })
                        });
                    });
                    showTowns();
                    return;
                }
                L.geoJSON(data, {
                    pane: "pollwatchBase", renderer: renderer, interactive: false,
                    style: function () { return styles[part]; }
                }).addTo(map);
            }).catch(function (err) { console.warn("offline basemap", part, err); });
        });
        // Towns named by size as the map zooms in, the larger first; a name that would
        // cover one already placed is left out at this zoom.
        function showTowns() {
            var zoom = map.getZoom(), least = zoom >= 10 ? 0 : zoom >= 8 ? 30000 :
                zoom >= 7 ? 80000 : 250000;
            var placed = [];
            towns.forEach(function (t) {
                var on = t.population >= least;
                if (on) {
                    var p = map.latLngToLayerPoint(t.at);
                    var box = [p.x - 3, p.y - 8, p.x + t.width, p.y + 8];
                    on = !placed.some(function (b) {
                        return box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3];
                    });
                    if (on) { placed.push(box); }
                }
                [t.dot, t.name].forEach(function (l) {
                    if (on && !map.hasLayer(l)) { map.addLayer(l); }
                    if (!on && map.hasLayer(l)) { map.removeLayer(l); }
                });
            });
        }
        map.on("zoomend", showTowns);
    };

    // A folding legend in the lower-left corner: [[section, [[label, style], ...]], ...].
    // Our own labels and colours only, set as text.
    pollwatch.legend = function (sections) {
        var legend = L.control({position: "bottomleft"});
        var clip = {triangle: "polygon(50% 0,100% 100%,0 100%)",
                    diamond: "polygon(50% 0,100% 50%,50% 100%,0 50%)"};
        legend.onAdd = function (map) {
            var box = L.DomUtil.create("details", "pollwatch-legend");
            box.open = true;
            box.style.cssText = "background:rgba(255,255,255,0.92);padding:4px 8px;" +
                "font:11px/1.3 sans-serif;border-radius:4px;box-shadow:0 0 4px #888;" +
                "max-height:45vh;overflow:auto;max-width:210px";
            var summary = document.createElement("summary");
            summary.style.cssText = "font-weight:bold;cursor:pointer";
            summary.textContent = "Legend";
            box.appendChild(summary);
            var div = document.createElement("div");
            box.appendChild(div);
            L.DomEvent.disableClickPropagation(box);
            L.DomEvent.disableScrollPropagation(box);
            var parts = [];  // [section title, its element]
            sections.forEach(function (section) {
                var part = document.createElement("div");
                div.appendChild(part);
                parts.push([section[0], part]);
                var head = document.createElement("div");
                head.style.cssText = "font-weight:bold;margin-top:4px";
                head.textContent = section[0];
                part.appendChild(head);
                section[1].forEach(function (item) {
                    var row = document.createElement("div");
                    var swatch = document.createElement("span");
                    var st = item[1];
                    swatch.style.cssText = st.shape === "line" ?
                        "display:inline-block;width:18px;height:0;margin-right:6px;" +
                        "vertical-align:middle;border-top:" + (st.weight || 1) + "px " +
                        (st.dashArray ? "dashed " : "solid ") + (st.color || "#333") :
                        "display:inline-block;width:11px;height:11px;" +
                        "margin-right:6px;vertical-align:middle;border-radius:" +
                        (st.shape && st.shape !== "circle" ? "1px" : "50%") +
                        (clip[st.shape] ? ";clip-path:" + clip[st.shape] : "") +
                        ";background:" +
                        (st.fillColor || "transparent") + ";border:" + (st.weight || 1) +
                        "px " + (st.dashArray ? "dashed " : "solid ") + (st.color || "#333");
                    row.appendChild(swatch);
                    row.appendChild(document.createTextNode(item[0]));
                    part.appendChild(row);
                });
            });
            // Only the layers shown: a section goes while its overlay ("Convoys (latest
            // position)" for "Convoys") is switched off.
            function follow() {
                var off = {};
                var control = pollwatch.control;
                (control && control._map === map ? control._layers : []).forEach(function (item) {
                    if (item.overlay && !map.hasLayer(item.layer)) { off[item.name] = true; }
                });
                parts.forEach(function (p) {
                    var hidden = Object.keys(off).some(function (name) {
                        return p[0].indexOf(name) === 0 || name.indexOf(p[0]) === 0;
                    });
                    p[1].style.display = hidden ? "none" : "";
                });
            }
            map.on("overlayadd overlayremove", function () { setTimeout(follow, 0); });
            setTimeout(follow, 50);
            return box;
        };
        return legend;
    };

    // The wall view: the map fills its frame (the page sizes the frame to the screen)
    // and follows it when the screen or the frame changes size, showing all of `bounds`
    // ([[south, west], [north, east]]) again while nobody has moved it.
    // On a screen taller than 1080 px (a 4K wall at 100 % scaling) the map's markers,
    // labels, legend and controls are scaled as the page's figures are, by whole halves
    // (CSS zoom; Leaflet reads the scale from the container's size).
    pollwatch.wall = function (map, bounds) {
        var container = map.getContainer();
        var moved = false;
        var screenHeight = 1080;
        try { screenHeight = window.parent.innerHeight || screenHeight; } catch (e) { /* another origin */ }
        var scale = Math.max(1, Math.floor(screenHeight / 1080 * 2) / 2);
        if (scale > 1) { container.style.zoom = scale; }
        // The whole legend: nobody scrolls a wall.
        var style = document.createElement("style");
        style.textContent = ".pollwatch-legend { max-height: calc(100vh / " + scale +
            " - 90px) !important; }";
        document.head.appendChild(style);
        map.on("dragstart zoomstart", function (e) { if (e.originalEvent) { moved = true; } });
        map.on("mousedown touchstart wheel", function () { moved = true; });
        function fill() {
            var height = Math.floor(window.innerHeight / scale);
            if (height > 0 && container.style.height !== height + "px") {
                container.style.height = height + "px";
                map.invalidateSize();
                if (bounds && !moved) { map.fitBounds(bounds, {animate: false}); }
            }
        }
        fill();
        window.addEventListener("resize", fill);
        setInterval(fill, 2000);  // a frame resized by its page fires no event in here
    };

    // A dataset with another run's styles (and columns) over the same points; the
    // fetched dataset itself stays as it was (other layers may share it).
    function laidOver(base, over) {
        if (over.n !== base.n) { throw new Error("overlay has " + over.n + " rows, points " + base.n); }
        var data = L.extend({}, base, {details: null});
        if (over.s) { data.s = over.s; }
        data.columns = L.extend({}, base.columns, over.columns || {});
        return data;
    }

    function value(data, column, i) {
        var c = data.columns[column];
        if (c === undefined && data.details) { c = data.details.columns[column]; }
        if (c === undefined) { return null; }
        if (Array.isArray(c)) { return c[i]; }
        var code = c.codes[i];
        return code < 0 ? null : c.labels[code];
    }

    // Indices of the rows that pass `where`: {columns: {name: [allowed labels]}, time: [t0, t1]}.
    function select(data, where) {
        var tests = [];
        Object.keys((where && where.columns) || {}).forEach(function (name) {
            var allowed = where.columns[name];
            var c = data.columns[name];
            if (!allowed || c === undefined) { return; }
            if (Array.isArray(c)) {
                var set = new Set(allowed);
                tests.push(function (i) { return set.has(c[i]); });
            } else {
                var ok = new Uint8Array(c.labels.length);
                c.labels.forEach(function (l, k) { ok[k] = allowed.indexOf(l) >= 0 ? 1 : 0; });
                tests.push(function (i) { return c.codes[i] >= 0 && ok[c.codes[i]] === 1; });
            }
        });
        if (where && where.time && data.t) {
            var t0 = where.time[0], t1 = where.time[1], t = data.t;
            tests.push(function (i) { return t[i] !== null && t[i] > t0 && t[i] <= t1; });
        }
        if (data.s) {  // a style index below 0 leaves the point out (see overlays)
            var styleOf = data.s;
            tests.unshift(function (i) { return styleOf[i] >= 0; });
        }
        var keep = [];
        for (var i = 0; i < data.n; i++) {
            var pass = true;
            for (var k = 0; k < tests.length && pass; k++) { pass = tests[k](i); }
            if (pass) { keep.push(i); }
        }
        return keep;
    }

    // A heat layer (Leaflet.heat) of the points another layer keeps, with its filters:
    // each weighs options.weights[severity] (severity = style index // categories) and
    // halves every halfLifeH hours of age at options.now. Follows that layer's data and
    // filters: a look each second, redrawn only when they changed.
    pollwatch.heat = function (options) {
        if (typeof L.heatLayer !== "function") { return L.layerGroup(); }
        var heat = L.heatLayer([], {radius: 28, blur: 22, maxZoom: 9, minOpacity: 0.25,
                                    max: 2, gradient: options.gradient});
        var shown = {data: null, keep: null};
        var timer = null;
        function update() {
            var src = pollwatch.layers[options.source];
            if (!src || !src.ready || !src.data) { return; }
            if (src.data === shown.data && src.keep === shown.keep) { return; }
            shown = {data: src.data, keep: src.keep};
            var d = src.data, points = [];
            for (var k = 0; k < src.keep.length; k++) {
                var i = src.keep[k];
                var age = d.t ? Math.max(0, (options.now - d.t[i]) / 3600) : 0;
                var w = options.weights[Math.floor(d.s[i] / options.categories)] || 0;
                points.push([d.y[i], d.x[i], w * Math.pow(0.5, age / options.halfLifeH)]);
            }
            heat.setLatLngs(points);
        }
        heat.on("add", function () { update(); timer = setInterval(update, 1000); });
        heat.on("remove", function () { clearInterval(timer); shown = {data: null, keep: null}; });
        return heat;
    };

    // A cluster's share as a pie: the share green, the rest red.
    function sharePie(share) {
        var pct = (100 * Math.max(0, Math.min(1, share))).toFixed(1);
        return "conic-gradient(#1a9850 0 " + pct + "%, #d7301f " + pct + "% 100%)";
    }

    // Markers of other shapes on the canvas (square, triangle, diamond), so states read
    // apart in greyscale too. Hit-testing stays the circle's. Leaflet 1.9 has no public
    // API for a canvas marker of another shape: this adds a drawing routine beside its own
    // _updateCircle and calls the renderer's _fillStroke, as Leaflet's own shapes do.
    L.Canvas.include({
        _updateShape: function (layer) {
            if (!this._drawing || layer._empty()) { return; }
            var p = layer._point, ctx = this._ctx, r = Math.max(Math.round(layer._radius), 1);
            ctx.beginPath();
            if (layer.options.shape === "square") {
                ctx.rect(p.x - r, p.y - r, 2 * r, 2 * r);
            } else if (layer.options.shape === "triangle") {
                ctx.moveTo(p.x, p.y - 1.3 * r);
                ctx.lineTo(p.x + 1.2 * r, p.y + 0.9 * r);
                ctx.lineTo(p.x - 1.2 * r, p.y + 0.9 * r);
                ctx.closePath();
            } else {  // diamond
                ctx.moveTo(p.x, p.y - 1.3 * r);
                ctx.lineTo(p.x + 1.3 * r, p.y);
                ctx.lineTo(p.x, p.y + 1.3 * r);
                ctx.lineTo(p.x - 1.3 * r, p.y);
                ctx.closePath();
            }
            this._fillStroke(ctx, layer);
        }
    });
    var ShapeMarker = L.CircleMarker.extend({
        _updatePath: function () {
            if (this._renderer && this._renderer._updateShape) {
                this._renderer._updateShape(this);
            } else {
                L.CircleMarker.prototype._updatePath.call(this);
            }
        }
    });

    var PointCloud = L.LayerGroup.extend({
        initialize: function (options) {
            L.LayerGroup.prototype.initialize.call(this, []);
            this.opts = options;
            this.data = null;
            this.keep = [];
            this.index = null;
            this.drawn = {clusters: 0, points: 0, represented: 0};
            this.ready = false;
            this.error = null;
            this.ghost = null;  // the drawing of the layer this one replaces, until it draws
        },

        onAdd: function (map) {
            L.LayerGroup.prototype.onAdd.call(this, map);
            pollwatch.layers[this.opts.name] = this;
            if (!this.ready && !this.ghost) { this.ghost = claim(this.opts.name); }
            var self = this;
            map.on("moveend", this.redraw, this);
            var mark = "pollwatch:" + this.opts.name + ":";
            // A secondary layer waits until the one it follows has drawn, so the main
            // picture is not slowed by it.
            var before = this.opts.after && pollwatch.layers[this.opts.after];
            if (before && !before.ready) {
                setTimeout(function () {
                    if (self._map) { self.onAdd(self._map); }
                }, 100);
                map.off("moveend", this.redraw, this);
                return;
            }
            // Marks for a person timing the map (the Performance panel); only the
            // latest drawing's are kept, a wall would otherwise add four per update.
            ["start", "fetched", "indexed", "drawn"].forEach(function (step) {
                performance.clearMarks(mark + step);
            });
            performance.mark(mark + "start");
            var overlay = this.opts.overlay ? load(this.opts.name + ":overlay", this.opts.overlay) : null;
            Promise.all([load(this.opts.name, this.opts.source), overlay]).then(function (parts) {
                if (!self._map) { return; }
                performance.mark(mark + "fetched");
                var data = parts[1] ? laidOver(parts[0], parts[1]) : parts[0];
                self.data = data;
                self.keep = select(data, self.opts.where);
                self.buildIndex();
                performance.mark(mark + "indexed");
                self.redraw();
                performance.mark(mark + "drawn");
                self.ready = true;
                release(self.opts.name, self.ghost);
                self.ghost = null;
                // Names and popup details come second: the map draws without them. A map
                // drawn as a picture (window.pollwatch_still) has nothing to click: none.
                if (self.opts.details && !data.details && !window.pollwatch_still) {
                    var sources = [].concat(self.opts.details);
                    Promise.all(sources.map(function (source, k) {
                        return load(self.opts.name + ":details" + k, source);
                    })).then(function (all) {
                        data.details = {columns: {}};
                        all.forEach(function (d) { L.extend(data.details.columns, d.columns); });
                    });
                }
            }).catch(function (err) {
                self.error = String(err);
                self.ready = true;
                release(self.opts.name, self.ghost);
                self.ghost = null;
                if (window.console) { console.error("pollwatch", err); }
            });
        },

        onRemove: function (map) {
            map.off("moveend", this.redraw, this);
            if (pollwatch.layers[this.opts.name] === this) { delete pollwatch.layers[this.opts.name]; }
            L.LayerGroup.prototype.onRemove.call(this, map);
            retire(this.opts.name, map, this.getLayers(), this.ghost);
            this.ghost = null;
        },

        buildIndex: function () {
            this.index = null;
            if (this.keep.length <= this.opts.clusterAbove || typeof Supercluster === "undefined") {
                return;
            }
            var data = this.data, shareStyle = this.opts.shareStyle;
            var points = new Array(this.keep.length);
            for (var j = 0; j < this.keep.length; j++) {
                var i = this.keep[j];
                points[j] = {type: "Feature", properties: {i: i},
                             geometry: {type: "Point", coordinates: [data.x[i], data.y[i]]}};
            }
            this.index = new Supercluster({
                radius: 60, maxZoom: this.opts.clusterMaxZoom, minPoints: 3,
                map: function (p) { return {hit: data.s[p.i] === shareStyle ? 1 : 0}; },
                reduce: function (acc, p) { acc.hit += p.hit; }
            }).load(points);
        },

        point: function (i) {
            var data = this.data, opts = this.opts;
            var style = opts.styles[data.s ? data.s[i] : 0] || opts.styles[0];
            var latlng = [data.y[i], data.x[i]];
            var marker = (style.shape && style.shape !== "circle") ?
                new ShapeMarker(latlng, style) : L.circleMarker(latlng, style);
            if (opts.tooltip) {
                marker.bindTooltip(function () {
                    var known = (opts.tooltip in data.columns) || !!data.details;
                    return label(known ? value(data, opts.tooltip, i) : "loading...");
                }, {sticky: true});
            }
            if (opts.popup && opts.popup.length) {
                marker.bindPopup(function () {
                    return popupTable(opts.popup, function (c) { return value(data, c, i); });
                }, {maxWidth: 360});
            }
            marker.pollwatchRow = i;
            marker.pollwatchLayer = opts.name;
            if (data.r && data.r[i] && opts.discStyles) {  // a radius around the point
                var disc = L.circle(latlng, L.extend({}, opts.discStyles[data.s ? data.s[i] : 0],
                                                     {radius: data.r[i], interactive: false}));
                return L.featureGroup([disc, marker]);
            }
            return marker;
        },

        cluster: function (feature) {
            var self = this, props = feature.properties, count = props.point_count;
            var size = Math.round(22 + 10 * Math.log10(count));
            var div = document.createElement("div");
            div.style.cssText = "width:" + size + "px;height:" + size + "px;line-height:" + size +
                "px;border-radius:50%;text-align:center;font:bold 11px sans-serif;color:#fff;" +
                "text-shadow:0 0 2px #000;border:2px solid rgba(255,255,255,0.9);" +
                "box-shadow:0 0 3px #333;background:" +
                (this.opts.shareStyle === null ? "#6a51a3" : sharePie(props.hit / count));
            div.textContent = props.point_count_abbreviated;
            var ll = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
            var icon = L.divIcon({html: div, iconSize: [size, size],
                                  className: "pollwatch-cluster pollwatch-cluster-" + this.opts.name});
            var marker = L.marker(ll, {icon: icon});
            var tip = count + " " + this.opts.unit;
            if (this.opts.shareStyle !== null) {
                tip += ", " + Math.round(100 * props.hit / count) + "% " + this.opts.shareLabel;
            }
            marker.bindTooltip(tip);
            marker.on("click", function () {
                var zoom = self.index.getClusterExpansionZoom(props.cluster_id);
                self._map.setView(ll, Math.min(zoom, self._map.getMaxZoom()));
            });
            marker.pollwatchCount = count;
            marker.pollwatchLayer = this.opts.name;
            return marker;
        },

        redraw: function () {
            if (!this._map || !this.data) { return; }
            if (!this.index && this.drawn.points === this.keep.length && this.getLayers().length) {
                return;  // everything is drawn already; panning needs nothing new
            }
            this.clearLayers();
            var drawn = {clusters: 0, points: 0, represented: 0};
            if (!this.index) {
                for (var j = 0; j < this.keep.length; j++) { this.addLayer(this.point(this.keep[j])); }
                drawn.points = drawn.represented = this.keep.length;
            } else {
                var b = this._map.getBounds().pad(0.2);
                var zoom = Math.round(this._map.getZoom());
                var items = this.index.getClusters(
                    [Math.max(-180, b.getWest()), Math.max(-85, b.getSouth()),
                     Math.min(180, b.getEast()), Math.min(85, b.getNorth())], zoom);
                for (var k = 0; k < items.length; k++) {
                    var f = items[k];
                    if (f.properties.cluster) {
                        this.addLayer(this.cluster(f));
                        drawn.clusters++;
                        drawn.represented += f.properties.point_count;
                    } else {
                        this.addLayer(this.point(f.properties.i));
                        drawn.points++;
                        drawn.represented++;
                    }
                }
            }
            this.drawn = drawn;
        },

        stats: function () {
            return {ready: this.ready, error: this.error, rows: this.data ? this.data.n : 0,
                    kept: this.keep.length, clustered: !!this.index,
                    clusters: this.drawn.clusters, points: this.drawn.points,
                    represented: this.drawn.represented};
        }
    });

    // The layer control is re-created with the layers on every rerun. Remember which
    // overlays the user switched off (clicks only) and switch them off again, so a
    // filter change does not bring back a layer the user hid. An overlay off at first
    // (pollwatchOff: streamlit-folium adds every group to the map) goes off
    // until the user switches it on. Leaflet's control has no
    // public list of its layers nor a public "the user clicked" flag: _layers and
    // _handlingClick are read, not changed.
    pollwatch.hidden = pollwatch.hidden || {};
    L.Control.Layers.addInitHook(function () {
        var control = this;
        setTimeout(function () {
            var map = control._map;
            if (!map) { return; }
            if (!map.pollwatchWatchesOverlays) {
                map.pollwatchWatchesOverlays = true;
                map.on("overlayadd overlayremove", function (e) {
                    if (pollwatch.control && pollwatch.control._handlingClick) {
                        pollwatch.hidden[e.name] = e.type === "overlayremove";
                    }
                });
            }
            pollwatch.control = control;
            control._layers.forEach(function (item) {
                var hidden = pollwatch.hidden[item.name];
                if (hidden === undefined) {  // not touched yet: as the page drew it
                    hidden = !!item.layer.pollwatchOff;
                }
                if (item.overlay && hidden && map.hasLayer(item.layer)) {
                    map.removeLayer(item.layer);
                }
            });
        }, 0);
    });

    // An overlay off at first is never put on the map until the user switches it on
    // (or had switched it on before this rerun): streamlit-folium adds every group, at
    // each rerun, and taking it off afterwards (above) drew it for a moment each time.
    var addLayer = L.Map.prototype.addLayer;
    L.Map.prototype.addLayer = function (layer) {
        if (layer && layer.pollwatchOff && layer.pollwatchName !== undefined
                && pollwatch.hidden[layer.pollwatchName] !== false
                && !(pollwatch.control && pollwatch.control._handlingClick)) {
            return this;
        }
        return addLayer.call(this, layer);
    };

    // streamlit-folium keeps every feature group it ever added in window.feature_group:
    // a rerun removes them from the map and pushes the new ones, but never lets the old
    // go (randyzwitch/streamlit-folium#247), so a wall would hold every picture of the
    // day, 4 MB a change. After a removal, a group neither on the map nor in the current
    // layer control (an overlay the user switched off stays in it) is dropped from that
    // list: streamlit-folium has nothing left to do with it.
    L.Map.addInitHook(function () {
        var map = this, pending = false;
        map.on("layerremove", function () {
            if (pending) { return; }
            pending = true;
            setTimeout(function () {
                pending = false;
                var groups = window.feature_group;
                if (!Array.isArray(groups)) { return; }
                var control = window.layer_control || pollwatch.control;
                var listed = new Set(((control && control._layers) || []).map(function (item) {
                    return item.layer;
                }));
                var kept = groups.filter(function (g) { return g._map === map || listed.has(g); });
                if (kept.length < groups.length) {
                    groups.length = 0;
                    Array.prototype.push.apply(groups, kept);
                }
            }, 0);
        });
    });

    // Leaflet 1.9's collapsed layer control (the wall's) listens to the map's clicks, to
    // fold, and its onRemove never stops listening: every control a rerun replaced stayed
    // referenced by the map, with all its layers (a wall grew by 4 MB a change).
    var removeLayersControl = L.Control.Layers.prototype.onRemove;
    L.Control.Layers.include({
        onRemove: function (map) {
            removeLayersControl.call(this, map);
            map.off("click", this.collapse, this);
        }
    });

    pollwatch.text = text;
    pollwatch.label = label;
    pollwatch.popupTable = popupTable;
    pollwatch.select = select;
    pollwatch.value = value;
    pollwatch.pointCloud = function (options) {
        return new PointCloud(L.extend({
            where: null, details: null, overlay: null, after: null, styles: [{}], discStyles: null, tooltip: null, popup: [],
            clusterAbove: 3000,
            clusterMaxZoom: 11, shareStyle: null, shareLabel: "", unit: "points"
        }, options));
    };
})();
