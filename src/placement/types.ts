/** What placement sees of one server replica. */
export interface PlacementReplica {
  readonly idx: number;
  readonly capabilities: readonly string[];
  /** Free memory the agent last reported (over-commit headroom included). */
  readonly availableMemory: number;
  /** Memory promised to replicas that are asked to load but have not reported it yet. */
  readonly reservedMemory: number;
  readonly draining: boolean;
}

/** What placement sees of one server. */
export interface PlacementServer {
  readonly name: string;
  readonly shared: boolean;
  /** −1 when never declared by ServerNotify; 0 when the server is being deleted. */
  readonly expectedReplicas: number;
  readonly replicas: readonly PlacementReplica[];
}

/** The model version to place. */
export interface PlacementRequest {
  readonly requirements: readonly string[];
  /** Bytes one replica needs. */
  readonly requiredMemory: number;
  /** `modelSpec.server`: when set, only that server is eligible (shared or not). */
  readonly server?: string | undefined;
  readonly explainer: boolean;
  readonly replicas: number;
  readonly minReplicas: number;
  /** The server this version is already placed on, '' if none. */
  readonly currentServer: string;
  /** This version's replicas on `currentServer`, by replica index. */
  readonly current: Readonly<Record<number, CurrentReplica>>;
}

/** What placement needs to know of a replica the version already has on its server. */
export interface CurrentReplica {
  /** Asked to load, loading or loaded: placement keeps it, first among equals. */
  readonly placed: boolean;
  /** Its agent was told to load it: it occupies its memory, so it stays even when full. */
  readonly loadSent: boolean;
}

export const NO_MATCHING_SERVERS = 'Failed to schedule model as no matching servers are available';
export const NOT_ENOUGH_REPLICAS =
  'Failed to schedule model as no matching server had enough suitable replicas';

export type PlacementResult =
  | {
      readonly ok: true;
      readonly server: string;
      /** The chosen replicas, in preference order. */
      readonly replicaIdxs: readonly number[];
      /** True when fewer than `replicas` (but at least `minReplicas`) fit. */
      readonly partial: boolean;
    }
  | {
      readonly ok: false;
      readonly reason: typeof NO_MATCHING_SERVERS | typeof NOT_ENOUGH_REPLICAS;
    };
