// Subscription payload filters: which events a filter lets through, and what
// validation says about a bad filter before it is saved.
import { describe, expect, it } from "bun:test";
import { matchesFilter, validateFilter } from "../src/rules/filter.ts";

const event = {
  type: "order.created",
  tenant: "acme",
  data: {
    status: "paid",
    total: 42,
    note: null,
    createdAt: "2024-05-01T10:00:00Z",
    order: { id: "o-1", currency: "EUR", total: 99.5 },
    items: [{ sku: "A-1", qty: 2 }, { sku: "B-2", qty: 1 }],
    tags: ["new", "vip"],
  },
};

// [name, filter, expected]
const cases: [string, object, boolean][] = [
  ["empty filter matches everything", {}, true],
  ["literal string", { "data.status": "paid" }, true],
  ["literal string, other value", { "data.status": "failed" }, false],
  ["literal on type", { type: "order.created" }, true],
  ["literal on tenant", { tenant: "other" }, false],
  ["literal object by deep equality, key order ignored", { "data.order": { total: 99.5, currency: "EUR", id: "o-1" } }, true],
  ["literal object with an extra key", { "data.order": { id: "o-1", currency: "EUR" } }, false],
  ["literal array by deep equality", { "data.tags": ["new", "vip"] }, true],
  ["literal array in another order", { "data.tags": ["vip", "new"] }, false],
  ["no implicit array membership", { "data.tags": "vip" }, false],
  ["literal null matches null", { "data.note": null }, true],
  ["literal null does not match a missing field", { "data.nope": null }, false],
  ["literal on a missing field", { "data.nope": "x" }, false],
  ["every key must hold", { "data.status": "paid", "data.total": 41 }, false],

  ["$eq true", { "data.total": { $eq: 42 } }, true],
  ["$eq false", { "data.total": { $eq: "42" } }, false],
  ["$eq missing", { "data.nope": { $eq: 1 } }, false],
  ["$ne true", { "data.status": { $ne: "failed" } }, true],
  ["$ne false", { "data.status": { $ne: "paid" } }, false],
  ["$ne on a missing field", { "data.nope": { $ne: 1 } }, true],
  ["$gt true", { "data.total": { $gt: 41 } }, true],
  ["$gt false on equal", { "data.total": { $gt: 42 } }, false],
  ["$gte true on equal", { "data.total": { $gte: 42 } }, true],
  ["$gte false", { "data.total": { $gte: 43 } }, false],
  ["$lt true", { "data.total": { $lt: 43 } }, true],
  ["$lt false on equal", { "data.total": { $lt: 42 } }, false],
  ["$lte true on equal", { "data.total": { $lte: 42 } }, true],
  ["$lte false", { "data.total": { $lte: 41 } }, false],
  ["range: all operators must hold", { "data.total": { $gt: 40, $lt: 50 } }, true],
  ["range: one fails", { "data.total": { $gt: 40, $lt: 42 } }, false],
  ["ISO dates compare as strings", { "data.createdAt": { $gte: "2024-01-01", $lt: "2025-01-01" } }, true],
  ["ISO date after", { "data.createdAt": { $gt: "2024-06-01" } }, false],
  ["number against string is false", { "data.total": { $gt: "1" } }, false],
  ["string against number is false", { "data.status": { $lt: 100 } }, false],
  ["comparison on a missing field", { "data.nope": { $lt: 100 } }, false],
  ["$in true", { "data.status": { $in: ["paid", "refunded"] } }, true],
  ["$in false", { "data.status": { $in: ["failed"] } }, false],
  ["$in with objects", { "data.items.1": { $in: [{ qty: 1, sku: "B-2" }] } }, true],
  ["$in missing", { "data.nope": { $in: [null] } }, false],
  ["$nin true", { "data.status": { $nin: ["failed"] } }, true],
  ["$nin false", { "data.status": { $nin: ["paid", "failed"] } }, false],
  ["$nin on a missing field", { "data.nope": { $nin: ["x"] } }, true],
  ["$exists true", { "data.order.id": { $exists: true } }, true],
  ["$exists true on null", { "data.note": { $exists: true } }, true],
  ["$exists true on missing", { "data.nope": { $exists: true } }, false],
  ["$exists false on missing", { "data.nope": { $exists: false } }, true],
  ["$exists false on present", { "data.status": { $exists: false } }, false],
  ["$startsWith true", { type: { $startsWith: "order." } }, true],
  ["$startsWith false", { type: { $startsWith: "sync." } }, false],
  ["$startsWith on a number", { "data.total": { $startsWith: "4" } }, false],

  ["nested path", { "data.order.currency": "EUR" }, true],
  ["path through a scalar", { "data.status.length": 4 }, false],
  ["array index", { "data.items.0.sku": "A-1" }, true],
  ["second array index", { "data.items.1.qty": { $lt: 2 } }, true],
  ["array index out of range", { "data.items.2.sku": { $exists: true } }, false],
  ["non-numeric segment on an array", { "data.items.sku": { $exists: true } }, false],
  ["inherited properties are not fields", { "data.order.constructor": { $exists: true } }, false],

  ["$and all hold", { $and: [{ "data.status": "paid" }, { "data.total": { $gt: 10 } }] }, true],
  ["$and one fails", { $and: [{ "data.status": "paid" }, { "data.total": { $gt: 100 } }] }, false],
  ["$or one holds", { $or: [{ "data.status": "failed" }, { "data.total": 42 }] }, true],
  ["$or none holds", { $or: [{ "data.status": "failed" }, { "data.total": 1 }] }, false],
  ["$not negates", { $not: { "data.status": "failed" } }, true],
  ["$not of a match", { $not: { "data.status": "paid" } }, false],
  ["$not nested in $or", { $or: [{ "data.total": 1 }, { $not: { tenant: "other" } }] }, true],
  ["$and of $or", { $and: [{ $or: [{ type: "x" }, { tenant: "acme" }] }, { $or: [{ "data.tags.1": "vip" }] }] }, true],
  ["logical beside a field", { type: "order.created", $not: { "data.items.0.qty": 2 } }, false],
];

