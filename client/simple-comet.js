/* Simple Comet client. https://github.com/simple-comet/simple-comet
 *
 *   var sub = SimpleComet.subscribe(url, callback, client_id);
 *   sub.cancel();
 *
 * url is a read resource with the .jsonp suffix, e.g.
 * "http://comet.example.com/channels/news%7Cchat.jsonp", on any origin.
 * callback(reply) gets every successful reply whole ({since, last_id,
 * messages, ...}); client_id is only needed for session channels.
 *
 * Each request is a <script> (JSON-P) with a callback name of its own, so
 * any number of subscriptions can run on one page, each with its own since.
 * Failures (network error, a script that loads but does not answer, an
 * error reply, a request hung longer than SimpleComet.timeout ms) retry
 * after a capped exponential backoff with jitter.
 *
 * Written in ES3 with DOM Level 1 calls only, so that 2010-era browsers run
 * it; client/build.js minifies it and checks that.
 */
var SimpleComet = (function (win, doc) {
  var seq = 0,
    // A random part keeps two copies of this file on one page apart.
    prefix = "_JSONP_" + (Math.random() * 1e9 | 0) + "_",
    api = {
      // Old pages call start(); polling no longer waits for it.
      start: function () {},
      // The watchdog: longer than the server's hold (--http-timeout, 30 s
      // by default), so only a hung request trips it.
      timeout: 45000,
      subscribe: subscribe
    };

  function subscribe(url, callback, clientId) {
    var since = 0, fails = 0, live = 1, timer, end;

    // next schedules the next poll: at once after progress, otherwise after
    // 0.5-1 s doubling with each failure up to 16-32 s. A reply without
    // progress (a hold that timed out, a server shutting down) waits the
    // base delay, so that nothing can make the client spin.
    function next(progress, failed) {
      fails = failed ? fails + 1 : 0;
      var t = progress ? 0 : 500 * Math.pow(2, Math.min(fails, 6));
      timer = setTimeout(poll, t / 2 + Math.random() * t / 2);
    }

    function poll() {
      var parent = doc.getElementsByTagName("head")[0] || doc.body,
        name, script, watchdog;
      if (!live) return;
      if (!parent) {
        // The document has no head or body yet: wait for the parser.
        timer = setTimeout(poll, 50);
        return;
      }
      name = prefix + seq++;
      script = doc.createElement("script");
      // end finishes this request once: it removes the script node, the
      // watchdog and the callback, then schedules the next poll unless the
      // subscription was cancelled. late is set when the script may still
      // run (watchdog, cancel): a harmless function stays behind for it.
      end = function (reply, late) {
        if (!script) return;
        clearTimeout(watchdog);
        script.onload = script.onerror = null;
        if (script.parentNode) script.parentNode.removeChild(script);
        script = 0;
        win[name] = api.start;
        if (!late) {
          // IE < 9 cannot delete a window property: the no-op stays.
          try { delete win[name]; } catch (e) {}
        }
        if (!live) return;
        if (reply && reply.return_code > 0) {
          next(reply.last_id > since);
          if (reply.last_id > since) since = reply.last_id;
          callback(reply);
        } else {
          next(0, 1);
        }
      };
      win[name] = end;
      // onload without a reply: the server sent something that is not our
      // JSON-P (an error page, an invalid callback answer).
      script.onload = script.onerror = function () { end(); };
      script.charset = "utf-8";
      script.src = url + (url.indexOf("?") < 0 ? "?" : "&") + "cb=" + name +
        "&since=" + since +
        (clientId ? "&client_id=" + encodeURIComponent(clientId) : "");
      watchdog = setTimeout(function () { end(0, 1); }, api.timeout);
      parent.insertBefore(script, parent.firstChild);
    }

    poll();
    return {
      cancel: function () {
        live = 0;
        clearTimeout(timer);
        if (end) end(0, 1);
      }
    };
  }

  return api;
})(window, document);
