/* Simple Comet modern client. https://github.com/simple-comet/simple-comet
 *
 *   import { subscribe } from "https://comet.example.com/simple-comet.mjs";
 *   const sub = subscribe(url, onReply, { clientId, since, share, onState, onError, onGap });
 *   sub.cancel();
 *
 * The contract is docs/PROTOCOL.md "The modern browser client"; the design
 * is in docs/CLIENT.md. In short: subscriptions with the same server base,
 * client id and extra query form a group. In each page a group is one hub;
 * across the tabs of an origin the hubs of a group elect a leader through a
 * Web Lock. The leader polls the union of every tab's channels with since =
 * the lowest cursor and relays each reply over a BroadcastChannel. Every
 * subscription keeps its own cursor per channel and applies a reply to a
 * channel only when the reply's since is at or below that cursor, so a late,
 * repeated or stale relay can never skip or repeat a message: the worst it
 * can cause is a refetch.
 *
 * Built by client/build.js with esbuild into simple-comet.mjs and
 * simple-comet.umd.js; nothing here touches the DOM at import time, so the
 * module imports under Node.
 */

const G = globalThis;
const HELLO_WAIT = 150; // a new leader gathers the tabs' cursors this long
const PING_WAIT = 2000; // a silent leader has this long to answer a ping
const hubs = new Map();
let listening = 0;

// rand is a delay between t/2 and t: jitter, so clients do not return together.
const rand = (t) => t / 2 + Math.random() * t / 2;

// parse splits a read URL into the group's base, its channels and the
// page's own query parameters (without the ones the client sets).
function parse(url) {
  const u = new URL(url, G.location && G.location.href);
  const i = u.pathname.indexOf("/channels/");
  const m = /^(.*)\.jsonp?$/.exec(u.pathname.slice(i + 10));
  if (i < 0 || !m) throw new Error("not a read URL: " + url);
  const q = u.searchParams;
  ["since", "client_id", "cb"].forEach((k) => q.delete(k));
  q.sort();
  return {
    base: u.origin + u.pathname.slice(0, i),
    chans: m[1].split(/%7C|\|/i).map(decodeURIComponent),
    query: q.toString(),
  };
}

// start does nothing: pages written for the first client call it.
export function start() {}

export function subscribe(url, onReply, options) {
  const o = typeof options == "string" ? { clientId: options } : options || {};
  const sub = {
    o,
    cb: onReply,
    cov: {},
    live: 1,
    state: "",
    to(s) {
      if (sub.state != s && sub.live) {
        sub.state = s;
        call(o.onState, s);
      }
    },
    err(e) {
      if (sub.live) call(o.onError, e);
    },
  };
  const handle = {
    cancel() {
      if (!sub.live) return;
      sub.to("stopped");
      sub.live = 0;
      if (sub.hub) sub.hub.drop(sub);
    },
  };
  if (typeof window == "undefined" || typeof fetch != "function") {
    setTimeout(() => sub.err({ kind: "unsupported", message: "no browser here: subscribe does nothing" }));
    return handle;
  }
  let p;
  try {
    p = parse(url);
  } catch (e) {
    setTimeout(() => sub.err({ kind: "url", message: e.message }));
    return handle;
  }
  sub.chans = p.chans;
  for (const c of p.chans) sub.cov[c] = +o.since || 0;
  const cid = o.clientId || "";
  const key = ["simple-comet", p.base, cid, p.query].join(" ");
  const solo = o.share === false || !(G.navigator && navigator.locks && G.BroadcastChannel);
  sub.to("connecting");
  let hub = !solo && hubs.get(key);
  if (!hub) {
    hub = new Hub(key, p, cid, solo, o.timeout || 45000);
    if (!solo) hubs.set(key, hub);
  }
  sub.hub = hub;
  hub.enter(sub);
  listen();
  return handle;
}

// call runs a callback of the page; its exceptions stay its own.
function call(f, a) {
  try {
    if (f) f(a);
  } catch (e) {
    setTimeout(() => {
      throw e;
    });
  }
}

// listen installs the page lifecycle handlers once: a page leaving (or
// entering the back/forward cache) withdraws from its groups, a page
// restored rejoins with its cursors, and a page shown again or back online
// polls at once.
function listen() {
  if (listening++) return;
  const each = (f) => () => hubs.forEach(f) || solos.forEach(f);
  addEventListener("pagehide", each((h) => h.suspend()));
  addEventListener("pageshow", (e) => e.persisted && each((h) => h.resume())());
  addEventListener("online", each((h) => h.wake()));
  document.addEventListener("visibilitychange", () => document.visibilityState == "visible" && each((h) => h.wake())());
}
const solos = new Set();

class Hub {
  constructor(key, p, cid, solo, timeout) {
    Object.assign(this, { key, base: p.base, query: p.query, cid, solo, timeout });
    this.subs = new Set();
    this.tab = Math.random().toString(36).slice(2);
    this.peers = new Map(); // leader: tab -> {channel: cursor}
    this.epoch = this.seen = 0;
    this.back = 500;
    if (solo) solos.add(this);
    this.resume();
  }

