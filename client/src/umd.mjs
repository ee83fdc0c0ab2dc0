// The entry of simple-comet.umd.js: the module's API as the global
// SimpleComet (a <script> tag), or as module.exports under CommonJS.
import { subscribe, start } from "./simple-comet.mjs";

const api = { subscribe, start };
if (typeof module == "object" && module.exports) module.exports = api;
else globalThis.SimpleComet = api;