describe("matchesFilter", () => {
  for (const [name, filter, expected] of cases) {
    it(`${name}: ${JSON.stringify(filter)}`, () => {
      expect(validateFilter(filter)).toEqual([]); // every case is a valid filter
      expect(matchesFilter(filter, event)).toBe(expected);
    });
  }

  it("lets through only sync.completed events whose data.status is failed", () => {
    const filter = { type: "sync.completed", "data.status": "failed" };
    const sync = (type: string, status: string) => ({ type, tenant: "acme", data: { status } });
    expect(matchesFilter(filter, sync("sync.completed", "failed"))).toBe(true);
    expect(matchesFilter(filter, sync("sync.completed", "ok"))).toBe(false);
    expect(matchesFilter(filter, sync("sync.started", "failed"))).toBe(false);
    expect(matchesFilter(filter, { type: "sync.completed", tenant: "acme", data: null })).toBe(false);
  });
});

/** A filter with `levels` nested $not. */
function nestedNot(levels: number): object {
  let filter: object = { type: "x" };
  for (let i = 0; i < levels; i++) filter = { $not: filter };
  return filter;
}

/** `{a: {b: {…: 1}}}` with one level per letter. */
function nestedLiteral(keys: string): object {
  return [...keys].reduceRight<unknown>((inner, key) => ({ [key]: inner }), 1) as object;
}