  enter(s) {
    this.subs.add(s);
    this.changed();
  }

  drop(s) {
    this.subs.delete(s);
    if (this.subs.size) return this.changed();
    this.suspend();
    if (hubs.get(this.key) == this) hubs.delete(this.key);
    solos.delete(this);
  }

  // want is this tab's cursor per channel: the lowest over its subscriptions.
  want() {
    const w = {};
    for (const s of this.subs) for (const c of s.chans) w[c] = Math.min(w[c] ?? Infinity, s.cov[c]);
    return w;
  }

  post(m) {
    m.tab = this.tab;
    m.e = this.epoch;
    if (this.bc) this.bc.postMessage(m);
  }

  hello() {
    this.post({ t: "hello", w: this.want() });
  }

  // resume joins the group: listen to it, say hello, queue for the lock.
  resume() {
    if (this.up) return;
    this.up = 1;
    if (this.solo) return this.lead();
    this.bc = new BroadcastChannel(this.key);
    this.bc.onmessage = (e) => this.heard(e.data);
    this.hello();
    this.queue();
    this.watch();
  }

  // queue asks for the lock (or steals it). When this request ends (the
  // lock released, stolen, or the request withdrawn) while it is still the
  // current one, the hub follows and queues again.
  queue(steal) {
    const lock = (this.lockCtl = new AbortController());
    // A steal is granted at once, and may not carry a signal.
    navigator.locks
      .request(this.key, steal ? { steal } : { signal: lock.signal }, () => new Promise((res) => {
        this.release = res;
        this.lead();
      }))
      .catch(() => {})
      .then(() => {
        if (this.lockCtl != lock) return;
        this.follow();
        if (this.up) {
          this.hello();
          this.queue();
        }
      });
  }

  // suspend leaves the group for now (pagehide, last cancel): nothing held,
  // no lock, no channel, so that the page may enter the bfcache.
  suspend() {
    if (!this.up) return;
    this.up = 0;
    this.post({ t: "bye" });
    this.follow();
    if (this.lockCtl) this.lockCtl.abort();
    this.lockCtl = 0;
    if (this.bc) this.bc.close();
    this.bc = 0;
    clearInterval(this.dog);
  }

  lead() {
    this.leading = 1;
    this.epoch = Math.max(Date.now(), this.seen + 1);
    this.seen = this.epoch;
    this.peers.clear();
    this.post({ t: "who" });
    this.schedule(this.solo ? 0 : HELLO_WAIT);
  }

