/**
 * The client commands' JSON: proto3's canonical JSON mapping with default values, as Go's protojson
 * prints it with EmitDefaultValues, so that a script can tell `false` or `0` from a field the
 * scheduler did not report. The generated `toJSON` (ts-proto, emitDefaultValues=json-methods)
 * states every scalar and enum field; it still drops empty repeated and map fields, which
 * {@link withEmptyCollections} adds back. Fields with presence (messages, proto3 `optional` fields,
 * oneofs) stay absent when unset.
 */

type Obj = Record<string, unknown>;

/** An object literal as ts-proto builds messages and maps (not a Date, a Buffer or an array). */
const isPlain = (v: unknown): v is Obj =>
  typeof v === 'object' &&
  v !== null &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** A oneof set, as ts-proto's `oneof=unions-value` holds it: `{ $case: field, value }`. */
const isOneof = (v: Obj): v is { $case: string; value: unknown } =>
  typeof v['$case'] === 'string' && 'value' in v;

/**
 * `json`, the generated `toJSON(message)`, with the empty repeated fields of `message` (and of every
 * message in it) as `[]` and its empty map fields as `{}`, each in its place: fields in the order of
 * the proto, as protojson writes them.
 */
export function withEmptyCollections(message: unknown, json: unknown): unknown {
  if (Array.isArray(message) && Array.isArray(json)) {
    return json.map((j: unknown, i) => withEmptyCollections(message[i], j));
  }
  if (!isPlain(message) || !isPlain(json)) return json;
  // A decoded message has every field (undefined when unset) in the proto's order.
  const out: Obj = {};
  for (const [key, value] of Object.entries(message)) {
    if (key in json) out[key] = withEmptyCollections(value, json[key]);
    else if (Array.isArray(value) && value.length === 0) out[key] = [];
    else if (isPlain(value) && isOneof(value)) {
      if (value.$case in json) {
        out[value.$case] = withEmptyCollections(value.value, json[value.$case]);
      }
    }
    // toJSON writes every message that is set, even an empty one: an object it left out is a map.
    else if (isPlain(value) && Object.keys(value).length === 0) out[key] = {};
  }
  // Should a JSON name ever differ from its field's, that field is still printed, if out of order.
  for (const [key, value] of Object.entries(json)) if (!(key in out)) out[key] = value;
  return out;
}
