import { memoryStorage } from 'campaign-lifecycle/memory';
import { storageConformanceSuite } from 'campaign-lifecycle/testing';
import { afterEach, describe, it } from 'vitest';

storageConformanceSuite({ describe, it, afterEach }, { name: 'memoryStorage', create: () => memoryStorage() });
storageConformanceSuite(
  { describe, it, afterEach },
  { name: 'memoryStorage({ compact: false })', create: () => memoryStorage({ compact: false }) },
);