  follow() {
    this.leading = 0;
    this.stop();
    if (this.release) this.release();
    this.release = 0;
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.ctl) this.ctl.abort();
    this.ctl = this.cur = 0;
  }

  schedule(t) {
    this.alive = Date.now();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.poll(), t);
  }

  // wake: the page is visible again or back online. A leader (or one
  // waiting to retry) polls now; a follower checks that its leader lives.
  wake() {
    this.back = 500;
    if (this.leading) {
      if (!this.ctl) this.schedule(0);
    } else if (this.up) this.ping();
  }

  ping() {
    if (!this.pinged) {
      this.pinged = Date.now();
      this.post({ t: "ping" });
    }
  }

  // watch is a follower's check on a silent leader: a visible tab that
  // heard nothing for timeout ms pings, and steals the lock when no pong
  // comes within PING_WAIT. Hidden tabs never steal.
  watch() {
    this.quiet = Date.now() + this.timeout;
    clearInterval(this.dog);
    this.dog = setInterval(() => {
      if (this.leading || document.visibilityState != "visible") return;
      if (this.pinged && Date.now() - this.pinged > PING_WAIT) {
        this.pinged = 0;
        const old = this.lockCtl;
        this.queue(1);
        old.abort();
      } else if (Date.now() > this.quiet) this.ping();
    }, 1000);
  }

  heard(m) {
    const t = m.t;
    if (t == "hello" || t == "bye") {
      if (!this.leading) return;
      if (t == "bye") return this.peers.delete(m.tab);
      this.peers.set(m.tab, m.w);
      return this.changed();
    }
    // A leader answers only while its poll moves: a tab that is frozen,
    // or whose timers and fetches stopped, must be replaced even if its
    // message handler still runs.
    if (t == "ping") return this.leading && Date.now() - this.alive < this.timeout && this.post({ t: "pong" });
    // Everything else comes from a leader: one older than the newest seen
    // is stale (it was frozen and replaced) and ignored.
    if (m.e < this.seen) return;
    this.seen = m.e;
    if (this.leading && m.e > this.epoch) {
      this.follow();
      this.hello();
    }
    this.pinged = 0;
    this.quiet = Date.now() + this.timeout + (m.retry || 0);
    if (t == "who") this.hello();
    if (t == "reply") this.apply(m);
    if (t == "err") this.fail(m, 1);
  }

  // changed: the subscriptions or a peer's cursors changed. A leader whose
  // held poll misses a channel, or starts above a cursor, replaces it.
  changed() {
    if (!this.leading) return this.hello();
    if (this.timer && !this.ctl) return;
    const u = this.union(), c = this.cur;
    if (!c || u.since < c.since || u.chans.some((x) => !c.chans.includes(x))) {
      this.stop();
      this.schedule(50);
    }
  }

  union() {
    const all = {};
    const add = (w) => {
      for (const c in w) all[c] = Math.min(all[c] ?? Infinity, w[c]);
    };
    add(this.want());
    this.peers.forEach(add);
    const chans = Object.keys(all).sort();
    return { chans, since: Math.min(...chans.map((c) => all[c])) };
  }

  async poll() {
    this.timer = 0;
    if (!this.leading) return;
    const u = this.union();
    if (!u.chans.length) return;
    const q = new URLSearchParams(this.query);
    q.set("since", u.since);
    if (this.cid) q.set("client_id", this.cid);
    const ctl = (this.ctl = new AbortController());
    this.cur = u;
    const t0 = (this.alive = Date.now());
    let hung = 0, res, text, r;
    const dog = setTimeout(() => ctl.abort(hung = 1), this.timeout);
    try {
      res = await fetch(this.base + "/channels/" + u.chans.map(encodeURIComponent).join("%7C") + ".json?" + q, { signal: ctl.signal, cache: "no-store" });
      text = await res.text();
    } catch (e) {
      // Aborted by stop(): replaced or cancelled, nothing to report.
      if (this.ctl != ctl) return;
      r = { kind: hung ? "timeout" : "network", message: String(e) };
    }
    clearTimeout(dog);
    if (this.ctl != ctl) return;
    this.ctl = this.cur = 0;
    if (!r) {
      try {
        r = JSON.parse(text.replace(/^\s*\/\*-secure-([\s\S]*)\*\/\s*$/, "$1"));
      } catch (e) {
        r = {};
      }
      if (!(r.return_code > 0)) {
        r = { kind: r.return_code ? "server" : "http", status: res.status, code: r.return_code, message: r.error_message || res.statusText };
      }
    }
    if (r.kind) {
      const ra = res && +res.headers.get("Retry-After");
      const retry = rand(Math.max(this.back, (ra || 0) * 1000) * 2);
      this.back = Math.min(this.back * 2, 16000);
      const m = { t: "err", err: r, chans: u.chans, retry };
      this.post(m);
      this.fail(m);
      return this.schedule(retry);
    }
    this.back = 500;
    const m = { t: "reply", since: r.since, last_id: r.last_id, messages: r.messages || {}, truncated: r.truncated, chans: u.chans };
    this.post(m);
    this.apply(m);
    // The leader's view of its peers moves on as theirs does.
    this.peers.forEach((w) => {
      for (const c of u.chans) if (w[c] >= m.since) w[c] = Math.max(w[c], m.last_id);
    });
    // A reply that brought nothing and came back quickly (a server shutting
    // down) is followed by a pause, so that nothing makes the poll spin.
    const empty = !Object.values(m.messages).some((l) => l.length);
    this.schedule(empty && Date.now() - t0 < 1000 ? rand(500) : 0);
  }

  // apply delivers a reply to this page's subscriptions: for each channel
  // the reply covers from at or below the subscription's cursor, the
  // messages above that cursor, then the cursor moves to last_id.
  apply(m) {
    let need = 0;
    for (const s of [...this.subs]) {
      const out = {}, gaps = [];
      let any = 0, mine = 0, skip = 0;
      for (const c of s.chans) {
        // A channel the poll left out: the leader has not heard of it yet.
        if (!m.chans.includes(c)) {
          need = 1;
          continue;
        }
        const cv = s.cov[c];
        if (m.since > cv) {
          need = skip = 1;
          continue;
        }
        const l = m.messages[c];
        if (l) {
          mine = 1;
          out[c] = l.filter((x) => x.id > cv);
          any |= out[c].length;
          if (m.truncated && m.truncated.includes(c) && !(l.length && l[0].id <= cv)) gaps.push(c);
        }
        s.cov[c] = Math.max(cv, m.last_id);
      }
      if (mine || skip || !s.chans.every((c) => m.chans.includes(c))) s.to("live");
      else {
        s.to("retrying");
        s.err({ kind: "server", code: -2, message: "No valid channels" });
      }
      if (gaps.length) call(s.o.onGap, gaps);
      if (any || gaps.length) {
        const r = { since: m.since, last_id: m.last_id, messages: out };
        if (gaps.length) r.truncated = gaps;
        if (s.live) call(s.cb, r);
      }
    }
    if (need && !this.leading) this.hello();
  }

  fail(m, relayed) {
    for (const s of this.subs) {
      if (!s.chans.some((c) => m.chans.includes(c))) continue;
      s.to("retrying");
      s.err(Object.assign({ retryIn: m.retry, relayed: !!relayed }, m.err));
    }
  }
}
