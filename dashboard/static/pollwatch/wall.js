/* The wall view's watch (dashboard/wall.py), run in a frame of its own on the page:
 * - the clock: #pollwatch-clock, in its data-zone, every second;
 * - "reconnecting" over the whole screen while the server does not answer its health
 *   check or Streamlit's connection is down, so a frozen picture never looks live;
 * - "not updating" when the picture (#pollwatch-picture's data-at) has not changed for
 *   data-stale-after seconds though the server answers.
 * Everything it writes is text (textContent), never HTML.
 */
(function () {
    "use strict";
    var doc = window.parent.document;
    var me = document.currentScript;
    var staleAfter = Number(me && me.dataset.staleAfter) || 180;
    var origin = window.parent.location.origin;
    var failures = 0;
    var picture = null, pictureSince = Date.now();
    var formats = {};

    function clockText(zone) {
        if (!formats[zone]) {
            try {
                formats[zone] = new Intl.DateTimeFormat("en-GB", {
                    timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit",
                    hour12: false
                });
            } catch (e) {
                formats[zone] = null;
            }
        }
        return formats[zone] ? formats[zone].format(new Date()) : null;
    }

    function tick() {
        var clock = doc.getElementById("pollwatch-clock");
        if (!clock) { return; }
        var shown = clockText(clock.dataset.zone || "UTC");
        if (shown !== null) { clock.textContent = shown; }
    }

    function banner(text) {
        var box = doc.getElementById("pollwatch-offline");
        if (!text) {
            if (box) { box.remove(); }
            return;
        }
        if (!box) {
            box = doc.createElement("div");
            box.id = "pollwatch-offline";
            box.setAttribute("role", "alert");
            box.style.cssText = "position:fixed;inset:0;z-index:100000;display:flex;" +
                "align-items:center;justify-content:center;background:rgba(20,0,0,0.72);" +
                "color:#fff;font:700 max(48px,6vh)/1.2 sans-serif;text-align:center;" +
                "border:max(8px,0.8vh) solid #e5484d;padding:4vh;white-space:pre-line";
            doc.body.appendChild(box);
        }
        if (box.textContent !== text) { box.textContent = text; }
    }

    function pictureAt() {
        var mark = doc.getElementById("pollwatch-picture");
        return mark ? mark.dataset.at : null;
    }

    function since() {
        var at = picture ? new Date(picture) : null;
        return at && !isNaN(at) ? at.toISOString().slice(11, 16) + " UTC" : "?";
    }

    function streamlitDisconnected() {
        // Streamlit's own status widget (hidden on the wall) says "Connecting" when its
        // WebSocket is down.
        var status = doc.querySelector('[data-testid="stStatusWidget"]');
        return !!status && /connect/i.test(status.textContent || "");
    }

    function check() {
        var now = pictureAt();
        if (now !== picture) { picture = now; pictureSince = Date.now(); }
        var control = new AbortController();
        var timer = setTimeout(function () { control.abort(); }, 4000);
        fetch(origin + "/_stcore/health", {cache: "no-store", signal: control.signal})
            .then(function (r) { failures = r.ok ? 0 : failures + 1; })
            .catch(function () { failures += 1; })
            .finally(function () {
                clearTimeout(timer);
                if (failures >= 2 || streamlitDisconnected()) {
                    banner("RECONNECTING\nThe picture of " + since() + " is not live.");
                } else if ((Date.now() - pictureSince) / 1000 > staleAfter) {
                    banner("NOT UPDATING\nThe picture of " + since() + " has not changed for " +
                           Math.round((Date.now() - pictureSince) / 60000) + " min.");
                } else {
                    banner(null);
                }
            });
    }

    // The map takes the height the strip, the chips and the ticker leave (the chips
    // may wrap to a second line); the map inside follows its frame (pollwatch.wall).
    function fit() {
        var frame = doc.querySelector('iframe[title="streamlit_folium.st_folium"]');
        var ticker = doc.querySelector(".pw-ticker");
        if (!frame || !ticker) { return; }
        var view = window.parent.innerHeight;
        var gap = Math.max(4, view * 0.006);
        var free = view - frame.getBoundingClientRect().top - ticker.offsetHeight - 3 * gap;
        var height = Math.max(200, Math.floor(free)) + "px";
        if (frame.style.getPropertyValue("height") !== height) {
            frame.style.setProperty("height", height, "important");
        }
    }

    tick();
    fit();
    setInterval(tick, 1000);
    setInterval(fit, 1000);
    window.parent.addEventListener("resize", fit);
    setInterval(check, 2000);
})();
