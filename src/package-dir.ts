/**
 * The package's folder, where package.json, proto/ and statecharts/ are: one up from this module,
 * which is src/package-dir.ts in the sources and a file of dist/ once built (`npm run build`
 * bundles into that one flat folder).
 */
export const PACKAGE_DIR = new URL('../', import.meta.url);
