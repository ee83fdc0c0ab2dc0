// Builds simple-comet.min.js from simple-comet.js with terser and checks
// both files: ES3 syntax (acorn, ecmaVersion 3, reserved words refused as
// property names, no trailing commas), no API newer than 2010, at most 1024
// bytes minified.
//
//   node build.js          write simple-comet.min.js
//   node build.js --check  exit 1 if the committed file is stale or fails a check
//
// Both print the minified and gzipped sizes.
"use strict";

var fs = require("fs");
var path = require("path");
var zlib = require("zlib");
var acorn = require("acorn");
var terser = require("terser");

var LIMIT = 1024;
var SRC = path.join(__dirname, "simple-comet.js");
var MIN = path.join(__dirname, "simple-comet.min.js");

// Calls a 2010 browser (IE 8, Firefox 3.6, Safari 4, Android 2) lacks.
var NEWER = [
  /\bdocument\.head\b/, /\bDate\.now\b/, /\bJSON\./, /\.forEach\b/, /\.map\(/,
  /\.filter\(/, /\bObject\.(keys|create|defineProperty)\b/, /\.bind\(/,
  /\.trim\(/, /\bquerySelector/, /\baddEventListener\b/, /\bPromise\b/,
  /\bfetch\(/, /\bXMLHttpRequest\b/, /\bclassList\b/, /\bdataset\b/
];

function check(name, code) {
  var problems = [];
  var tokens = [];
  try {
    acorn.parse(code, {
      ecmaVersion: 3,
      allowReserved: "never",
      sourceType: "script",
      onToken: tokens
    });
  } catch (e) {
    problems.push(name + ": not ES3: " + e.message);
  }
  for (var i = 1; i < tokens.length; i++) {
    var t = tokens[i].type.label;
    if ((t === "]" || t === "}") && tokens[i - 1].type.label === ",") {
      problems.push(name + ": trailing comma at offset " + tokens[i - 1].start);
    }
  }
  NEWER.forEach(function (re) {
    if (re.test(code.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ""))) {
      problems.push(name + ": uses an API newer than 2010: " + re);
    }
  });
  return problems;
}

async function build(source) {
  var out = await terser.minify(source, {
    ecma: 5,
    ie8: true,
    toplevel: false,
    compress: { passes: 3, unsafe: false },
    mangle: true,
    format: { ascii_only: true, comments: false }
  });
  return out.code + "\n";
}

async function main() {
  var checkOnly = process.argv.indexOf("--check") >= 0;
  var source = fs.readFileSync(SRC, "utf8");
  var min = await build(source);
  var problems = check("simple-comet.js", source).concat(check("simple-comet.min.js", min));
  var size = Buffer.byteLength(min);
  var gz = zlib.gzipSync(min, { level: 9 }).length;
  if (size > LIMIT) problems.push("simple-comet.min.js: got " + size + " bytes, want <= " + LIMIT);
  if (checkOnly) {
    var committed = fs.existsSync(MIN) ? fs.readFileSync(MIN, "utf8") : "";
    if (committed !== min) {
      problems.push("simple-comet.min.js is stale: run `npm run build` in client/");
    }
  } else if (!problems.length) {
    fs.writeFileSync(MIN, min);
  }
  console.log("simple-comet.min.js: " + size + " bytes, " + gz + " gzipped (node zlib level 9; gzip -9 differs by a few bytes)");
  if (problems.length) {
    console.error(problems.join("\n"));
    process.exit(1);
  }
}

main().catch(function (e) {
  console.error(e);
  process.exit(1);
});
