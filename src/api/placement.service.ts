import type { SchedulerSystem } from '../actors/index.js';
import { SchedulerError } from '../domain/errors.js';
import type { PlacementServer } from '../gen/mlsched/placement/v1/placement.js';
import type { ErrorLogger } from '../wire/errors.js';
import { unary } from '../wire/grpc.js';
import {
  explainModelFromProto,
  modelExplanationToProto,
  planRequestFromProto,
  planToProto,
} from '../wire/placement.js';

const P = '/mlsched.placement.v1.Placement/';

/**
 * mlsched's Placement service: explanations of placement and plans, read from the system facade
 * (nothing here changes the scheduler's state).
 */
export function createPlacementService(deps: {
  system: SchedulerSystem;
  log: ErrorLogger;
}): PlacementServer {
  const { system, log } = deps;
  return {
    explainModel: unary(`${P}ExplainModel`, log, (req) => {
      const name = explainModelFromProto(req);
      const e = system.explainModel(name);
      if (!e) throw new SchedulerError('NotFound', `model ${name} not found`, { model: name });
      return modelExplanationToProto(e);
    }),
    plan: unary(`${P}Plan`, log, (req) => {
      const { declarations, definitions } = planRequestFromProto(req);
      return planToProto(system.plan(declarations, definitions));
    }),
  };
}
