/** The extreme values of the proto's 64-bit integer types that wire tests send. */

/** int64 / sint64 / sfixed64. */
export const INT64_EXTREMES: readonly bigint[] = [
  0n,
  -1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
];

/** uint64 / fixed64. */
export const UINT64_EXTREMES: readonly bigint[] = [
  0n,
  1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 64n - 1n,
];
