/**
 * The client's manifest parser on the numbers of a Model or Server: memory quantities read to exact
 * bytes as Kubernetes reads them (src/cli/quantity.ts), and the scaling fields' validation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  UINT32_MAX,
  FILE,
  model,
  server,
  refuses,
  modelRefused,
  memoryOf,
  scalingOf,
} from '../../support/manifest-docs.js';

describe('manifests: memory quantities (exact bytes)', () => {
  it('binary and decimal suffixes and exponents', () => {
    assert.equal(memoryOf('100Ki'), 102400n);
    assert.equal(memoryOf('3Gi'), 3221225472n);
    assert.equal(memoryOf('1e3'), 1000n);
    assert.equal(memoryOf('"1e3"'), 1000n);
    assert.equal(memoryOf('1E3'), 1000n);
    assert.equal(memoryOf('1k'), 1000n);
    assert.equal(memoryOf('1.5G'), 1500000000n);
    assert.equal(memoryOf('1.5Gi'), 1610612736n);
    assert.equal(memoryOf('1000m'), 1n);
    assert.equal(memoryOf('2048'), 2048n);
    assert.equal(memoryOf('"2048"'), 2048n);
    assert.equal(memoryOf('0'), 0n);
    assert.equal(memoryOf('"+5M"'), 5000000n);
    assert.equal(memoryOf('1T'), 10n ** 12n);
    assert.equal(model('storageUri: gs://m').model?.modelSpec?.memoryBytes, undefined);
    assert.equal(
      model('storageUri: gs://m\nmemory: null').model?.modelSpec?.memoryBytes,
      undefined,
    );
  });

  it("a value that is not a whole number of bytes is refused with Seldon's text", () => {
    const cannot = (memory: string, shown: string) => {
      modelRefused(
        `storageUri: gs://m\nmemory: ${memory}`,
        'spec.memory',
        `Can't convert model memory quantity to bytes. ${shown}`,
      );
    };
    cannot('100m', '100m');
    cannot('0.1', '100m');
    cannot('1.5', '1500m');
    cannot('0.1Ki', '102400m');
    cannot('"1500e-3"', '1500e-3');
    // Unquoted, YAML reads 1500e-3 as the number 1.5 (as Go's YAML-to-JSON step does).
    cannot('1500e-3', '1500m');
    cannot('1n', '1n');
    cannot('10E', '10E');
  });

  it('refuses what is not a quantity, negative sizes and sizes beyond 2^53 bytes', () => {
    modelRefused(
      'storageUri: gs://m\nmemory: lots',
      'spec.memory',
      'must be a Kubernetes quantity such as 100Ki, 3Gi or 1e3, not "lots"',
    );
    modelRefused(
      'storageUri: gs://m\nmemory: 1KB',
      'spec.memory',
      'must be a Kubernetes quantity such as 100Ki, 3Gi or 1e3, not "1KB"',
    );
    modelRefused(
      'storageUri: gs://m\nmemory: true',
      'spec.memory',
      'must be a Kubernetes quantity such as 100Ki, 3Gi or 1e3, not true',
    );
    modelRefused(
      'storageUri: gs://m\nmemory: -1Gi',
      'spec.memory',
      'must be a quantity of at least 0, not "-1Gi"',
    );
    modelRefused(
      'storageUri: gs://m\nmemory: 1E',
      'spec.memory',
      '1E is more bytes than a request can carry (at most 9007199254740991)',
    );
  });
});

describe('manifests: scaling validation (models and servers)', () => {
  it('replicas as given (0 allowed); unset replicas follow minReplicas; maxReplicas 0 is no limit', () => {
    assert.deepEqual(scalingOf('replicas: 0'), {
      replicas: 0,
      minReplicas: 0,
      maxReplicas: UINT32_MAX,
      logPayloads: false,
    });
    assert.deepEqual(scalingOf('minReplicas: 2'), {
      replicas: 2,
      minReplicas: 2,
      maxReplicas: UINT32_MAX,
      logPayloads: false,
    });
    assert.deepEqual(scalingOf('replicas: 3\nmaxReplicas: 0'), {
      replicas: 3,
      minReplicas: 0,
      maxReplicas: UINT32_MAX,
      logPayloads: false,
    });
    assert.deepEqual(scalingOf('maxReplicas: 5'), {
      replicas: 1,
      minReplicas: 0,
      maxReplicas: 5,
      logPayloads: false,
    });
    assert.deepEqual(scalingOf('replicas: -4'), {
      replicas: 1,
      minReplicas: 0,
      maxReplicas: UINT32_MAX,
      logPayloads: false,
    });
  });

  it("refuses inconsistent specs with Seldon's texts", () => {
    const invalid = (fields: string, field: string, text: string) => {
      modelRefused(`storageUri: gs://m\n${fields}`, field, `scaling spec is invalid: ${text}`);
    };
    invalid(
      'replicas: 1\nminReplicas: 2',
      'spec.replicas',
      'number of replicas 1 must be >= min replicas 2',
    );
    invalid(
      'replicas: 0\nminReplicas: 2',
      'spec.replicas',
      'number of replicas 0 must be >= min replicas 2',
    );
    invalid(
      'minReplicas: 3\nmaxReplicas: 2',
      'spec.minReplicas',
      'min number of replicas 3 must be <= max number of replicas 2',
    );
    invalid(
      'replicas: 5\nmaxReplicas: 4',
      'spec.replicas',
      'number of replicas 5 must be <= max replicas 4',
    );
    invalid(
      'replicas: -1\nminReplicas: 2',
      'spec.replicas',
      'number of replicas -1 cannot be less than minimum replica 2',
    );
  });

  it('refuses replicas that are not whole int32 numbers', () => {
    modelRefused(
      'storageUri: gs://m\nreplicas: two',
      'spec.replicas',
      'must be a whole number, not "two"',
    );
    modelRefused(
      'storageUri: gs://m\nreplicas: 1.5',
      'spec.replicas',
      'must be a whole number, not 1.5',
    );
    modelRefused(
      'storageUri: gs://m\nmaxReplicas: 3000000000',
      'spec.maxReplicas',
      'must be a whole number between -2147483648 and 2147483647, not 3000000000',
    );
  });

  it('servers get the same validation', () => {
    assert.deepEqual(server('serverConfig: mlserver\nreplicas: 2\nmaxReplicas: 4'), {
      name: 'x',
      expectedReplicas: 2,
      minReplicas: 0,
      maxReplicas: 4,
      shared: false,
      kubernetesMeta: { namespace: '', generation: 0n },
    });
    refuses(
      () => server('serverConfig: mlserver\nreplicas: 5\nmaxReplicas: 4'),
      'spec.replicas',
      `${FILE}: document 1 (Server x): spec.replicas: scaling spec is invalid: number of replicas 5 must be <= max replicas 4`,
    );
  });
});
