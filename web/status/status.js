/* Simple Comet live status page. Long-polls the reserved channel $status
 * through SimpleComet.subscribe and draws what the nodes publish there: the
 * latest snapshot of every node, and the publish and delivery rates of the
 * last five minutes, summed over the nodes. No external asset. */
(function () {
  "use strict";
  var WINDOW_MS = 5 * 60 * 1000;   // chart span
  var STALE_MS = 10 * 1000;        // a node silent this long is left out
  var nodes = {};                  // node -> latest snapshot
  var points = {};                 // time bucket -> {t, pub: {node: r}, del: {node: r}}
  var interval = 2000;
  var lastUpdate = 0;

  var m = /[?&]secret=([^&#]*)/.exec(location.search);
  var url = "channels/%24status.json" + (m ? "?secret=" + m[1] : "");

  function $(id) { return document.getElementById(id); }
  function fmt(n) {
    if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + "M";
    if (n >= 1e4) return (n / 1e3).toFixed(n >= 1e5 ? 0 : 1) + "k";
    return String(Math.round(n));
  }
  function rate(n) { return n === 0 ? "0" : n >= 100 ? fmt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2); }
  function dur(s) {
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor(s % 3600 / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor(s % 86400 / 3600) + "h";
  }
  function text(id, v) { var e = $(id); if (e.textContent !== v) e.textContent = v; }

  function add(s) {
    if (!s || !s.node) return;
    interval = (s.interval_seconds || 2) * 1000;
    var old = nodes[s.node];
    if (!old || old.ts <= s.ts) nodes[s.node] = s;
    var b = Math.round(s.ts / interval), p = points[b];
    if (!p) p = points[b] = { t: b * interval, pub: {}, del: {} };
    p.pub[s.node] = s.publish_rate;
    p.del[s.node] = s.delivery_rate;
    if (s.ts > lastUpdate) lastUpdate = s.ts;
  }

  function onReply(r) {
    var list = (r.messages && r.messages.$status) || [];
    for (var i = 0; i < list.length; i++) {
      try { add(JSON.parse(list[i].content)); } catch (e) { /* not a snapshot */ }
    }
    render();
  }

  function live() {
    var now = Date.now(), out = [], k;
    for (k in nodes) if (nodes.hasOwnProperty(k) && now - nodes[k].ts < STALE_MS) out.push(nodes[k]);
    out.sort(function (a, b) { return a.node < b.node ? -1 : 1; });
    return out;
  }

  function sum(o) { var t = 0, k; for (k in o) if (o.hasOwnProperty(k)) t += o[k]; return t; }

  function series(which) {
    var now = Date.now(), out = [], k;
    for (k in points) if (points.hasOwnProperty(k)) {
      if (now - points[k].t > WINDOW_MS + interval) { delete points[k]; continue; }
      out.push({ t: points[k].t, v: sum(points[k][which]) });
    }
    out.sort(function (a, b) { return a.t - b.t; });
    return out;
  }

  function render() {
    var ns = live(), newest = null, held = 0, pub = 0, del = 0, total = 0, i, rows = "";
    for (i = 0; i < ns.length; i++) {
      var s = ns[i];
      if (!newest || s.ts > newest.ts) newest = s;
      held += s.held; total += s.published; pub += s.publish_rate; del += s.delivery_rate;
      rows += "<tr><td>" + esc(s.node) + "</td><td>" + esc(s.engine) + "</td><td>" + esc(s.version) +
        "</td><td>" + dur(s.uptime_seconds) + "</td><td>" + s.held + "</td><td>" + rate(s.publish_rate) +
        "</td><td>" + rate(s.delivery_rate) + "</td><td>" + Math.max(0, Math.round((Date.now() - s.ts) / 1000)) + "s ago</td></tr>";
    }
    var tb = $("nodes");
    if (tb.getAttribute("data-rows") !== rows) { tb.innerHTML = rows; tb.setAttribute("data-rows", rows); }
    if (newest) {
      text("channels", fmt(newest.channels));
      text("clients", fmt(newest.clients));
      text("published", fmt(total));
      text("held", fmt(held));
      text("heldnodes", ns.length === 1 ? "on this node" : "on " + ns.length + " nodes");
      text("pubrate", rate(pub));
      text("delrate", rate(del));
      text("about", newest.engine + " engine · " + ns.length + (ns.length === 1 ? " node" : " nodes"));
    }
    draw($("pubchart"), series("pub"), "#2563eb");
    draw($("delchart"), series("del"), "#059669");
    status();
  }

  function status() {
    var age = lastUpdate ? Date.now() - lastUpdate : -1;
    $("dot").className = age < 0 ? "" : age < 3 * interval ? "live" : "stale";
    if (age >= 0) text("updated", "updated " + Math.max(0, Math.round(age / 1000)) + "s ago");
  }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }

  // niceMax rounds the top of the scale up to 1, 2 or 5 times a power of ten.
  function niceMax(v) {
    if (v <= 1) return 1;
    var p = Math.pow(10, Math.floor(Math.log(v) / Math.LN10)), f = v / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  function draw(c, pts, color) {
    var ratio = window.devicePixelRatio || 1, w = c.clientWidth || c.width, h = c.clientHeight || c.height;
    if (c.width !== Math.round(w * ratio)) { c.width = Math.round(w * ratio); c.height = Math.round(h * ratio); }
    var g = c.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    var left = 40, right = 6, top = 8, bottom = 18, pw = w - left - right, ph = h - top - bottom;
    var now = Date.now(), t0 = now - WINDOW_MS, max = 0, i;
    for (i = 0; i < pts.length; i++) if (pts[i].v > max) max = pts[i].v;
    max = niceMax(max);
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = "#6b7385";
    g.strokeStyle = "#e3e6ec";
    g.lineWidth = 1;
    for (i = 0; i <= 2; i++) {
      var y = Math.round(top + ph * i / 2) + 0.5;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
      g.textAlign = "right"; g.textBaseline = "middle";
      g.fillText(rate(max * (2 - i) / 2), left - 6, y);
    }
    g.textAlign = "center"; g.textBaseline = "top";
    for (i = 0; i <= 5; i++) {
      g.textAlign = i === 5 ? "right" : "center";
      g.fillText(i === 5 ? "now" : "-" + (5 - i) + "m", left + pw * i / 5, top + ph + 4);
    }
    if (!pts.length) return;
    function X(t) { return left + pw * Math.max(0, t - t0) / WINDOW_MS; }
    function Y(v) { return top + ph - ph * v / max; }
    g.beginPath();
    g.moveTo(X(pts[0].t), Y(pts[0].v));
    for (i = 1; i < pts.length; i++) g.lineTo(X(pts[i].t), Y(pts[i].v));
    g.strokeStyle = color; g.lineWidth = 2; g.lineJoin = "round"; g.stroke();
    g.lineTo(X(pts[pts.length - 1].t), top + ph);
    g.lineTo(X(pts[0].t), top + ph);
    g.closePath();
    g.globalAlpha = 0.12; g.fillStyle = color; g.fill(); g.globalAlpha = 1;
  }

  // Poll once the page has loaded: a script held by a long-poll before the
  // load event would keep the page "loading" (the browser's spinner).
  function start() {
    SimpleComet.subscribe(url, onReply);
    setInterval(render, 1000);
  }
  if (document.readyState === "complete") start();
  else window.addEventListener("load", function () { setTimeout(start, 0); });
  window.addEventListener("resize", render);
})();
