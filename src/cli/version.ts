// `herald version`: prints the version.
import { VERSION } from "../version.ts";

export async function run(): Promise<void> {
  console.log(VERSION);
}
