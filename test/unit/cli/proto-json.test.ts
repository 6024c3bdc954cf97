/** The client commands' JSON: proto3 JSON with default values (src/cli/proto-json.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withEmptyCollections } from '../../../src/cli/proto-json.js';
import {
  ModelStatusResponse,
  PipelineStatusResponse,
  ServerStatusResponse,
} from '../../../src/gen/mlops/scheduler/scheduler.js';

describe('status JSON with default values', () => {
  it('states false, zero, empty strings, the zero enum value, [] and {}', () => {
    const s = PipelineStatusResponse.fromPartial({
      pipelineName: 'p',
      versions: [
        {
          pipeline: { name: 'p', version: 1, steps: [{ name: 'm' }], output: { steps: ['m'] } },
          state: { pipelineVersion: 1, modelsReady: false },
        },
      ],
    });
    const json = withEmptyCollections(s, PipelineStatusResponse.toJSON(s));
    // In the proto's order, as protojson writes them.
    assert.equal(
      JSON.stringify(
        (json as { versions: { pipeline: { steps: unknown[] } }[] }).versions[0]?.pipeline.steps[0],
      ),
      '{"name":"m","inputs":[],"tensorMap":{},"inputsJoin":"INNER","triggers":[],"triggersJoin":"INNER"}',
    );
    assert.deepEqual(json, {
      pipelineName: 'p',
      versions: [
        {
          pipeline: {
            name: 'p',
            uid: '',
            version: 1,
            steps: [
              {
                name: 'm',
                inputs: [],
                tensorMap: {},
                inputsJoin: 'INNER',
                triggers: [],
                triggersJoin: 'INNER',
              },
            ],
            output: { steps: ['m'], joinWindowMs: 0, stepsJoin: 'INNER', tensorMap: {} },
          },
          state: {
            pipelineVersion: 1,
            status: 'PipelineStatusUnknown',
            reason: '',
            modelsReady: false,
          },
        },
      ],
    });
  });

  it('leaves out unset messages, proto3 optional fields and oneofs; fills a set oneof', () => {
    const s = ModelStatusResponse.fromPartial({
      modelName: 'm',
      versions: [
        {
          version: 1,
          modelDefn: {
            meta: { name: 'm' },
            modelSpec: {
              uri: 'gs://m',
              modelRuntimeInfo: { modelRuntimeInfo: { $case: 'triton', value: { cpu: [] } } },
            },
          },
        },
      ],
    });
    assert.deepEqual(withEmptyCollections(s, ModelStatusResponse.toJSON(s)), {
      modelName: 'm',
      versions: [
        {
          version: 1,
          serverName: '',
          modelReplicaState: {},
          modelDefn: {
            meta: { name: 'm' },
            modelSpec: {
              uri: 'gs://m',
              requirements: [],
              parameters: [],
              modelRuntimeInfo: { triton: { cpu: [] } },
            },
          },
        },
      ],
      deleted: false,
    });
  });

  it('prints 64-bit fields as strings, zero too', () => {
    const s = ServerStatusResponse.fromPartial({
      serverName: 'mlserver',
      resources: [{ replicaIdx: 0, totalMemoryBytes: 1024n }],
    });
    assert.deepEqual(withEmptyCollections(s, ServerStatusResponse.toJSON(s)), {
      type: 'StatusResponseTypeUnknown',
      serverName: 'mlserver',
      resources: [
        {
          replicaIdx: 0,
          totalMemoryBytes: '1024',
          availableMemoryBytes: '0',
          numLoadedModels: 0,
          overCommitPercentage: 0,
        },
      ],
      expectedReplicas: 0,
      availableReplicas: 0,
      numLoadedModelReplicas: 0,
    });
  });
});
