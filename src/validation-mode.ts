// arktype's settings, applied before arktype first loads (main.ts imports this
// module first). `jitless`: arktype otherwise compiles every validator, its own
// built-in keywords included, into generated JavaScript as it loads. That cost
// ~11 MiB of idle memory in the binary (a third of Herald's own share), while the
// interpreted checks it falls back to take ~0.4 µs per request body instead of
// ~0.06 µs: nothing against the ~60 µs a publish costs.
import { configure } from "arktype/config";

configure({ jitless: true });
