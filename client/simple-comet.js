/* Simple Comet client: SimpleComet.subscribe(url, callback, client_id).
 * Long-polls url through JSON-P, each subscription with its own callback. */
var SimpleComet = (function (w, d) {
  var seq = 0;
  function subscribe(url, cb, clientId) {
    var since = 0, live = 1, fails = 0, node, timer, name;
    function cleanup() {
      if (node && node.parentNode) node.parentNode.removeChild(node);
      node = 0;
      if (timer) clearTimeout(timer);
      if (name) { try { delete w[name]; } catch (e) { w[name] = undefined; } }
    }
    function later() {
      cleanup();
      fails++;
      var t = Math.min(30000, 500 * Math.pow(2, fails));
      timer = setTimeout(poll, t / 2 + Math.random() * t / 2);
    }
    function poll() {
      if (!live) return;
      var parent = d.getElementsByTagName("head")[0] || d.body;
      if (!parent) { timer = setTimeout(poll, 50); return; }
      name = "_JSONP_sc" + (++seq);
      w[name] = function (r) {
        cleanup();
        if (!live) return;
        if (r && r.return_code > 0) {
          fails = 0;
          if (r.last_id) since = r.last_id;
          cb(r);
          poll();
        } else later();
      };
      node = d.createElement("script");
      node.src = url + (url.indexOf("?") < 0 ? "?" : "&") + "cb=" + name + "&since=" + since +
        (clientId ? "&client_id=" + encodeURIComponent(clientId) : "") + "&_=" + (+new Date());
      node.onerror = later;
      timer = setTimeout(later, 45000);
      parent.appendChild(node);
    }
    poll();
    return { cancel: function () { live = 0; cleanup(); } };
  }
  return { subscribe: subscribe, start: function () {} };
})(window, document);
