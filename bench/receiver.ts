// A webhook receiver for trying Herald out (`npm run receiver`): prints every
// webhook it gets and answers 200. PORT and STATUS change its port and answer.
export {};

const port = Number(process.env.PORT ?? 9000);
const status = Number(process.env.STATUS ?? 200);

Bun.serve({
  port,
  hostname: "127.0.0.1",
  async fetch(request) {
    const body = await request.text();
    console.log(
      `${new Date().toISOString()} ${request.method} ${new URL(request.url).pathname}\n` +
        `  webhook-id: ${request.headers.get("webhook-id")}\n` +
        `  webhook-timestamp: ${request.headers.get("webhook-timestamp")}\n` +
        `  webhook-signature: ${request.headers.get("webhook-signature")}\n` +
        `  body: ${body}\n  → ${status}`,
    );
    return new Response(status < 300 ? "ok" : "no", { status });
  },
});
console.log(`receiver listening on http://127.0.0.1:${port}/ (answers ${status})`);
