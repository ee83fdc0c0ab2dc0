// Compiled (not run) by TestTypes with tsc --noEmit --strict: the calls a
// page makes must type-check against simple-comet.d.ts, and misuse must not.
import { subscribe, start, type Reply, type SubscribeError, type State, type Subscription } from "simple-comet";

start();
const a: Subscription = subscribe("https://comet.example.com/channels/a%7Cb.json", (r: Reply) => {
  for (const [channel, list] of Object.entries(r.messages)) {
    for (const m of list) {
      const text: string = m.content;
      const id: number = m.id;
      const ts: number = m.ts;
      console.log(channel, text, id, ts, r.last_id, r.since, r.truncated?.length);
    }
  }
});
a.cancel();
subscribe("/channels/a.jsonp", () => {}, "client-42").cancel();
subscribe("/channels/a.json", () => {}, {
  clientId: "c",
  since: 0,
  share: false,
  timeout: 45000,
  onState: (s: State) => console.log(s === "live"),
  onError: (e: SubscribeError) => console.log(e.kind, e.code, e.status, e.message, e.retryIn),
  onGap: (channels: string[]) => console.log(channels.join()),
});
// @ts-expect-error: options of the wrong type are refused.
subscribe("/channels/a.json", () => {}, { share: "yes" });
// @ts-expect-error: a state that does not exist.
const bad: State = "paused";
console.log(bad);
