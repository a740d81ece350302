/** The {@link SessionStore} contract, run against the file store and the memory store. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileStore } from '../../src/store/file.js';
import { memoryStore } from '../../src/store/memory.js';
import { type StoreHarness, storeContract } from './contract.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

storeContract('fileStore', (): StoreHarness => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-contract-'));
  dirs.push(dir);
  return {
    async fresh() {
      const store = fileStore(dir);
      await store.open();
      return store;
    },
    async reload(store) {
      await store.close();
      const again = fileStore(dir);
      const snapshot = await again.open();
      await again.close();
      return snapshot;
    },
  };
});

storeContract('memoryStore', (): StoreHarness => {
  return {
    async fresh() {
      const store = memoryStore();
      await store.open();
      return store;
    },
    // The memory store's state lives in the instance: a later open() returns it.
    reload: (store) => store.open(),
  };
});
