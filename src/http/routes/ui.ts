// The console at /ui/: ui/index.html imported as a Bun HTML bundle. In the
// compiled binary the bundler has already built it (page.files, embedded); from
// source it is built once, in memory, on the first request.
import { Elysia } from "elysia";
import { basename } from "node:path";
import page from "../../../ui/index.html";
import { notFound } from "../../engine/problem.ts";

interface Asset {
  body: Blob;
  type: string;
}

interface Console {
  html: string;
  /** Scripts and stylesheets by file name, served under /ui/. */
  assets: Map<string, Asset>;
}

const HTML_TYPE = "text/html; charset=utf-8";
const ASSET_RE = /((?:src|href)=")(?:\.?\/)?([\w.-]+\.(?:js|css|svg|png|ico))"/g;

/** The bundler names assets from the site root ("/chunk-x.js" or "./chunk-x.js"); the console lives under /ui/. */
const underUi = (html: string) => html.replace(ASSET_RE, (_, attr: string, name: string) => `${attr}/ui/${name}"`);

async function fromBinary(files: NonNullable<typeof page.files>): Promise<Console> {
  const assets = new Map<string, Asset>();
  let html = "";
  for (const file of files) {
    if (file.loader === "html") html = await Bun.file(file.path).text();
    else assets.set(basename(file.path), { body: Bun.file(file.path), type: file.headers["content-type"] });
  }
  return { html: underUi(html), assets };
}

async function fromSource(): Promise<Console> {
  const built = await Bun.build({ entrypoints: [page.index], target: "browser", minify: true });
  if (!built.success) throw new AggregateError(built.logs, "the console did not build");
  const assets = new Map<string, Asset>();
  let html = "";
  for (const output of built.outputs) {
    if (output.path.endsWith(".html")) html = await output.text();
    else assets.set(basename(output.path), { body: output, type: output.type });
  }
  return { html: underUi(html), assets };
}

let loaded: Promise<Console> | null = null;
const load = () => (loaded ??= page.files ? fromBinary(page.files) : fromSource());

export function uiRoutes() {
  const index = async () =>
    new Response((await load()).html, {
      // The page is small and changes with the binary: always revalidate it; its assets carry hashed names.
      // Its content-security-policy and frame options are set for every answer under /ui/ (security-headers.ts).
      headers: { "content-type": HTML_TYPE, "cache-control": "no-cache" },
    });
  return new Elysia()
    .get("/ui/", index, { detail: { hide: true } })
    .get(
      "/ui/:file",
      async ({ params }) => {
        const asset = (await load()).assets.get(params.file);
        if (!asset) throw notFound("console file", params.file);
        return new Response(asset.body, { headers: { "content-type": asset.type, "cache-control": "public, max-age=31536000, immutable" } });
      },
      { detail: { hide: true } },
    );
}
