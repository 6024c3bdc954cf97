/**
 * The Chainer wire mapping: what the scheduler sends dataflow engines (PipelineUpdateMessage, built
 * from a DataflowOp) and what it reads back from their acknowledgements (PipelineUpdateStatusMessage
 * to a DataflowReport). Pure functions; no transport.
 *
 * Seldon parity: scheduler/pkg/kafka/dataflow/server.go (createPipelineCreationMessage,
 * createPipelineDeletionMessage) and scheduler/pkg/kafka/topics.go (TopicNamer).
 */
import type { DataflowOp, DataflowReport } from '../actors/index.js';
import { invalidSpec } from '../domain/errors.js';
import type {
  JoinType,
  PipelineDefinition,
  PipelineInputDef,
  PipelineOutputDef,
  PipelineStepDef,
} from '../domain/pipeline.js';
import {
  PipelineStepUpdate_PipelineJoinType as JoinTy,
  PipelineUpdateMessage_PipelineOperation as Operation,
  type PipelineStepUpdate,
  type PipelineTensorMapping,
  type PipelineTopic,
  type PipelineUpdateMessage,
  type PipelineSubscriptionRequest,
  type PipelineUpdateStatusMessage,
} from '../gen/mlops/chainer/chainer.js';
import { checkInt64, int64, LIMITS } from './limits.js';

/** The first part of every topic name (Seldon's default `--kafka-topic-prefix`). */
const TOPIC_PREFIX = 'seldon';
/** The namespace of topic names when neither the caller nor the pipeline names one. */
const DEFAULT_NAMESPACE = 'default';

const SEP = '.';

/** Seldon parity: kafka/topics.go TopicNamer, for one namespace. */
class TopicNamer {
  constructor(private readonly namespace: string) {}

  private topic(...parts: string[]): string {
    return [TOPIC_PREFIX, this.namespace, ...parts].join(SEP);
  }

  pipelineInputs(pipeline: string): string {
    return this.topic('pipeline', pipeline, 'inputs');
  }

  pipelineOutputs(pipeline: string): string {
    return this.topic('pipeline', pipeline, 'outputs');
  }

  modelInputs(model: string): string {
    return this.topic('model', model, 'inputs');
  }

  errors(): string {
    return this.topic('errors', 'errors');
  }

  /**
   * A reference `<step|pipeline>.(inputs|outputs)[...]` as a topic name: a pipeline topic when its
   * first part is `pipeline`, else the topic of the model the step runs.
   */
  qualified(pipeline: string, reference: string): string {
    const owner = reference.split(SEP)[0];
    return this.topic(owner === pipeline ? 'pipeline' : 'model', reference);
  }

  /**
   * A source or trigger of `pipeline`: a reference with more than two parts names a tensor (its
   * last part) of the topic the other parts name (GetModelOrPipelineTopicAndTensor).
   */
  source(pipeline: string, reference: string): PipelineTopic {
    const parts = reference.split(SEP);
    if (parts.length <= 2) {
      return { pipelineName: pipeline, topicName: this.qualified(pipeline, reference) };
    }
    return {
      pipelineName: pipeline,
      topicName: this.qualified(pipeline, parts.slice(0, -1).join(SEP)),
      tensor: parts[parts.length - 1] ?? '',
    };
  }

  /**
   * An external input or trigger of the pipeline's `input` section, `<other>.(inputs|outputs)[.<t>]`
   * or `<other>.step.<step>.(inputs|outputs)[.<t>]`: a source of pipeline `<other>`
   * (createPipelineTopicSources).
   */
  externalSource(reference: string): PipelineTopic {
    const parts = reference.split(SEP);
    const other = parts[0] ?? '';
    const io = parts[1];
    const stepReference =
      io === undefined || io === 'inputs' || io === 'outputs'
        ? reference
        : parts.slice(2).join(SEP);
    return this.source(other, stepReference);
  }

  /**
   * The sources of a step or of the output section; the pipeline inputs topic when there are none
   * (createTopicSources).
   */
  sources(pipeline: string, references: readonly string[]): PipelineTopic[] {
    return references.length > 0
      ? references.map((ref) => this.source(pipeline, ref))
      : [{ pipelineName: pipeline, topicName: this.pipelineInputs(pipeline) }];
  }

