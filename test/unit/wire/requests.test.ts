/**
 * The small request decoders of wire/: names a request must or may carry, each bad one refused as
 * InvalidSpec naming its field, before anything is asked of the scheduler.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSchedulerError } from '../../../src/domain/errors.js';
import { engineNameFromProto } from '../../../src/wire/chainer.js';
import { optionalName, requiredName } from '../../../src/wire/limits.js';
import { explainModelFromProto } from '../../../src/wire/placement.js';
import { modelStatusFromProto, unloadModelFromProto } from '../../../src/wire/scheduler/model.js';
import { serverStatusFromProto } from '../../../src/wire/scheduler/server.js';

/** The field an InvalidSpec names, or fails. */
function refusedField(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    assert.ok(isSchedulerError(e) && e.code === 'InvalidSpec', String(e));
    return e.details['field'];
  }
  return assert.fail('expected an InvalidSpec error');
}

describe('wire: request decoders', () => {
  it('UnloadModel: the model name, and the Kubernetes generation that asked', () => {
    assert.deepEqual(
      unloadModelFromProto({
        model: { name: 'iris' },
        kubernetesMeta: { namespace: 'ns', generation: 3n },
      }),
      { name: 'iris', kubernetesMeta: { namespace: 'ns', generation: 3 } },
    );
    assert.deepEqual(unloadModelFromProto({ model: { name: 'iris' } }), {
      name: 'iris',
      kubernetesMeta: undefined,
    });
    assert.equal(
      refusedField(() => unloadModelFromProto({})),
      'model.name',
    );
    assert.equal(
      refusedField(() => unloadModelFromProto({ model: { name: 'Not_A_Label' } })),
      'model.name',
    );
    assert.equal(
      refusedField(() =>
        unloadModelFromProto({
          model: { name: 'iris' },
          kubernetesMeta: { namespace: 'ns', generation: -1n },
        }),
      ),
      'kubernetesMeta.generation',
    );
  });

  it('ModelStatus and ServerStatus: one named resource, or every one', () => {
    assert.equal(modelStatusFromProto({ subscriberName: 'cli', allVersions: false }), undefined);
    assert.equal(
      modelStatusFromProto({ subscriberName: 'cli', model: { name: 'iris' }, allVersions: true }),
      'iris',
    );
    assert.equal(
      refusedField(() =>
        modelStatusFromProto({ subscriberName: 'cli', model: { name: '' }, allVersions: false }),
      ),
      'model.name',
    );
    assert.equal(serverStatusFromProto({ subscriberName: 'cli' }), undefined);
    assert.equal(serverStatusFromProto({ subscriberName: 'cli', name: 'mlserver' }), 'mlserver');
    assert.equal(
      refusedField(() => serverStatusFromProto({ subscriberName: 'cli', name: 'no spaces' })),
      'name',
    );
  });

  it('names a request must carry, or may', () => {
    assert.equal(requiredName('name', 'p1'), 'p1');
    assert.equal(
      refusedField(() => requiredName('name', '')),
      'name',
    );
    assert.equal(
      refusedField(() => requiredName('name', undefined)),
      'name',
    );
    assert.equal(optionalName('name', undefined), undefined);
    assert.equal(optionalName('name', 'p1'), 'p1');
    assert.equal(
      refusedField(() => optionalName('name', '')),
      'name',
    );
  });

  it('ExplainModel and a dataflow engine subscribing', () => {
    assert.equal(explainModelFromProto({ name: 'iris' }), 'iris');
    assert.equal(
      refusedField(() => explainModelFromProto({ name: '' })),
      'name',
    );
    assert.equal(engineNameFromProto({ name: 'engine-0' }), 'engine-0');
    assert.equal(
      refusedField(() => engineNameFromProto({ name: '' })),
      'name',
    );
  });
});
