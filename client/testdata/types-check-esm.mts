// The same package seen from an ES module (the "import" condition), and the
// UMD entry's namespace.
import * as SimpleComet from "simple-comet";
import type { Reply } from "simple-comet/umd";

const sub: SimpleComet.Subscription = SimpleComet.subscribe("/channels/a.json", (r: Reply) => console.log(r.last_id), { since: 5 });
sub.cancel();
