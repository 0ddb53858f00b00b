// Repeated names in a list: the config's lists and the API's event-type
// tenants report each repeat at its own index, against the first holder.

/** Reports every string value that an earlier item already has, as `report(index, firstIndex)`. */
export function checkUnique<E>(values: unknown[], report: (i: number, first: number) => E, errors: E[]): void {
  const first = new Map<string, number>();
  values.forEach((value, i) => {
    if (typeof value !== "string") return;
    const j = first.get(value);
    if (j === undefined) first.set(value, i);
    else errors.push(report(i, j));
  });
}
