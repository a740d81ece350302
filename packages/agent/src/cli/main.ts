/**
 * Entry point of the `courier` command (`bin/courier.js` imports the compiled form).
 *
 * @module
 */

import { main } from './program.js';

process.exitCode = await main(process.argv);
// Tools end their clients before returning; exit explicitly anyway so that a lingering
// timer in a dependency can never keep a finished command alive.
process.exit();
