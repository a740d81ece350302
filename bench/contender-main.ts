/**
 * Entry point of a contender process (see contender.ts). A separate module so that the bundle's
 * entry stays tiny while the contenders' shared code lives in chunks.
 *
 * Usage: contender-main.js '<ContenderSpec as JSON>'
 */

import { main } from './contender.js';

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
