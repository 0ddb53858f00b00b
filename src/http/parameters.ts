// The query and path parameters several routes share, each described once: the
// API document shows these descriptions beside the parameters.
import { type } from "arktype";
import { isoTime } from "./schemas.ts";

export const Cursor = type("string").describe("the `next_cursor` of the previous page; left out for the first page");

/** A time in a query: an ISO 8601 instant with a zone (parseTime refuses anything else with a 400). */
const time = (description: string) => isoTime(`${description}: ISO 8601, such as 2026-01-31T12:00:00Z`);
export const Since = time("only those created at or after this time");
export const Until = time("only those created before this time");

export const TenantFilter = type("string").describe("only this tenant's; a tenant-scoped token may name only its own tenant");

/** The `{id}` of a resource's path, described with the ids it takes. */
export const idParams = (description: string) => type({ id: type("string").describe(description) });

export const EVENT_ID = "the event's id: evt_… as Herald made it, or the id the producer gave";
export const DESTINATION_ID = "the destination's id: dst_…, or the id it was given (by the config or at creation)";
export const SUBSCRIPTION_ID = "the subscription's id: sub_…, or the id it was given (by the config or at creation)";
export const DELIVERY_ID = "the delivery's id (dlv_…)";
