// Types of system-deps.mjs, for the test that imports it.

/** A program or file the tests need, and the Debian package that provides it. */
export type Requirement =
  | {
      readonly command: string;
      readonly file?: undefined;
      readonly package: string;
      readonly why: string;
    }
  | {
      readonly file: string;
      readonly command?: undefined;
      readonly package: string;
      readonly why: string;
    };

/** Where to look: a PATH string and a directory standing in for `/`. */
export interface Place {
  readonly path?: string;
  readonly root?: string;
}

export const REQUIREMENTS: readonly Requirement[];
export function findCommand(name: string, place?: Place): string | undefined;
export function findMissing(place?: Place): Requirement[];
export function packagesOf(missing: readonly Requirement[]): string[];
export function installCommand(packages: readonly string[]): string;
export function canInstall(options?: Place & { readonly uid?: number | undefined }): boolean;
export function report(missing: readonly Requirement[]): string;
export function ensureSystemDeps(): boolean;