  /** A step's or the output's tensorMap, keys fully qualified (GetFullyQualifiedTensorMap). */
  tensorMap(pipeline: string, map: Readonly<Record<string, string>>): PipelineTensorMapping[] {
    return sortedEntries(map).map(([key, tensorName]) => ({
      pipelineName: pipeline,
      topicAndTensor: this.qualified(pipeline, key),
      tensorName,
    }));
  }

  /**
   * The input section's tensorMap: keys `<p>.(inputs|outputs).<t>` or
   * `<p>.step.<s>.(inputs|outputs).<t>`; any other shape yields an empty topic, as in Seldon
   * (GetFullyQualifiedPipelineTensorMap).
   */
  externalTensorMap(map: Readonly<Record<string, string>>): PipelineTensorMapping[] {
    return sortedEntries(map).map(([key, tensorName]) => {
      const parts = key.split(SEP);
      const topicAndTensor =
        parts.length === 3
          ? this.topic('pipeline', key)
          : parts.length === 5
            ? this.topic('model', parts.slice(2).join(SEP))
            : '';
      return { pipelineName: parts[0] ?? '', topicAndTensor, tensorName };
    });
  }
}

/** Map entries by key, so the message does not depend on how the map was built. */
function sortedEntries(map: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The Chainer join enum starts at Unknown=0 (Inner=1), unlike the scheduler API's JoinOp. */
function joinToProto(join: JoinType): JoinTy {
  switch (join) {
    case 'inner':
      return JoinTy.Inner;
    case 'outer':
      return JoinTy.Outer;
    case 'any':
      return JoinTy.Any;
  }
}

/** A step update with the fields every kind of step leaves at their defaults. */
function stepUpdate(
  u: Pick<PipelineStepUpdate, 'sources' | 'sink' | 'inputJoinTy'> & Partial<PipelineStepUpdate>,
): PipelineStepUpdate {
  return {
    triggers: [],
    triggersJoinTy: JoinTy.Unknown,
    passEmptyResponses: false,
    tensorMap: [],
    ...u,
  };
}

/** Only the fields that are set: `joinWindowMs` is optional on the wire. */
const windowOf = (joinWindowMs: number | undefined): { joinWindowMs?: number } =>
  joinWindowMs === undefined ? {} : { joinWindowMs };

function stepToProto(t: TopicNamer, pipeline: string, step: PipelineStepDef): PipelineStepUpdate {
  return stepUpdate({
    sources: t.sources(pipeline, step.inputs),
    triggers: step.triggers.map((ref) => t.source(pipeline, ref)),
    sink: { pipelineName: pipeline, topicName: t.modelInputs(step.name) },
    inputJoinTy: joinToProto(step.inputsJoin),
    triggersJoinTy: joinToProto(step.triggersJoin),
    tensorMap: t.tensorMap(pipeline, step.tensorMap),
    ...windowOf(step.joinWindowMs),
    // Seldon parity: the operator drops `batch.rolling`, so it is never set.
    ...(step.batch && {
      batch: {
        ...(step.batch.size !== undefined && { size: step.batch.size }),
        ...(step.batch.windowMs !== undefined && { windowMs: step.batch.windowMs }),
        rolling: false,
      },
    }),
  });
}

function inputToProto(
  t: TopicNamer,
  pipeline: string,
  input: PipelineInputDef,
): PipelineStepUpdate {
  return stepUpdate({
    sources: input.externalInputs.map((ref) => t.externalSource(ref)),
    triggers: input.externalTriggers.map((ref) => t.externalSource(ref)),
    sink: { pipelineName: pipeline, topicName: t.pipelineInputs(pipeline) },
    inputJoinTy: joinToProto(input.joinType),
    triggersJoinTy: joinToProto(input.triggersJoin),
    tensorMap: t.externalTensorMap(input.tensorMap),
    ...windowOf(input.joinWindowMs),
  });
}

function outputToProto(
  t: TopicNamer,
  pipeline: string,
  output: PipelineOutputDef,
): PipelineStepUpdate {
  return stepUpdate({
    sources: t.sources(pipeline, output.steps),
    sink: { pipelineName: pipeline, topicName: t.pipelineOutputs(pipeline) },
    inputJoinTy: joinToProto(output.stepsJoin),
    tensorMap: t.tensorMap(pipeline, output.tensorMap),
    joinWindowMs: output.joinWindowMs,
  });
}

/** The namespace of the definition's topics: `namespace`, else the pipeline's own, else default. */
function namespaceOf(definition: PipelineDefinition, namespace: string | undefined): string {
  for (const ns of [namespace, definition.kubernetesMeta?.namespace]) {
    if (ns !== undefined && ns !== '') return ns;
  }
  return DEFAULT_NAMESPACE;
}

/**
 * The PipelineUpdateMessage that carries `op` to a dataflow engine.
 *
 * Create: one update per step (its input topics, or the pipeline inputs topic when it has none, into
 * the inputs topic of the step's model), one for the `input` section (into the pipeline inputs
 * topic) and one for the `output` section (into the pipeline outputs topic) when present, and last
 * the error step (errors topic into the pipeline outputs topic). Delete: the pipeline version only;
 * topics are never cleaned up, as a definition cannot ask for it (Seldon's `cleanTopicsOnDelete`).
 *
 * Topic names are `seldon.<namespace>.(model|pipeline).<name>.(inputs|outputs)`, with `namespace`,
 * else the definition's Kubernetes namespace, else `default`.
 */
export function toUpdateMessage(op: DataflowOp, namespace?: string): PipelineUpdateMessage {
  const { definition: def } = op;
  const message: PipelineUpdateMessage = {
    op: Operation.Unknown,
    pipeline: def.name,
    version: op.version,
    uid: op.uid,
    updates: [],
    pipelineOutputTopic: '',
    pipelineErrorTopic: '',
    allowCycles: false,
    maxStepRevisits: 0,
    timestamp: int64(op.timestamp),
    stream: '',
  };
  switch (op.op) {
    case 'delete':
      return { ...message, op: Operation.Delete };
    case 'create': {
      const t = new TopicNamer(namespaceOf(def, namespace));
      const outputs = t.pipelineOutputs(def.name);
      const updates = def.steps.map((step) => stepToProto(t, def.name, step));
      if (def.input) updates.push(inputToProto(t, def.name, def.input));
      if (def.output) updates.push(outputToProto(t, def.name, def.output));
      updates.push(
        stepUpdate({
          sources: [{ pipelineName: def.name, topicName: t.errors() }],
          sink: { pipelineName: def.name, topicName: outputs },
          inputJoinTy: JoinTy.Inner,
        }),
      );
      return {
        ...message,
        op: Operation.Create,
        updates,
        pipelineOutputTopic: outputs,
        pipelineErrorTopic: t.errors(),
      };
    }
  }
}

function opFromProto(op: Operation): DataflowReport['op'] {
  switch (op) {
    case Operation.Create:
      return 'create';
    case Operation.Delete:
      return 'delete';
    case Operation.Rebalance:
      return 'rebalance';
    case Operation.Ready:
      return 'ready';
    case Operation.Unknown:
    case Operation.UNRECOGNIZED:
    default: // ts-proto decodes a value the protocol does not define as that number
      throw invalidSpec('update.op', `must be Create, Delete, Rebalance or Ready, got ${op}`);
  }
}

/**
 * Reads an engine's PipelineUpdateEvent: the engine is `update.stream`, the timestamp is the one it
 * echoes from our message (or, for Rebalance / Ready, whatever it sends). The reason is cut to
 * 4096 characters.
 * @throws SchedulerError InvalidSpec naming `update` when it is missing, or `update.op` when it is
 * Unknown or a value the protocol does not define.
 */
export function fromStatusMessage(msg: PipelineUpdateStatusMessage): DataflowReport {
  const u = msg.update;
  if (!u) throw invalidSpec('update', 'is required');
  return {
    engine: u.stream,
    op: opFromProto(u.op),
    pipeline: u.pipeline,
    version: u.version,
    uid: u.uid,
    timestamp: checkInt64('update.timestamp', u.timestamp, 0, Number.MAX_SAFE_INTEGER),
    success: msg.success,
    reason: msg.reason.slice(0, LIMITS.stringLength),
  };
}

/**
 * The name a dataflow engine subscribes with (SubscribePipelineUpdates).
 * @throws SchedulerError InvalidSpec when it is empty.
 */
export function engineNameFromProto(req: PipelineSubscriptionRequest): string {
  if (req.name === '') throw invalidSpec('name', 'the dataflow engine name must not be empty');
  return req.name;
}
