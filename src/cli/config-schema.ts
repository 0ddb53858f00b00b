// `herald config-schema`: prints the config file's JSON Schema (config.schema.json is its output).
import { configJsonSchema } from "../config/json-schema.ts";

export async function run(): Promise<void> {
  console.log(JSON.stringify(configJsonSchema(), null, 2));
}
