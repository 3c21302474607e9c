/*
 * Starts fetching a map's datasets the moment its frame opens. streamlit-folium loads the
 * map's scripts one after another (Leaflet, Supercluster, the heat layer, pollwatch.js),
 * about a second at national scale; the datasets (180,000 stations) used to wait for all
 * of them. This script comes first: it fetches and parses the URLs of its own query string
 * (?u=/pollwatch/data/...&u=...) meanwhile, and pollwatch.js takes the results
 * (pollwatch.prefetched) instead of fetching again. Only paths of this server are fetched.
 */
(function () {
    "use strict";
    var pollwatch = window.pollwatch = window.pollwatch || {};
    var prefetched = pollwatch.prefetched = pollwatch.prefetched || {};
    var script = document.currentScript;
    if (!script || !window.URL || !window.fetch) { return; }
    new URL(script.src).searchParams.getAll("u").forEach(function (url) {
        if (url.charAt(0) !== "/" || url.charAt(1) === "/" || prefetched[url]) { return; }
        prefetched[url] = fetch(url).then(function (response) {
            if (!response.ok) { throw new Error(url + ": HTTP " + response.status); }
            return response.json();
        });
        prefetched[url].catch(function () {});  // reported by the layer that asks for it
    });
}());
