// Builds the modern client from src/simple-comet.mjs with the pinned
// esbuild: simple-comet.mjs (an ES module) and simple-comet.umd.js (the same
// code defining the global SimpleComet, and module.exports under CommonJS),
// both minified for ES2017, each at most 3072 bytes gzipped.
//
//   node build-modern.mjs            write both files here
//   node build-modern.mjs --out DIR  write them into DIR (the Go test's staleness check)
//
// The legacy ES3 client has its own build (build.js), untouched by this one.
import { build } from "esbuild";
import { writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf("--out");
const out = i > 0 ? process.argv[i + 1] : here;
const LIMIT = 3072;
const banner = "/* Simple Comet client, https://github.com/simple-comet/simple-comet */";
// Internal property names (the hub's state, the relayed messages' fields)
// are mangled; every tab runs the same file, so they agree.
const internal = /^(subs|peers|epoch|seen|back|leading|ctl|cur|up|bc|lockCtl|timer|pinged|release|queue|alive|quiet|dog|key|cid|solo|tab|query|base|chans|cov|live|state|hub|cb|post|hello|resume|suspend|lead|follow|schedule|wake|ping|watch|heard|changed|union|poll|apply|fail|want|enter|drop|to|stop|err|retry)$/;

const common = {
  mangleProps: internal,
  bundle: true,
  minify: true,
  target: "es2017",
  charset: "ascii",
  legalComments: "none",
  write: false,
  logLevel: "error",
};

const builds = [
  ["simple-comet.mjs", { format: "esm", entryPoints: [join(here, "src", "simple-comet.mjs")], banner: { js: banner } }],
  ["simple-comet.umd.js", { format: "iife", entryPoints: [join(here, "src", "umd.mjs")], banner: { js: banner } }],
];

let failed = 0;
for (const [name, opts] of builds) {
  const r = await build({ ...common, ...opts });
  const code = r.outputFiles[0].text;
  const gz = gzipSync(code, { level: 9 }).length;
  writeFileSync(join(out, name), code);
  console.log(`${name}: ${Buffer.byteLength(code)} bytes, ${gz} gzipped`);
  if (gz > LIMIT) {
    console.error(`${name}: got ${gz} bytes gzipped, want <= ${LIMIT}`);
    failed = 1;
  }
}
process.exit(failed);
