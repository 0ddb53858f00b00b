// Managing the event-type catalogue: names, descriptions, an optional JSON
// Schema for `data` and an example (checked against the schema), and the
// tenants it is limited to (none: every tenant's). `herald.*`
// names are reserved for Herald's own operational events. Each change is
// written with its audit entry (an event type belongs to no tenant).
import type { EventType } from "../store/types.ts";
import { checkUnique } from "../rules/repeats.ts";
import type { Caller } from "./audit.ts";
import { eventTypeChanges } from "./audit-changes.ts";
import { checkSchema, formatSchemaPath, validateData } from "../rules/data-schema.ts";
import type { ServiceParts } from "./service-parts.ts";
import { isReservedEventType, RESERVED_EVENT_TYPE } from "../rules/patterns.ts";
import { assertApiManaged, notFound, Problem, type ProblemDetail } from "./problem.ts";


export interface EventTypeInput {
  name: string;
  description?: string;
  schema?: object | null;
  example?: unknown;
  /** The tenants that may see, publish and receive it; null or absent: every tenant. As the API checks it (config/fields.ts: EventTypeTenants); each named once: checkTenants. */
  tenants?: string[] | null;
}

export class EventTypeService {
  constructor(private readonly parts: ServiceParts) {}

  async get(name: string): Promise<EventType> {
    const eventType = await this.parts.store.catalog.getEventType(name);
    if (!eventType) throw notFound("event type", name);
    return eventType;
  }

  async create(by: Caller, input: EventTypeInput): Promise<EventType> {
    if (isReservedEventType(input.name)) {
      throw new Problem("invalid", "event type names herald and herald.* are reserved for Herald's own events", [{ path: "name", message: RESERVED_EVENT_TYPE }]);
    }
    const now = this.parts.deps.now();
    const eventType: EventType = {
      name: input.name, description: input.description ?? "", schema: input.schema ?? null, example: input.example,
      tenants: checkTenants(input.tenants), managed_by: "api", created_at: now, updated_at: now,
    };
    checkExample(eventType);
    // One insert-if-absent, never look-then-write: another instance may create the same name meanwhile.
    if (!(await this.parts.store.catalog.createEventType(eventType, this.entry(by, "event_type.created", null, eventType)))) throw new Problem("conflict", `event type ${input.name} exists already`, [{ path: "name", message: "is taken" }]);
    await this.parts.catalog.reload();
    return eventType;
  }

  async update(by: Caller, name: string, patch: Omit<EventTypeInput, "name">): Promise<EventType> {
    const current = await this.get(name);
    assertApiManaged(current, "event type", name);
    const next: EventType = {
      ...current,
      description: patch.description ?? current.description,
      schema: patch.schema === undefined ? current.schema : patch.schema,
      example: patch.example === undefined ? current.example : patch.example,
      tenants: patch.tenants === undefined ? current.tenants : checkTenants(patch.tenants),
      updated_at: this.parts.deps.now(),
    };
    checkExample(next);
    // A keyed update: an event type deleted meanwhile stays deleted.
    const found = await this.parts.store.catalog.updateEventType(next, this.entry(by, "event_type.updated", current, next));
    await this.parts.catalog.reload();
    if (!found) throw notFound("event type", name);
    return next;
  }

  /** Events already published keep their type; new ones of it are refused. */
  async remove(by: Caller, name: string): Promise<void> {
    const current = await this.get(name);
    assertApiManaged(current, "event type", name);
    await this.parts.store.catalog.deleteEventType(name, this.entry(by, "event_type.deleted", current, null));
    await this.parts.catalog.reload();
  }

  private entry(by: Caller, action: string, before: EventType | null, after: EventType | null) {
    const t = (after ?? before)!;
    return this.parts.audit.entry(by, { action, resource: { type: "event_type", id: t.name }, tenant: null, changes: eventTypeChanges(before, after) });
  }
}

/**
 * A tenants list names each tenant once: the one rule of the list its type
 * (config/fields.ts: EventTypeTenants, at least one, each a tenant name) leaves
 * to this check, the config's own (rules/repeats.ts), so each repeat is reported at its own index.
 */
function checkTenants(tenants: string[] | null | undefined): string[] | null {
  if (tenants === undefined || tenants === null) return null;
  const repeats: ProblemDetail[] = [];
  checkUnique(tenants, (i) => ({ path: `tenants[${i}]`, message: `names ${tenants[i]} a second time` }), repeats);
  if (repeats.length) throw new Problem("invalid", "the tenants list is invalid", repeats);
  return [...tenants];
}

/**
 * A schema must be usable (checkSchema: regular expressions, references, size, depth), so
 * that no publish of the type fails later; and an example must satisfy it: consumers copy examples.
 */
function checkExample(eventType: EventType): void {
  if (!eventType.schema) return;
  const invalid = checkSchema(eventType.schema);
  if (invalid.length) {
    throw new Problem("invalid", `the schema is not usable: ${invalid[0]!.message}`, invalid.map((p) => ({ path: formatSchemaPath("schema", p.path), message: p.message })));
  }
  if (eventType.example === undefined) return;
  const problems = validateData(eventType.schema, eventType.example);
  if (problems.length) {
    throw new Problem("invalid", "the example does not match the schema", problems.map((p) => ({ path: p.path.replace(/^data/, "example"), message: p.message })));
  }
}
