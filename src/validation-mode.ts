// arktype's settings, applied before arktype first loads (main.ts imports this
// module first). `jitless`: arktype otherwise compiles every validator, its own
// built-in keywords included, into generated JavaScript as it loads, and the
// JIT then compiled much of that: ~20 MiB of the binary's idle memory (95 → 75
// MiB). The interpreted checks it falls back to take ~0.4 µs per request body
// instead of ~0.06 µs: little against the ~60 µs a publish costs.
import { configure } from "arktype/config";

configure({ jitless: true });
