import type { BuildOptions } from 'esbuild';

/** Where the browser bundle is written. */
export declare const BROWSER_BUNDLE: string;
/** esbuild options for the browser bundle (no outfile: the caller adds one, or `write: false`). */
export declare function browserBuildOptions(): BuildOptions;