describe("validateFilter", () => {
  // [name, filter, expected problems]
  const invalid: [string, unknown, { path: string; message: string | RegExp }[]][] = [
    ["not an object", ["type"], [{ path: "filter", message: /must be an object/ }]],
    ["null", null, [{ path: "filter", message: /must be an object/ }]],
    ["unknown field operator, with its path", { "data.status": { $foo: 1 } },
      [{ path: "filter.data.status.$foo", message: /^unknown operator \$foo; use one of \$eq, \$ne, .*\$startsWith$/ }]],
    ["unknown top-level operator", { $nor: [] }, [{ path: "filter.$nor", message: /unknown operator \$nor; use a field path or one of \$and, \$or, \$not/ }]],
    ["field operator at filter level", { $eq: 1 }, [{ path: "filter.$eq", message: /unknown operator \$eq/ }]],
    ["$not inside an operator object", { "data.x": { $not: { $eq: 1 } } }, [{ path: "filter.data.x.$not", message: /unknown operator \$not/ }]],
    ["$in takes an array", { "data.status": { $in: "paid" } }, [{ path: "filter.data.status.$in", message: "$in takes an array" }]],
    ["$nin takes an array", { "data.status": { $nin: 1 } }, [{ path: "filter.data.status.$nin", message: "$nin takes an array" }]],
    ["$gt takes a number or string", { "data.total": { $gt: [1] } }, [{ path: "filter.data.total.$gt", message: "$gt takes a number or a string" }]],
    ["$lte takes a number or string", { "data.total": { $lte: null } }, [{ path: "filter.data.total.$lte", message: "$lte takes a number or a string" }]],
    ["$exists takes a boolean", { "data.x": { $exists: 1 } }, [{ path: "filter.data.x.$exists", message: "$exists takes true or false" }]],
    ["$startsWith takes a string", { type: { $startsWith: 1 } }, [{ path: "filter.type.$startsWith", message: "$startsWith takes a string" }]],
    ["mixed operator object", { "data.order": { $eq: 1, id: "o-1" } }, [{ path: "filter.data.order", message: /mixes operators with plain keys \(id\)/ }]],
    ["$and takes an array", { $and: { type: "x" } }, [{ path: "filter.$and", message: "$and takes a non-empty array of filters" }]],
    ["$or takes a non-empty array", { $or: [] }, [{ path: "filter.$or", message: "$or takes a non-empty array of filters" }]],
    ["bad element of $and, with its index", { $and: [{ type: "x" }, { "data.x": { $in: 1 } }] },
      [{ path: "filter.$and[1].data.x.$in", message: "$in takes an array" }]],
    ["$and element not an object", { $and: [{ type: "x" }, "y"] }, [{ path: "filter.$and[1]", message: /must be an object/ }]],
    ["$not takes a filter", { $not: [] }, [{ path: "filter.$not", message: /must be an object/ }]],
    ["path outside type, tenant, data", { status: "failed" }, [{ path: "filter.status", message: "a field path starts with type, tenant, data" }]],
    ["empty path segment", { "data..status": 1 }, [{ path: "filter.data..status", message: /empty segments/ }]],
    ["every problem is reported", { "data.a": { $in: 1 }, $or: [{ "data.b": { $bad: 1 } }] }, [
      { path: "filter.data.a.$in", message: "$in takes an array" },
      { path: "filter.$or[0].data.b.$bad", message: /unknown operator \$bad/ },
    ]],
    ["too deep", nestedNot(20), [{ path: `filter${".$not".repeat(16)}`, message: "nested deeper than 16 levels" }]],
    ["too deep inside a literal", { "data.x": nestedLiteral("abcdefghijklmnop") },
      [{ path: "filter.data.x.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o", message: "nested deeper than 16 levels" }]],
    ["too many values", { "data.x": { $in: Array.from({ length: 1000 }, (_, i) => i) } }, [{ path: "filter", message: "filter has more than 1000 values" }]],
    ["not JSON", { "data.x": { $eq: undefined } }, [{ path: "filter.data.x.$eq", message: "must be a JSON value" }]],
  ];

  for (const [name, filter, expected] of invalid) {
    it(`rejects ${name}`, () => {
      const problems = validateFilter(filter);
      expect(problems).toHaveLength(expected.length);
      expected.forEach(({ path, message }, i) => {
        expect(problems[i]!.path).toBe(path);
        if (typeof message === "string") expect(problems[i]!.message).toBe(message);
        else expect(problems[i]!.message).toMatch(message);
      });
    });
  }

  it("accepts nesting up to the limit", () => {
    expect(validateFilter(nestedNot(15))).toEqual([]);
  });

  it("accepts an empty filter and a literal that looks like an empty operator object", () => {
    expect(validateFilter({})).toEqual([]);
    expect(validateFilter({ "data.x": {} })).toEqual([]);
  });
});
