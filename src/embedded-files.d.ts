// Files imported `with { type: "file" }` are embedded by `bun build --compile`;
// the import gives their path, which Bun.file() opens in the binary too.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "*.css" {
  const path: string;
  export default path;
}
